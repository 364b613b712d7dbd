"""The main job, as one function: model -> mapping -> Brian2 run -> counts -> energy.

:func:`run_pipeline` is what ``neuroemu run`` does and what experiments and comparisons reuse; it
times each stage so reports can say where the wall time went.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from neuroemu.accounting import EventCounts, count_events, estimate_energy
from neuroemu.accounting.inferences import InferenceResults, count_inferences
from neuroemu.accounting.layers import LayerReport, layer_report
from neuroemu.accounting.pricing import SCOPES
from neuroemu.activity import Activity
from neuroemu.comparison import price_on_gpus
from neuroemu.engine.runner import simulate
from neuroemu.errors import NeuroEmuError, QuantisationWarning, RunInterrupted
from neuroemu.mapping.given import Placement
from neuroemu.mapping.mapping import Mapping, map_network
from neuroemu.network.inference import OFFSET_STYLES, InferenceSchedule
from neuroemu.network.model_files import load_model
from neuroemu.network.network import Network
from neuroemu.operating_point import OperatingPoint
from neuroemu.report import EnergyReport
from neuroemu.run_budget import (
    RunBudgetWarning,
    check_run_budget,
    choose_device,
    estimate_run,
)
from neuroemu.spec.chip import ChipSpec, load_chip
from neuroemu.spec.gpu import GpuSpec, load_gpu
from neuroemu.timesteps import delay_steps, whole_steps


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything one run produced, for printing, tracing and comparing."""

    network: Network
    chip: ChipSpec
    mapping: Mapping
    activity: Activity
    counts: EventCounts
    report: EnergyReport
    model: str
    params: dict[str, Any]
    seed: int
    strategy: str
    timings_s: dict[str, float] = field(default_factory=dict)
    gpu_reports: list[EnergyReport] = field(default_factory=list)
    # False for the steps an interrupted run did (kept with keep_partial): never a full run.
    complete: bool = True
    readout: dict[str, float] = field(default_factory=dict)
    scope_reports: dict[str, EnergyReport] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Per-inference counts, time and energy, for a network run as a stream of inferences.
    inferences: InferenceResults | None = None

    def __repr__(self) -> str:
        # The default repr printed the network, the mapping and every array (67,773 characters
        # for a 400-neuron run): one line says which run this is.
        state = "" if self.complete else ", interrupted"
        return (
            f"<RunResult {self.model} on {self.chip.name}, seed {self.seed}: "
            f"{self.network.n_neurons:,} neurons on {self.mapping.n_cores_used} cores, "
            f"{self.activity.n_spikes:,} spikes in {self.activity.duration_ms:g} ms{state}; "
            f"{self.report!r}>"
        )

    def _repr_html_(self) -> str:
        """A short HTML table for notebooks (Jupyter shows it in place of the repr)."""
        from neuroemu.notebook import run_result_html

        return run_result_html(self)

    @cached_property
    def layers(self) -> LayerReport:
        """Counts, energy, work share and NeuroBench metrics per population and projection
        (:mod:`neuroemu.accounting.layers`); computed on first use, they sum to the totals."""
        return layer_report(
            self.network.chip_view(), self.activity, self.mapping, self.counts, self.chip
        )

    def summary(self) -> dict[str, Any]:
        """The run as plain data (what ``neuroemu run --json`` prints); numpy scalars and
        arrays are left to the caller's JSON encoder."""
        mapping = self.mapping
        return {
            "model": self.model,
            "complete": self.complete,
            "params": {k: str(v) for k, v in self.params.items()},
            "seed": self.seed,
            "network": self.network.summary(),
            "mapping": {
                "chip": self.chip.name,
                "strategy": mapping.strategy,
                "n_chips": mapping.n_chips,
                "n_cores_used": mapping.n_cores_used,
                "utilisation_max": {k: float(v.max()) for k, v in mapping.utilisation().items()},
                "warnings": list(mapping.warnings),
            },
            "activity": {
                "device": self.activity.device,
                "n_steps": self.activity.n_steps,
                "dt_ms": self.activity.dt_ms,
                "n_spikes": self.activity.n_spikes,
                "quantisation_rms_relative_error": {
                    k: q.rms_relative_error for k, q in self.activity.quantisation.items()
                },
            },
            "counts": self.counts.totals(),
            "energy": {**self.report.summary(), "dynamic_pj": self.report.dynamic_pj},
            "scopes": {scope: r.summary() for scope, r in self.scope_reports.items()},
            "gpus": [r.summary() for r in self.gpu_reports],
            "notes": list(self.notes),
            "readout": dict(self.readout),
            "inferences": None if self.inferences is None else self.inferences.summary(),
            "timings_s": self.timings_s,
        }


