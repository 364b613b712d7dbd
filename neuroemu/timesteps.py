"""Rounding of times to whole timesteps, shared by the engine and the accounting.

Both must agree exactly on when a delayed spike arrives, or the counts would not match what the
simulator executed; so the rule lives in one place.
"""

from __future__ import annotations

import math

import numpy as np

from neuroemu.errors import NeuroEmuError


def delay_steps(delay_ms: np.ndarray | float, dt_ms: float) -> np.ndarray:
    """Delays in whole timesteps, rounded half up (chips have integer delay slots).

    Per-synapse arrays are rounded in place in one float array (the full microcircuit's 3e8
    delays took 5.7 s through four temporaries); the values are the same."""
    if np.ndim(delay_ms) == 0:
        return np.floor(np.asarray(delay_ms, dtype=float) / dt_ms + 0.5).astype(np.int64)
    # divided in float64 straight from the stored dtype (float32 delays widen exactly): no
    # float64 copy of the delays first (0.8 s of counting the full microcircuit)
    steps = np.divide(delay_ms, dt_ms, dtype=np.float64)
    steps += 0.5
    np.floor(steps, out=steps)
    return steps.astype(np.int64)


def whole_steps(value_ms: float, dt_ms: float, what: str) -> int:
    """``value_ms`` as a whole number of ``dt_ms`` steps, or an error naming the nearest ones.

    Durations and windows that are not whole steps were once rounded silently (0.3 ms ran 1 ms;
    1.5 ms windows were 2 ms while the trace said 1.5): now the user picks.
    """
    if not math.isfinite(value_ms) or value_ms <= 0:
        raise NeuroEmuError(f"{what} must be a positive, finite number of ms, got {value_ms!r}")
    steps = value_ms / dt_ms
    exact = round(steps)
    if exact >= 1 and abs(exact - steps) <= 1e-4:
        return int(exact)
    below, above = math.floor(steps) * dt_ms, math.ceil(steps) * dt_ms
    nearest = f"{above:g} ms" if below <= 0 else f"{below:g} ms or {above:g} ms"
    raise NeuroEmuError(
        f"{what} = {value_ms:g} ms is not a whole number of {dt_ms:g} ms steps: expected {nearest}"
    )
