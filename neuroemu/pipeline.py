"""The main job, as one function: model -> mapping -> Brian2 run -> counts -> energy.

:func:`run_pipeline` is what ``neuroemu run`` does and what experiments and comparisons reuse; it
times each stage so reports can say where the wall time went.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuroemu.accounting import EventCounts, count_events, estimate_energy
from neuroemu.activity import Activity
from neuroemu.engine.runner import simulate
from neuroemu.gpu.model import STYLES, gpu_baseline
from neuroemu.mapping.mapping import Mapping, map_network
from neuroemu.network.model_files import load_model
from neuroemu.network.network import Network
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec, load_chip
from neuroemu.spec.gpu import load_gpu


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
    device: str = "runtime",
    n_chips: int | None = None,
    window_ms: float | None = None,
    report: str | None = None,
    record_state: dict[str, list[str]] | None = None,
    gpus: tuple[str, ...] = (),
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
        Engine device: ``runtime``, ``cython``, ``numpy`` or ``cpp``.
    n_chips : int or None
        Chips available (default: as many as needed up to the descriptor's ``max_chips``).
    window_ms : float or None
        Also count events per window of this length.
    report : str or None
        Brian2 progress report (``'stderr'``) or None.
    record_state : dict or None
        State variables to record per population.
    gpus : tuple of str
        GPU descriptors to price the same activity on (both execution styles).
    """
    params = dict(params or {})
    timings: dict[str, float] = {}
    started = time.perf_counter()
    chip_spec = chip if isinstance(chip, ChipSpec) else load_chip(chip)
    # Descriptors are checked before the (possibly long) run, so a typo fails at once.
    gpu_specs = [load_gpu(name) for name in gpus]
    network = build_network(model, params, seed)
    timings["build_s"] = time.perf_counter() - started

    start = time.perf_counter()
    mapping = map_network(network, chip_spec, strategy=strategy, n_chips=n_chips)
    timings["map_s"] = time.perf_counter() - start

    start = time.perf_counter()
    activity = simulate(
        network,
        mapping,
        chip_spec,
        duration_ms,
        seed=seed,
        device=device,
        report=report,
        record_state=record_state,
    )
    timings["simulate_s"] = time.perf_counter() - start

    start = time.perf_counter()
    counts = count_events(network, activity, mapping, window_ms=window_ms)
    chip_report = estimate_energy(counts, chip_spec)
    timings["account_s"] = time.perf_counter() - start

    gpu_reports = [
        gpu_baseline(network, activity, spec, style=style) for spec in gpu_specs for style in STYLES
    ]
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
    )