def build_network(model: str | Path | Network, params: dict[str, Any], seed: int) -> Network:
    """A Network from a model name or path; the run's seed seeds the model unless given."""
    if isinstance(model, Network):
        return model
    return load_model(model, params, seed=seed)


def run_pipeline(
    model: str | Path | Network,
    chip: str | Path | ChipSpec,
    duration_ms: float = 1000.0,
    seed: int = 1,
    params: dict[str, Any] | None = None,
    strategy: str = "fill",
    device: str = "auto",
    n_chips: int | None = None,
    window_ms: float | None = None,
    report: str | None = None,
    record_state: dict[str, list[str]] | None = None,
    gpus: tuple[str | GpuSpec, ...] = (),
    gpu_scope: str = "board",
    dt_ms: float | None = None,
    operating_point: str | OperatingPoint | None = None,
    scope: str = "chip",
    n_boards: int | None = None,
    max_neurons_per_core: int | None = None,
    keep_partial: bool = False,
    allow_large: bool = False,
    record_changes: bool | None = None,
    placement: Placement | None = None,
    progress: Callable[[str], None] | None = None,
    quantise: bool = True,
    steps_per_inference: int | None = None,
    reset_offsets: str = "none",
) -> RunResult:
    """Map, simulate, count and price a model on a chip (and optionally GPUs).

    Parameters
    ----------
    model : str, Path or Network
        Bundled model name, a ``.py`` model file, or a Network.
    chip : str, Path or ChipSpec
        Bundled chip name, a descriptor path, or a loaded ChipSpec.
    duration_ms : float
        Biological time to simulate.
    seed : int
        Seeds the model's connectivity (unless ``params`` has ``seed``) and Brian2.
    params : dict
        Model parameters (strings are converted to the parameter's type).
    strategy : str
        Mapping strategy: ``fill``, ``balanced`` or ``min-traffic``.
    device : str
        Engine device: ``auto`` (numpy for a short run, cpp_standalone for a long one where a
        compiler exists; the choice and its reason are in ``notes``), ``runtime``, ``cython``,
        ``numpy`` or ``cpp``.
    n_chips : int or None
        Chips available (default: as many as needed up to the descriptor's ``max_chips``).
    window_ms : float or None
        Also count events per window of this length (default: one window per inference,
        where the network has an inference schedule).
    report : str or None
        Brian2 progress report (``'stderr'``) or None.
    record_state : dict or None
        State variables to record per population.
    gpus : tuple of str
        GPU descriptors to price the same activity on (both execution styles).
    gpu_scope : str
        Scope of the GPU reports: ``board`` (as NVML measures) or ``wall`` (adds the host).
    dt_ms : float or None
        Emulate the chip at this timestep instead of its descriptor's ``timing.dt_ms``.
    operating_point : str, OperatingPoint or None
        How the chip is run (``real-time``, ``fast``, ``slowdown=20``, ``rate=300``); default:
        the descriptor's.
    scope : str
        What ``report`` covers: ``chip``, ``board`` or ``wall``; ``scope_reports`` has all.
    n_boards : int or None
        Boards switched on, where a published setup states it (board and wall scopes).
    max_neurons_per_core : int or None
        Place at most this many neurons on a core (below the chip's own limit).
    keep_partial : bool
        When the run is interrupted, count and price the steps done and return them marked
        ``complete=False`` (the caller decides what to do) instead of raising RunInterrupted.
    allow_large : bool
        Run even when the memory estimate (:mod:`neuroemu.run_budget`) exceeds the memory
        this machine has available; without it such a run raises ``RunTooLargeError`` before
        the simulation starts. A run expected to take an hour or more gives a
        ``RunBudgetWarning`` with its estimate either way.
    record_changes : bool or None
        Record which neurons changed state each step (what a chip that charges an update only
        then needs, SANA-FE's models). None: when ``chip`` asks for it; pass True when the same
        activity will also be priced on such a chip.
    placement : Placement or None
        Place the network as given (:mod:`neuroemu.mapping.given`) instead of by ``strategy``.
    progress : callable or None
        Called with one line per phase (mapped, simulating on which device and why, counted
        and priced), so a long first run is never silent; the CLI prints them on stderr.
    quantise : bool
        Round weights to the chip's precision (the default: a chip stores them so); False runs
        the weights as written. Weights rounded to zero give a ``QuantisationWarning``.
    steps_per_inference : int or None
        Run the network as a stream of inferences of this many steps, every population reset
        at each boundary (replacing a schedule the model states). With a schedule, from the
        model or from here, ``inference_ms`` is ``steps x dt_ms`` and the result has
        per-inference counts, time and energy (``RunResult.inferences``).
    reset_offsets : str
        With ``steps_per_inference``: ``none`` (every population reset at the boundary) or
        ``layer`` (staggered by the steps a spike needs to reach each population, as lava-dl
        does; :func:`layer_offsets`).
    """
    point = (
        OperatingPoint.parse(operating_point)
        if isinstance(operating_point, str)
        else (operating_point)
    )
    if scope not in SCOPES:
        raise NeuroEmuError(f"unknown scope {scope!r}: expected one of {', '.join(SCOPES)}")
    params = dict(params or {})
    timings: dict[str, float] = {}
    started = time.perf_counter()
    chip_spec = chip if isinstance(chip, ChipSpec) else load_chip(chip)
    if dt_ms is not None:
        chip_spec = chip_spec.with_timestep(dt_ms)
    # Descriptors and times are checked before the (possibly long) run, so a typo fails at once.
    chip_dt = chip_spec.timing.dt_ms.require()
    n_steps = whole_steps(duration_ms, chip_dt, "duration_ms")
    if window_ms is not None:
        whole_steps(window_ms, chip_dt, "window_ms")
    gpu_specs = [g if isinstance(g, GpuSpec) else load_gpu(g) for g in gpus]
    network = build_network(model, params, seed)
    notes: list[str] = []
    network = with_schedule(network, chip_dt, steps_per_inference, reset_offsets, notes)
    timings["build_s"] = time.perf_counter() - started

    start = time.perf_counter()
    on_chip = network.chip_view()  # host-side populations become the chip's inputs
    mapping = map_network(
        on_chip,
        chip_spec,
        strategy=strategy,
        n_chips=n_chips,
        max_neurons_per_core=max_neurons_per_core,
        placement=placement,
    )
    timings["map_s"] = time.perf_counter() - start
    say = progress or (lambda _line: None)
    say(
        f"mapped {on_chip.n_neurons:,} neurons onto {mapping.n_cores_used:,} cores of "
        f"{mapping.n_chips} {chip_spec.name} chip(s) ({mapping.strategy}) in "
        f"{timings['map_s']:.2g} s"
    )
    why = None
    if device == "auto":
        device, why = choose_device(network, n_steps, mapping.n_cores_used)
        notes.append(f"device auto -> {why}")
    budget = estimate_run(network, n_steps, mapping.n_cores_used, device)
    for text in check_run_budget(budget, allow_large):
        warnings.warn(text, RunBudgetWarning, stacklevel=2)
    say(
        f"simulating {n_steps:,} steps of {chip_dt:g} ms on Brian2's {device} device"
        + (f" ({why})" if why else "")
        + ("; the first run of a network compiles its code first" if device != "numpy" else "")
    )

    start = time.perf_counter()
    complete = True
    try:
        activity = simulate(
            network,
            chip_spec,
            duration_ms,
            seed=seed,
            device=device,
            report=report,
            record_state=record_state,
            quantise=quantise,
            # a chip that charges updates only to neurons that changed needs them recorded
            record_changes=(
                chip_spec.needs_changed_neurons() if record_changes is None else record_changes
            ),
        )
    except RunInterrupted as stopped:
        if not keep_partial or not isinstance(stopped.partial, Activity) or not stopped.steps_done:
            raise
        activity, complete = stopped.partial, False
    timings["simulate_s"] = time.perf_counter() - start
    zeroed = quantisation_note(network, activity)
    if zeroed:
        notes.append(zeroed)
        warnings.warn(zeroed, QuantisationWarning, stacklevel=2)

    start = time.perf_counter()
    if window_ms is None and on_chip.inference is not None:
        # one window per inference: the per-inference results reuse them (no second count)
        window_ms = on_chip.inference_ms
    counts = count_events(on_chip, activity, mapping, window_ms=window_ms)
    scope_reports = price_scopes(counts, chip_spec, point, n_boards)
    if scope not in scope_reports:  # the reason (too few boards) as an error
        estimate_energy(counts, chip_spec, point, scope, n_boards)
    chip_report = scope_reports[scope]
    inferences = None
    if on_chip.inference is not None:
        inferences = count_inferences(
            on_chip, activity, mapping, chip_spec, counts, None, point, scope, n_boards
        )
    timings["account_s"] = time.perf_counter() - start

    say(
        f"simulated in {timings['simulate_s']:.3g} s; counted and priced in "
        f"{timings['account_s']:.2g} s"
    )
    gpu_reports, gpu_notes = price_on_gpus(network, activity, gpu_specs, gpu_scope)
    notes += gpu_notes
    timings["total_s"] = time.perf_counter() - started
    return RunResult(
        network=network,
        chip=chip_spec,
        mapping=mapping,
        activity=activity,
        counts=counts,
        report=chip_report,
        model=network.name if isinstance(model, Network) else str(model),
        params=params,
        seed=seed,
        strategy=strategy,
        timings_s=timings,
        gpu_reports=gpu_reports,
        scope_reports=scope_reports,
        notes=notes,
        complete=complete,
        # A model's own results (a classifier's accuracy), from completed inferences only.
        readout=network.read_out(activity),
        inferences=inferences,
    )


