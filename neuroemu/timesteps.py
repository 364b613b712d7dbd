"""Rounding of times to whole timesteps, shared by the engine and the accounting.

Both must agree exactly on when a delayed spike arrives, or the counts would not match what the
simulator executed; so the rule lives in one place.
"""

from __future__ import annotations

import numpy as np


def delay_steps(delay_ms: np.ndarray | float, dt_ms: float) -> np.ndarray:
    """Delays in whole timesteps, rounded half up (chips have integer delay slots)."""
    return np.floor(np.asarray(delay_ms, dtype=float) / dt_ms + 0.5).astype(np.int64)


def n_steps_for(duration_ms: float, dt_ms: float) -> int:
    """Steps Brian2 runs for ``duration_ms``: exact when representable, else rounded up."""
    exact = round(duration_ms / dt_ms)
    if abs(exact * dt_ms - duration_ms) <= 1e-4 * dt_ms:
        return int(exact)
    return int(np.ceil(duration_ms / dt_ms))
