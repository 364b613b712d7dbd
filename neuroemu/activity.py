"""What a simulation produced: spikes (and optional state samples) as plain numpy arrays.

:class:`Activity` is the boundary between the engine (the only module that knows Brian2) and
everything downstream (accounting, GPU model, traces, plots): no Brian2 object or unit crosses it.
Spike times are integer step numbers, exact and cheap to store; ``step * dt_ms`` gives ms.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Spikes:
    """Spikes of one group: ``neuron[k]`` (local index) fired at step ``step[k]``, by step."""

    neuron: np.ndarray
    step: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "neuron", np.asarray(self.neuron, dtype=np.int32))
        object.__setattr__(self, "step", np.asarray(self.step, dtype=np.int32))

    def __len__(self) -> int:
        return len(self.neuron)

    def counts(self, size: int) -> np.ndarray:
        """Spikes per neuron, as an int64 array of length ``size``."""
        return np.bincount(self.neuron, minlength=size).astype(np.int64)


def in_step_order(neuron: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spikes sorted by step, stably (Brian2 records them in that order: then no sort is done)."""
    if len(step) and np.any(step[1:] < step[:-1]):
        order = np.argsort(step, kind="stable")
        return neuron[order], step[order]
    return neuron, step


@dataclass(frozen=True, eq=False)
class ChangedCells:
    """The cells ``(neuron, step)`` of a group whose state changed, held as the engine recorded
    them: an ``(n_steps, size)`` bool array, one flag per step and neuron.

    The accounting sums the flags as they are. The pairs, in :class:`Spikes`' layout (by step,
    neurons ascending), are listed only when something reads ``neuron`` or ``step`` (traces,
    windows of a run) and then kept: listing them, and building the flags again from them,
    took a quarter of a whole run of the convolutional case of ``benchmarks/vs_sanafe.py``
    (15 million pairs, 120 MB).
    """

    flags: np.ndarray

    @functools.cached_property
    def pairs(self) -> Spikes:
        """The cells as :class:`Spikes` (listed once, on first use)."""
        return flagged_cells(self.flags)

    @property
    def neuron(self) -> np.ndarray:
        return self.pairs.neuron

    @property
    def step(self) -> np.ndarray:
        return self.pairs.step

    def __len__(self) -> int:
        return int(np.count_nonzero(self.flags))

    def counts(self, size: int) -> np.ndarray:
        """Changed steps per neuron, as an int64 array of at least ``size`` (as
        :meth:`Spikes.counts`)."""
        per_neuron = np.count_nonzero(self.flags, axis=0).astype(np.int64)
        return np.pad(per_neuron, (0, max(0, size - len(per_neuron))))


def flagged_cells(flags: np.ndarray) -> Spikes:
    """The ``(neuron, step)`` pairs of a ``(n_steps, n_neurons)`` bool record, in step order
    (neurons ascending within a step). Steps repeat each step's count; neurons are the flat
    indices of a block of steps less each step's first cell (``np.nonzero`` of the whole
    record took three times as long and held two int64 indices per pair)."""
    n_steps, size = flags.shape
    per_step = np.count_nonzero(flags, axis=1)
    steps = np.repeat(np.arange(n_steps, dtype=np.int32), per_step)
    neurons = np.empty(len(steps), dtype=np.int32)
    block = max(1, _FLAG_BLOCK_CELLS // max(size, 1))
    done = 0
    for first in range(0, n_steps, block):
        cells = np.flatnonzero(flags[first : first + block])
        rows = np.arange(min(block, n_steps - first), dtype=np.int64) * size
        neurons[done : done + len(cells)] = cells - np.repeat(rows, per_step[first : first + block])
        done += len(cells)
    return Spikes(neurons, steps)


_FLAG_BLOCK_CELLS = 2**20  # cells per block of flagged_cells (8 MB of int64 indices at most)


@dataclass(frozen=True, eq=False)
class QuantisationReport:
    """How a projection's weights were rounded to the chip's precision."""

    projection: str
    weight_bits: int
    signed: bool
    scale: float
    max_abs_error: float
    rms_relative_error: float
    n_zeroed: int


@dataclass(frozen=True, eq=False)
class Activity:
    """The outcome of one simulation.

    Attributes
    ----------
    dt_ms : float
        Timestep.
    n_steps : int
        Number of steps simulated (duration = n_steps * dt_ms).
    spikes : dict
        Population or input name -> :class:`Spikes`.
    state : dict
        Population name -> variable name (with unit suffix, ``v_mV``) -> array of shape
        ``(n_samples, n_recorded_neurons)``; empty unless state recording was asked for.
    state_neurons : dict
        Population name -> local indices of the recorded neurons.
    state_every_steps : int
        Sampling interval of the state recording, in steps.
    final_weights : dict
        Plastic projection name -> weights at the end of the run (in the projection's units).
    quantisation : dict
        Projection name -> :class:`QuantisationReport` (empty when weights were not quantised).
    seed : int
        The seed of the run.
    device : str
        Brian2 device/target that ran it (``runtime-cython``, ``runtime-numpy``,
        ``cpp_standalone``).
    wall_time_s : float
        Wall time of the simulation (building and running), for reports.
    synapse_counters : dict
        Only when the engine was asked to count inside Brian2 (tests): projection name ->
        ``i``, ``j``, ``n_delivered`` (pre events delivered per synapse) and ``n_post_events``.
    changed : dict
        Only when the engine was asked to record it (a chip that charges a neuron's update only
        when its state changed, as SANA-FE's models do): population name -> the (neuron, step)
        cells whose state changed in that step (:class:`ChangedCells` as the engine records
        them, or :class:`Spikes` of the pairs, as a trace stores them): the membrane
        potential away from rest at the step's start, an input received since the last step, or
        the neuron's own dynamics moving it (a bias, a leak). A neuron's spikes count as changes
        too; the accounting adds them, so they need not be here.
    """

    dt_ms: float
    n_steps: int
    spikes: dict[str, Spikes]
    seed: int
    device: str
    state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    state_neurons: dict[str, np.ndarray] = field(default_factory=dict)
    state_every_steps: int = 1
    final_weights: dict[str, np.ndarray] = field(default_factory=dict)
    quantisation: dict[str, QuantisationReport] = field(default_factory=dict)
    wall_time_s: float = 0.0
    synapse_counters: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    changed: dict[str, ChangedCells | Spikes] = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        return self.n_steps * self.dt_ms

    @property
    def n_spikes(self) -> int:
        return sum(len(s) for s in self.spikes.values())

    def __repr__(self) -> str:
        # the generated repr would print every spike array
        return (
            f"<Activity: {self.duration_ms:g} ms at dt {self.dt_ms:g} ms, {self.n_spikes:,} "
            f"spikes in {len(self.spikes)} groups, seed {self.seed}, {self.device}>"
        )

    def _repr_html_(self) -> str:
        """A short HTML table for notebooks (Jupyter shows it in place of the repr)."""
        from neuroemu.notebook import activity_html

        return activity_html(self)