def with_schedule(
    network: Network,
    dt_ms: float,
    steps_per_inference: int | None,
    reset_offsets: str = "none",
    notes: list[str] | None = None,
) -> Network:
    """``network`` with the schedule a run states (or its own) and ``inference_ms`` following
    from it: ``steps x dt_ms``. Unchanged when neither gives a schedule.

    A note (appended to ``notes``) says when the run's schedule replaces the model's, or when
    the model's ``inference_ms`` disagrees with its schedule at this timestep.
    """
    notes = [] if notes is None else notes
    if reset_offsets not in OFFSET_STYLES:
        raise NeuroEmuError(
            f"unknown reset offsets {reset_offsets!r}: expected one of {', '.join(OFFSET_STYLES)}"
        )
    schedule = network.inference
    if steps_per_inference is not None:
        offsets = {}
        if reset_offsets == "layer":
            offsets = layer_offsets(network, steps_per_inference, dt_ms)
            offsets = {name: offset for name, offset in offsets.items() if offset}
        if schedule is not None:
            notes.append(
                f"--steps-per-inference {steps_per_inference} replaces the model's schedule "
                f"({schedule.steps} steps per inference)"
            )
        schedule = InferenceSchedule(steps_per_inference, offsets=offsets)
    elif reset_offsets != "none":
        raise NeuroEmuError("reset offsets need steps per inference (--steps-per-inference K)")
    if schedule is None:
        return network
    inference_ms = schedule.steps * dt_ms
    if network.inference_ms is not None and abs(network.inference_ms - inference_ms) > 1e-9:
        notes.append(
            f"the model's inference_ms {network.inference_ms:g} differs from its schedule's "
            f"{schedule.steps} steps x {dt_ms:g} ms: energy per inference uses {inference_ms:g} ms"
        )
    if schedule is network.inference and network.inference_ms == inference_ms:
        return network
    return dataclasses.replace(network, inference=schedule, inference_ms=inference_ms)


