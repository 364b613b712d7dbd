"""Operating points: how fast a chip is run, which every published energy figure depends on.

A chip can be run as fast as its busiest core allows (``fast``), throttled to the biological
clock (``real-time``), slowed down by a factor (``slowdown=20``: each step lasts 20 timesteps of
wall time, as SpiNNaker runs 0.1 ms steps on a 2 ms tick), or fed inferences at a rate limited by
its input (``rate=300`` per second). Time on chip is the larger of the work-bound time and the
operating point's; a step (or inference) whose work takes longer is an *overrun*, reported with
its size, never hidden.

This module owns the vocabulary and the arithmetic on per-step work; the chip's work per step
comes from :mod:`neuroemu.accounting`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from neuroemu.errors import NeuroEmuError

Mode = Literal["fast", "real-time", "slowdown", "rate"]
MODES: tuple[Mode, ...] = ("fast", "real-time", "slowdown", "rate")
SYNTAX = "real-time, fast, slowdown=K (K > 0) or rate=R (inferences per second)"


@dataclass(frozen=True)
class OperatingPoint:
    """How fast the chip is run.

    Attributes
    ----------
    mode : str
        ``fast``, ``real-time``, ``slowdown`` or ``rate``.
    slowdown : float or None
        Wall time per biological time (``slowdown`` only; 1 is real time).
    rate_per_s : float or None
        Inferences per second the input delivers (``rate`` only).
    """

    mode: Mode
    slowdown: float | None = None
    rate_per_s: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise NeuroEmuError(f"operating point {self.mode!r}: expected {SYNTAX}")
        if self.mode == "slowdown" and not _finite_at_least(self.slowdown, 0.0, strict=True):
            raise NeuroEmuError(
                f"operating point slowdown={self.slowdown}: expected a finite factor > 0 (1 is "
                f"real time, 20 is 20 times slower)"
            )
        if self.mode == "rate" and not _finite_at_least(self.rate_per_s, 0.0, strict=True):
            raise NeuroEmuError(
                f"operating point rate={self.rate_per_s}: expected a finite rate > 0 per second"
            )

    @classmethod
    def parse(cls, text: str) -> OperatingPoint:
        """``'real-time'``, ``'fast'``, ``'slowdown=20'`` or ``'rate=300'``."""
        name, _, value = text.strip().partition("=")
        name = name.strip().lower()
        if name in ("fast", "as-fast-as-possible") and not value:
            return cls("fast")
        if name in ("real-time", "realtime") and not value:
            return cls("real-time")
        if name in ("slowdown", "rate") and value:
            try:
                number = float(value)
            except ValueError:
                raise NeuroEmuError(
                    f"operating point {text!r}: {value!r} is not a number; expected {SYNTAX}"
                ) from None
            if name == "slowdown":
                return cls("slowdown", slowdown=number)
            return cls("rate", rate_per_s=number)
        raise NeuroEmuError(f"operating point {text!r}: expected {SYNTAX}")

    @property
    def label(self) -> str:
        """The operating point as the command line writes it."""
        if self.mode == "slowdown":
            return f"slowdown={self.slowdown:g}"
        if self.mode == "rate":
            return f"rate={self.rate_per_s:g}"
        return self.mode

    def step_floor_s(self, dt_ms: float) -> float:
        """The shortest wall time one timestep may take (0 when the chip runs free)."""
        if self.mode == "real-time":
            return dt_ms * 1e-3
        if self.mode == "slowdown":
            assert self.slowdown is not None  # checked in __post_init__
            return self.slowdown * dt_ms * 1e-3
        return 0.0


@dataclass(frozen=True)
class Timing:
    """Time on chip under an operating point, and how much the work overran it.

    ``overruns`` counts the steps (or inferences, at a ``rate``) whose work took longer than the
    operating point allows; ``overrun_s`` is the time they took beyond it, summed.
    """

    time_s: float
    work_s: float
    overruns: int
    overrun_s: float
    units: str

    def note(self, point: OperatingPoint) -> str | None:
        """A sentence about overruns, or None when the work always fitted."""
        if not self.overruns:
            return None
        return (
            f"{self.overruns} {self.units} overran the {point.label} operating point by "
            f"{self.overrun_s:.3g} s in all (work {self.work_s:.3g} s; time on chip is the larger)"
        )


def time_under(
    point: OperatingPoint,
    step_work_s: np.ndarray,
    dt_ms: float,
    inference_steps: int | None = None,
) -> Timing:
    """Time on chip for per-step work ``step_work_s`` (seconds) under ``point``.

    Parameters
    ----------
    point : OperatingPoint
        How the chip is run.
    step_work_s : ndarray
        Per timestep, the wall time the chip's work takes (busiest core plus synchronisation).
    dt_ms : float
        The timestep (biological time per step).
    inference_steps : int or None
        Steps per inference; needed at a ``rate`` operating point.

    Raises
    ------
    NeuroEmuError
        At a ``rate`` operating point without ``inference_steps``.
    """
    work = np.asarray(step_work_s, dtype=float)
    total_work = float(work.sum())
    if point.mode == "rate":
        if not inference_steps:
            raise NeuroEmuError(
                f"operating point {point.label} needs the steps of one inference: the network "
                f"gives no inference_ms"
            )
        assert point.rate_per_s is not None  # checked in __post_init__
        n_inferences = math.ceil(len(work) / inference_steps)
        padded = np.zeros(n_inferences * inference_steps)
        padded[: len(work)] = work
        per_inference = padded.reshape(n_inferences, inference_steps).sum(axis=1)
        return _floored(per_inference, 1.0 / point.rate_per_s, total_work, "inferences")
    return _floored(work, point.step_floor_s(dt_ms), total_work, "steps")


def _floored(work: np.ndarray, floor_s: float, total_work: float, units: str) -> Timing:
    over = work - floor_s
    late = over > 0
    return Timing(
        time_s=float(np.maximum(work, floor_s).sum()),
        work_s=total_work,
        overruns=int(np.count_nonzero(late)) if floor_s > 0 else 0,
        overrun_s=float(over[late].sum()) if floor_s > 0 else 0.0,
        units=units,
    )


def _finite_at_least(value: float | None, low: float, strict: bool = False) -> bool:
    if value is None or not math.isfinite(value):
        return False
    return value > low if strict else value >= low
