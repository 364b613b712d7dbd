"""Published figures, and what neuroemu estimates for them at their own operating point and scope.

Each :class:`Case` names a published figure (with its source), the chip descriptor, the workload
it was measured on, the operating point and the scope, and a band of ratios (estimate /
published) that counts as agreement. :func:`run_cases` prices every case and returns rows; a miss
is reported with its ratio and cause, never tuned away: a descriptor value changes only with a
source for the new value.

Two kinds of case:

- **descriptor** cases compare a per-event figure of a descriptor with the publication it was
  transcribed from (Loihi's Table 2, SNABSuite's SpiNNaker set): equal by construction, so they
  catch transcription errors;
- **workload** cases price the published workload through the same accounting a run uses
  (:func:`~neuroemu.accounting.pricing.estimate_energy`), from its published statistics (neurons,
  timestep, synaptic events and spikes per second, cores used) spread evenly over the cores, so
  the quick set needs no simulation. The full-scale microcircuit simulated in Brian2 is
  ``benchmarks/validate_full.py``;
- **GPU timing** cases (``timing``: an id of ``neuroemu/data/gpu_timings.yaml``) rebuild a
  published GeNN / Brian2GeNN / NEST GPU run as a network with synthetic spikes at the published
  rate and price its simulation-loop time with the event-driven GPU model on the bundled
  descriptor as it is (:mod:`neuroemu.gpu.published_timings`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from neuroemu.accounting import EventCounts, estimate_energy
from neuroemu.errors import NeuroEmuError
from neuroemu.events import EVENT_KINDS
from neuroemu.gpu.model import step_activity
from neuroemu.gpu.published_timings import (
    PublishedTiming,
    load_published_timings,
    price_run,
    rebuild_key,
    rebuild_timing,
)
from neuroemu.operating_point import OperatingPoint
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec, load_chip
from neuroemu.spec.gpu import load_gpu

# Unit of a published figure -> its size in the unit of the estimate it is compared with.
UNITS = {"pJ": 1.0, "nJ": 1e3, "uJ": 1e6, "mW": 1.0, "W": 1e3, "s": 1.0}


@dataclass(frozen=True)
class Workload:
    """A workload as a publication states it: enough to count its events on a chip.

    Attributes
    ----------
    n_neurons : int
        Neurons simulated (every one is updated every step).
    dt_ms, duration_ms : float
        Timestep and biological time.
    synaptic_events_per_s, spikes_per_s : float
        Per second of biological time.
    hops_per_spike : float
        Mesh hops one spike travels (0 where the chip does not route on a mesh).
    messages_per_spike : float
        Packets one spike sends (1 for a multicast router).
    neurons_per_core : int or None
        Neurons placed on one core as the publication did (default: the chip's limit).
    spread_over_boards : bool
        The publication spread the network evenly over every core of the boards it switched
        on (the case's ``n_boards``), as sPyNNaker users do to keep each core within the
        real-time tick.
    inference_ms : float or None
        Biological time of one inference, for a ``rate`` operating point.
    """

    n_neurons: int
    dt_ms: float
    duration_ms: float
    synaptic_events_per_s: float
    spikes_per_s: float
    hops_per_spike: float = 0.0
    messages_per_spike: float = 1.0
    neurons_per_core: int | None = None
    inference_ms: float | None = None
    spread_over_boards: bool = False


@dataclass(frozen=True)
class Case:
    """One published figure and how to reproduce it.

    ``chip`` names the descriptor: a chip, or a GPU for a ``timing`` case (the id of a published
    GPU timing; its figure is the simulation-loop time in ``s``).
    """

    id: str
    chip: str
    what: str
    published: float
    unit: str
    scope: str
    source: str
    band: tuple[float, float]
    figure: str = "energy_per_synaptic_event_pj"
    workload: Workload | None = None
    operating_point: str | None = None
    n_boards: int | None = None
    descriptor_value: Callable[[ChipSpec], tuple[float, float, float]] | None = None
    note: str = ""
    timing: str | None = None

    @property
    def device_kind(self) -> str:
        """``gpu`` for a published GPU timing, else ``chip``."""
        return "gpu" if self.timing is not None else "chip"


@dataclass(frozen=True)
class Row:
    """A case's outcome: estimate with its range, ratio to the published figure, pass or miss."""

    case: Case
    estimate: float | None
    low: float | None
    high: float | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def _repr_html_(self) -> str:
        """A short HTML table for notebooks (Jupyter shows it in place of the repr)."""
        from neuroemu.notebook import validation_html

        return validation_html([self])

    @property
    def ratio(self) -> float | None:
        if self.estimate is None:
            return None
        return self.estimate / (self.case.published * UNITS[self.case.unit])

    @property
    def verdict(self) -> str:
        ratio = self.ratio
        if ratio is None:
            return "unpriced"
        low, high = self.case.band
        return "pass" if low <= ratio <= high else "miss"


def synthetic_counts(
    chip: ChipSpec, workload: Workload, n_boards: int | None = None
) -> EventCounts:
    """Event counts of ``workload`` on ``chip``, its events spread evenly over the cores used.

    Even spreading makes the busiest core the average one, so the work-bound time is a lower
    bound on a real placement's.
    """
    per_core_limit = chip.core.neurons.require()
    wanted = workload.neurons_per_core or per_core_limit
    if workload.spread_over_boards and n_boards:
        cores = n_boards * chip.topology.chips_per_board.require() * chip.cores_per_chip
        wanted = math.ceil(workload.n_neurons / cores)
    neurons_per_core = min(wanted, per_core_limit)
    n_used = math.ceil(workload.n_neurons / neurons_per_core)
    n_chips = math.ceil(n_used / chip.cores_per_chip)
    n_cores = n_chips * chip.cores_per_chip
    n_steps = round(workload.duration_ms / workload.dt_ms)
    seconds = workload.duration_ms * 1e-3
    spikes = workload.spikes_per_s * seconds
    totals = {
        "neuron_update": workload.n_neurons * n_steps,
        "synaptic_event": workload.synaptic_events_per_s * seconds,
        "spike_out": spikes,
        "message": spikes * workload.messages_per_spike,
        "hop": spikes * workload.hops_per_spike,
        "chip_crossing": 0.0,
        "learning_update": 0.0,
        "input_event": 0.0,
    }
    per_core = {}
    for kind in EVENT_KINDS:
        spread = np.zeros(n_cores, dtype=np.int64)
        spread[:n_used] = _even(round(totals[kind]), n_used)
        per_core[kind] = spread
    step_work = {
        bound: np.full(
            n_steps,
            sum(chip.time_ns(kind, bound) * totals[kind] / n_used / n_steps for kind in totals),
        )
        for bound in ("value", "low", "high")
    }
    return EventCounts(
        per_core=per_core,
        step_work_ns=step_work.pop("value"),
        step_work_bounds_ns=step_work,
        n_steps=n_steps,
        dt_ms=workload.dt_ms,
        n_chips=n_chips,
        n_cores_used=n_used,
        chip_name=chip.name,
        inference_ms=workload.inference_ms,
    )


def _even(total: int, parts: int) -> np.ndarray:
    """``total`` split over ``parts`` as evenly as integers allow (sums to ``total``)."""
    base, extra = divmod(total, parts)
    out = np.full(parts, base, dtype=np.int64)
    out[:extra] += 1
    return out


def price_case(case: Case) -> Row:
    """Estimate one case with its range."""
    if case.timing is not None:
        return _price_gpu_cases([case])[0]
    chip = load_chip(case.chip)
    if case.descriptor_value is not None:
        read = case.descriptor_value(chip)
        return Row(case, read[0], read[1], read[2])
    assert case.workload is not None  # a case is either a descriptor or a workload case
    counts = synthetic_counts(chip, case.workload, case.n_boards)
    point = None if case.operating_point is None else OperatingPoint.parse(case.operating_point)
    report = estimate_energy(counts, chip, point, case.scope, case.n_boards)
    value, low, high = report.bounds(case.figure)
    return Row(case, value, low, high, _notes(report))


def _notes(report: EnergyReport) -> tuple[str, ...]:
    notes = list(report.notes)
    if report.unpriced:
        notes.insert(0, f"not priced: {', '.join(report.unpriced)}")
    return tuple(notes)


def _price_gpu_cases(cases: list[Case]) -> list[Row]:
    """Rows of GPU timing cases, in order. Cases that rebuild the same run (one study on several
    GPUs) share it and its step counts; one run is held at a time."""
    if not cases:
        return []
    timings = {timing.id: timing for timing in load_published_timings()[0]}
    for case in cases:
        if case.timing not in timings:
            raise NeuroEmuError(
                f"validation case {case.id!r}: no published GPU timing {case.timing!r} in "
                f"neuroemu/data/gpu_timings.yaml"
            )
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(rebuild_key(timings[str(case.timing)]), []).append(case)
    rows: dict[int, Row] = {}
    gpus = {name: load_gpu(name) for name in {case.chip for case in cases}}
    for members in groups.values():
        run = rebuild_timing(timings[str(members[0].timing)])
        steps = step_activity(run.network, run.activity)
        for case in members:
            value, low, high = price_run(run, gpus[case.chip], steps)
            rows[id(case)] = Row(case, value, low, high, _timing_notes(timings[str(case.timing)]))
    return [rows[id(case)] for case in cases]


def _timing_notes(timing: PublishedTiming) -> tuple[str, ...]:
    """Why a recorded case was kept out of the fit (its role, fitted or holdout, is the case's
    ``note``)."""
    why = " ".join(str(timing.data.get("why_not_fit", "")).split())
    return (f"kept out of the fit: {why}",) if why and not timing.fit else ()


def run_cases(cases: list[Case]) -> list[Row]:
    """Price every case (the public ones are :data:`neuroemu.validation_cases.CASES`)."""
    gpu = iter(_price_gpu_cases([case for case in cases if case.timing is not None]))
    return [next(gpu) if case.timing is not None else price_case(case) for case in cases]