def price_scopes(
    counts: EventCounts,
    chip: ChipSpec,
    operating_point: OperatingPoint | None = None,
    n_boards: int | None = None,
) -> dict[str, EnergyReport]:
    """The run priced at every scope (chip, board, wall) that the board count allows."""
    reports = {}
    for scope in SCOPES:
        try:
            reports[scope] = estimate_energy(counts, chip, operating_point, scope, n_boards)
        except NeuroEmuError:
            if scope == "chip":
                raise
    return reports


def quantisation_note(network: Network, activity: Activity) -> str | None:
    """One sentence naming the projections whose quantisation zeroed weights, or None.

    Rounding to the chip's levels is expected; a non-zero weight that becomes zero removes a
    synapse's effect, which changes the network beyond rounding.
    """
    sizes = {proj.name: proj.n_synapses for proj in network.projections}
    parts = [
        f"{name}: {report.n_zeroed:,} of {sizes.get(name, 0):,} "
        f"({100 * report.n_zeroed / max(sizes.get(name, 1), 1):.2g} %) at {report.weight_bits} bits"
        for name, report in activity.quantisation.items()
        if report.n_zeroed
    ]
    if not parts:
        return None
    return (
        "quantising weights to the chip's precision rounded non-zero weights to zero ("
        + "; ".join(parts)
        + "); --no-quantise runs the weights as written"
    )


