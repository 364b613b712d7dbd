"""Per-inference results: a run cut into inferences, each counted, timed and priced.

A network run as a stream of inferences (:class:`~neuroemu.network.inference.InferenceSchedule`)
is reported per inference as well as in total: inference ``k`` is the steps
``[k * steps, (k + 1) * steps)`` of the run (a last, shorter window when the run does not end
on a boundary: it is kept, so that the inferences sum to the run, and marked partial). A
population reset with an offset spends the first ``offset`` steps of its inference in the
previous window; the windows are the chip's, not the layer's, which is what a stream of
inferences on a pipelined chip costs.

Counts come from :func:`~neuroemu.accounting.counting.count_events` with one window per
inference (exact, so the inferences' counts sum to the run's, a delayed delivery counting in
the window it arrives in, as in the totals); the finer counts some chips price (neurons that
changed, packets in, hops by direction) all happen at emission, so they are counted on the
run's activity cut to each window. Time comes from the per-step work of the steps of the window,
and energy from :func:`~neuroemu.accounting.pricing.estimate_energy` on each window's counts, at
the run's operating point and scope.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuroemu.accounting.counting import EventCounts, count_events
from neuroemu.accounting.pricing import estimate_energy
from neuroemu.activity import Activity, ChangedCells, Spikes
from neuroemu.errors import NeuroEmuError
from neuroemu.events import EVENT_KINDS
from neuroemu.mapping.mapping import Mapping
from neuroemu.network.network import Network
from neuroemu.operating_point import OperatingPoint
from neuroemu.spec.chip import ChipSpec


@dataclass(frozen=True, eq=False)
class InferenceResults:
    """Events, time and energy of each inference of a run.

    Attributes
    ----------
    steps : int
        Timesteps per inference.
    dt_ms : float
        The timestep.
    counts : dict
        Event kind -> int64 array, one total (over all cores) per inference; they sum to the
        run's totals exactly.
    dynamic_pj, static_pj : ndarray
        Energy per inference in pJ (NaN where a part is unpriced).
    time_s : ndarray
        Time on chip per inference.
    scope : str
        What the energy covers (``chip``, ``board``, ``wall``), as the run's report.
    partial_last : bool
        The run ended inside the last inference, which is then shorter than ``steps``; the
        statistics leave it out.
    reset : tuple of str or None
        Populations reset at each boundary (None: all), from the schedule, for the report.
    offsets : dict
        Reset offsets in steps, from the schedule.
    """

    steps: int
    dt_ms: float
    counts: dict[str, np.ndarray]
    dynamic_pj: np.ndarray
    static_pj: np.ndarray
    time_s: np.ndarray
    scope: str = "chip"
    partial_last: bool = False
    reset: tuple[str, ...] | None = None
    offsets: dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        mean = self.stats(self.energy_pj)["mean"]
        energy = "unpriced" if mean is None else f"{mean * 1e-12:.4g} J"
        return (
            f"<InferenceResults {self.n_inferences} x {self.steps} steps "
            f"({self.inference_ms:g} ms): {energy} per inference>"
        )

    @property
    def n_inferences(self) -> int:
        """Inferences in the run, a partial last one included."""
        return len(self.time_s)

    @property
    def n_complete(self) -> int:
        return self.n_inferences - int(self.partial_last)

    @property
    def inference_ms(self) -> float:
        return self.steps * self.dt_ms

    @property
    def energy_pj(self) -> np.ndarray:
        """Total energy per inference (dynamic plus static), NaN where unpriced."""
        return self.dynamic_pj + self.static_pj

    def stats(self, values: np.ndarray) -> dict[str, float | None]:
        """Mean, spread (standard deviation, min, max), the first inference and the mean of
        the rest (the steady state) of per-inference ``values``, over complete inferences;
        None where there is nothing to take them over or a value is NaN (unpriced)."""
        done = np.asarray(values, dtype=float)[: self.n_complete]
        out: dict[str, float | None] = dict.fromkeys(
            ("mean", "std", "min", "max", "first", "steady_mean"), None
        )
        if not len(done) or np.isnan(done).any():
            return out
        out.update(
            mean=float(done.mean()),
            std=float(done.std()),
            min=float(done.min()),
            max=float(done.max()),
            first=float(done[0]),
            steady_mean=float(done[1:].mean()) if len(done) > 1 else None,
        )
        return out

    def summary(self) -> dict[str, Any]:
        """Plain data (``--json``'s ``inferences``): the schedule, per-inference lists and
        their statistics (energy in J, time in s, events per kind that occurred)."""
        energy_j = self.energy_pj * 1e-12
        kinds = [kind for kind in EVENT_KINDS if self.counts[kind].any()]
        return {
            "steps_per_inference": self.steps,
            "inference_ms": self.inference_ms,
            "n_inferences": self.n_inferences,
            "partial_last": self.partial_last,
            "reset": None if self.reset is None else list(self.reset),
            "offsets": dict(self.offsets),
            "scope": self.scope,
            "stats": {
                "energy_j": self.stats(energy_j),
                "time_s": self.stats(self.time_s),
                "counts": {kind: self.stats(self.counts[kind]) for kind in kinds},
            },
            "per_inference": {
                "energy_j": [None if np.isnan(e) else float(e) for e in energy_j],
                "time_s": [float(t) for t in self.time_s],
                "counts": {kind: [int(c) for c in self.counts[kind]] for kind in kinds},
            },
        }


def count_inferences(
    network: Network,
    activity: Activity,
    mapping: Mapping,
    chip: ChipSpec,
    counts: EventCounts,
    steps: int | None = None,
    operating_point: OperatingPoint | None = None,
    scope: str = "chip",
    n_boards: int | None = None,
) -> InferenceResults:
    """Count, time and price each inference of a run.

    Parameters
    ----------
    network : Network
        The network as the chip sees it (:meth:`~neuroemu.network.network.Network.chip_view`),
        as counted.
    activity : Activity
        The run's activity.
    mapping : Mapping
        Where each neuron sits.
    chip : ChipSpec
        The chip the counts were made for (prices and times the inferences).
    counts : EventCounts
        The run's counts: their per-step work gives each inference's time, and their windows
        are reused when they are one inference long.
    steps : int or None
        Steps per inference (default: the network's schedule).
    operating_point, scope, n_boards
        As for :func:`~neuroemu.accounting.pricing.estimate_energy`.

    Returns
    -------
    InferenceResults
    """
    schedule = network.inference
    if steps is None:
        if schedule is None:
            raise NeuroEmuError(
                f"network {network.name!r} has no inference schedule: give steps per inference"
            )
        steps = schedule.steps
    n_steps, dt_ms = activity.n_steps, activity.dt_ms
    inference_ms = steps * dt_ms
    windowed = counts
    if not counts.windows or counts.window_ms is None or round(counts.window_ms / dt_ms) != steps:
        windowed = count_events(network, activity, mapping, window_ms=inference_ms)
    starts = range(0, n_steps, steps)
    detail = chip.detail_kinds()
    per_kind: dict[str, list[int]] = {kind: [] for kind in EVENT_KINDS}
    dynamic, static, times = [], [], []
    for k, start in enumerate(starts):
        stop = min(start + steps, n_steps)
        per_core = {kind: windowed.windows[kind][k] for kind in EVENT_KINDS}
        details = {}
        if detail:
            window_counts = count_events(network, cut(activity, start, stop), mapping)
            details = window_counts.detail_per_core
        window = dataclasses.replace(
            counts,
            per_core=per_core,
            step_work_ns=counts.step_work_ns[start:stop],
            step_work_bounds_ns={b: w[start:stop] for b, w in counts.step_work_bounds_ns.items()},
            n_steps=stop - start,
            inference_ms=inference_ms,
            window_ms=None,
            windows={},
            per_step={},
            detail_per_core=details,
        )
        report = estimate_energy(window, chip, operating_point, scope, n_boards)
        for kind in EVENT_KINDS:
            per_kind[kind].append(int(per_core[kind].sum()))
        dyn = report.dynamic_total_pj
        dynamic.append(np.nan if dyn is None else dyn)
        static.append(np.nan if report.static_pj is None else report.static_pj)
        times.append(report.time_s)
    return InferenceResults(
        steps=steps,
        dt_ms=dt_ms,
        counts={kind: np.asarray(v, dtype=np.int64) for kind, v in per_kind.items()},
        dynamic_pj=np.asarray(dynamic, dtype=float),
        static_pj=np.asarray(static, dtype=float),
        time_s=np.asarray(times, dtype=float),
        scope=scope,
        partial_last=bool(n_steps % steps),
        reset=() if schedule is None else schedule.reset,
        offsets={} if schedule is None else dict(schedule.offsets),
    )


def cut(activity: Activity, start: int, stop: int) -> Activity:
    """The spikes (and recorded changes) of steps ``[start, stop)``, renumbered from 0."""

    def window(spikes: Spikes) -> Spikes:
        keep = (spikes.step >= start) & (spikes.step < stop)
        return Spikes(spikes.neuron[keep], spikes.step[keep] - start)

    def changed_window(cells: ChangedCells | Spikes) -> ChangedCells | Spikes:
        if isinstance(cells, ChangedCells):
            return ChangedCells(cells.flags[start:stop])
        return window(cells)

    return dataclasses.replace(
        activity,
        n_steps=stop - start,
        spikes={name: window(s) for name, s in activity.spikes.items()},
        changed={name: changed_window(s) for name, s in activity.changed.items()},
        state={},
        state_neurons={},
        final_weights={},
        synapse_counters={},
    )