def map_summary(
    model: str | Path | Network,
    chip: str | Path | ChipSpec,
    strategy: str = "fill",
    n_chips: int | None = None,
    params: dict[str, Any] | None = None,
    placement: Placement | None = None,
) -> dict[str, Any]:
    """Build the model, map it, and return the mapping as plain data (``neuroemu map``)."""
    # The model's own default seed, as `neuroemu map` always used (no run seed to share).
    network = model if isinstance(model, Network) else load_model(model, dict(params or {}))
    chip_spec = chip if isinstance(chip, ChipSpec) else load_chip(chip)
    mapping = map_network(
        network.chip_view(), chip_spec, strategy=strategy, n_chips=n_chips, placement=placement
    )
    return {
        "model": network.name,
        "n_neurons": network.n_neurons,
        "n_input_sources": network.n_input_sources,
        "n_synapses": network.n_synapses,
        **mapping.summary(),
    }


def layer_offsets(network: Network, steps: int, dt_ms: float) -> dict[str, int]:
    """Reset offsets staggered by layer, as lava-dl staggers them: a population's offset is the
    steps a spike needs to reach it from the nearest input (one step per projection, as a
    spike emitted in step ``t`` moves its target in step ``t + 1``, plus the projection's
    shortest delay), modulo ``steps`` (the same phase of resets; an offset must be below
    ``steps``). A population no input reaches gets 0.
    """
    hop: dict[tuple[str, str], int] = {}
    for proj in network.projections:
        shortest = int(delay_steps(np.min(proj.delays_ms()), dt_ms)) if proj.n_synapses else 0
        key = (proj.pre, proj.post)
        hop[key] = min(hop.get(key, shortest + 1), shortest + 1)
    # shortest latency from any input (Dijkstra; networks have few populations)
    reached = {source.name: 0 for source in network.inputs}
    frontier = sorted((0, name) for name in reached)
    while frontier:
        distance, name = frontier.pop(0)
        if distance > reached.get(name, distance):
            continue
        for (pre, post), latency in hop.items():
            if pre == name and distance + latency < reached.get(post, np.iinfo(np.int64).max):
                reached[post] = distance + latency
                frontier.append((distance + latency, post))
                frontier.sort()
    return {pop: reached.get(pop, 0) % steps for pop in network.population_names}
