"""Sweep jobs: one model on one (possibly overridden) chip at one seed, and the code that runs
them on a worker.

A :class:`Job` carries everything a worker needs, descriptors included (loaded, overridden and
validated once by the client), so a worker reads no sweep file and a descriptor edited
mid-sweep cannot make two jobs of one sweep disagree. Jobs that would run the same simulation
-- the same network, seed, duration and Brian2 device, on chips of the same timestep and weight
precision -- form one group: the group simulates once and prices the activity for each job
(strategies, operating points, GPUs and descriptor overrides that the engine does not read
cost a mapping and a count, not a run). Every job's outcome is a :class:`JobResult`; an error
in one job is recorded there and never stops the others.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import threading
import time
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from neuroemu.errors import NeuroEmuError
from neuroemu.experiment import REPORT_COLUMNS
from neuroemu.spec.chip import ChipSpec
from neuroemu.spec.gpu import GpuSpec

#: Bumped when a job's rows change meaning, so that an old journal is not mixed with new rows.
ROW_VERSION = 1

#: Columns that say which job a row belongs to, before :data:`REPORT_COLUMNS`.
JOB_COLUMNS = (
    "job_key", "status", "model", "params", "chip", "chip_base", "overrides", "gpu", "strategy",
    "operating_point", "seed", "duration_ms", "brian2_device", "n_neurons", "n_synapses",
    "n_spikes", "n_chips", "n_cores_used", "trace", "error",
)  # fmt: skip

# Brian2 keeps global state (its device, its random streams): two runs in one process at once
# would share it. Workers are started with one thread, and this lock makes a worker started
# with more still safe.
_ENGINE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Job:
    """One run of a sweep: what to build, where to map it, how to price it.

    ``model`` is a bundled model name or an absolute ``.py`` path; ``chip`` and ``gpu`` are the
    loaded descriptors with their overrides applied; ``overrides`` the settings as written.
    ``index`` is the job's place in the sweep (for messages and the order of the table).
    """

    index: int
    model: str
    model_label: str
    model_text: str
    params: tuple[tuple[str, Any], ...]
    chip: ChipSpec
    chip_base: str
    overrides: tuple[str, ...]
    gpu: GpuSpec | None
    strategy: str
    operating_point: str | None
    seed: int
    duration_ms: float
    device: str
    scope: str = "chip"
    gpu_scope: str = "board"
    n_chips: int | None = None

    @cached_property
    def key(self) -> str:
        """Digest of everything that decides this job's rows (model text, parameters,
        descriptor texts after overrides, seed, duration, strategy, operating point, scopes,
        device, row format); a rerun skips a job whose key the journal already holds."""
        facts = {
            "v": ROW_VERSION, "model": self.model_text, "params": dict(self.params),
            "chip": self.chip.text or self.chip.name, "gpu": self.gpu.text if self.gpu else None,
            "strategy": self.strategy, "operating_point": self.operating_point,
            "seed": self.seed, "duration_ms": self.duration_ms, "device": self.device,
            "scope": self.scope, "gpu_scope": self.gpu_scope, "n_chips": self.n_chips,
        }  # fmt: skip
        text = json.dumps(facts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @cached_property
    def simulation_key(self) -> str:
        """Digest of what the engine reads: jobs with equal keys share one simulation."""
        core = self.chip.core
        facts = {
            "model": self.model_text, "params": dict(self.params), "seed": self.seed,
            "duration_ms": self.duration_ms, "device": self.device,
            "dt_ms": self.chip.timing.dt_ms.require(), "weight_bits": core.weight_bits.require(),
            "weight_signed": core.weight_signed,
            "record_changes": self.chip.needs_changed_neurons(),
        }  # fmt: skip
        text = json.dumps(facts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def describe(self) -> str:
        """``cuba on loihi-set-..., seed 2, 50 ms`` for progress lines and errors."""
        params = ", ".join(f"{k}={v}" for k, v in self.params)
        return (
            f"{self.model_label}{f' ({params})' if params else ''} on {self.chip.name}, "
            f"seed {self.seed}, {self.duration_ms:g} ms"
        )

    def trace_name(self) -> str:
        """The trace file of this job, named by its key (chip names with overrides are long)."""
        return f"{self.model_label}_seed{self.seed}_{self.key}.h5"


@dataclass
class JobResult:
    """The outcome of one job: its table rows, or the error that stopped it.

    ``seconds`` is the job's wall time on its worker and ``cpu_seconds`` the processor time of
    the thread that ran it (jobs of one group share the simulation's times equally); a CPU time
    well below the wall time means the worker waited for a core another process held.
    """

    key: str
    index: int
    status: str  # "done" or "failed"
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain data for the journal."""
        return {
            "key": self.key, "index": self.index, "status": self.status, "rows": self.rows,
            "error": self.error, "seconds": self.seconds, "cpu_seconds": self.cpu_seconds,
            "v": ROW_VERSION,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobResult:
        """The inverse of :meth:`to_json`."""
        return cls(
            key=str(data["key"]), index=int(data["index"]), status=str(data["status"]),
            rows=list(data.get("rows") or []), error=str(data.get("error") or ""),
            seconds=float(data.get("seconds") or 0.0),
            cpu_seconds=float(data.get("cpu_seconds") or 0.0),
        )  # fmt: skip


def job_row(job: Job) -> dict[str, Any]:
    """The columns of a row that name its job (the same for every device priced in it)."""
    return {
        "job_key": job.key,
        "status": "done",
        "model": job.model_label,
        "params": json.dumps(dict(job.params), sort_keys=True),
        "chip": job.chip.name,
        "chip_base": job.chip_base,
        "overrides": "; ".join(job.overrides),
        "gpu": job.gpu.name if job.gpu else "",
        "strategy": job.strategy,
        "operating_point": job.operating_point or "",
        "seed": job.seed,
        "duration_ms": job.duration_ms,
        "brian2_device": job.device,
        **{f"param.{k}": v for k, v in job.params},
        **{f"set.{text.partition('=')[0]}": _set_value(text) for text in job.overrides},
    }


def _set_value(text: str) -> Any:
    import yaml

    return yaml.safe_load(text.partition("=")[2])


def failed_result(job: Job, error: str, seconds: float = 0.0) -> JobResult:
    """A failed job's result: one row with its facts and the error, no figures."""
    row = {**job_row(job), "status": "failed", "error": error}
    return JobResult(job.key, job.index, "failed", [row], error, seconds)


def preload_engine() -> None:
    """Import Brian2 now, in the calling (main) thread.

    Brian2 installs a SIGINT handler when first imported, which Python allows only in the main
    thread; Dask runs tasks in other threads, so workers call this when they start.
    """
    from neuroemu.engine.brian2_import import import_brian2

    import_brian2()


def run_group(jobs: list[Job], trace_folder: str | None = None) -> list[JobResult]:
    """Run jobs that share a simulation: build and simulate once, then map, count and price
    for each job. Runs on a worker; never raises for a job's error (see :class:`JobResult`).

    Parameters
    ----------
    jobs : list of Job
        Jobs with one :attr:`Job.simulation_key`.
    trace_folder : str or None
        Write each job's trace there (the folder must be reachable from the worker).

    Returns
    -------
    list of JobResult
        One per job, in the order given.
    """
    from neuroemu.engine.runner import simulate
    from neuroemu.pipeline import build_network

    started, cpu_started = time.perf_counter(), time.thread_time()
    first = jobs[0]
    error = ""
    try:
        with _ENGINE_LOCK:
            network = build_network(first.model, dict(first.params), first.seed)
            activity = simulate(
                network, first.chip, first.duration_ms, seed=first.seed, device=first.device,
                record_changes=first.chip.needs_changed_neurons(),
            )  # fmt: skip
    except NeuroEmuError as exc:
        error = str(exc)
    except Exception as exc:  # a bug must not stop the sweep; its traceback is kept
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
    # The simulation's times, shared by the jobs of the group.
    wall = (time.perf_counter() - started) / len(jobs)
    cpu = (time.thread_time() - cpu_started) / len(jobs)
    if error:
        results = [_timed(failed_result(job, error), wall, cpu) for job in jobs]
    else:
        results = [_run_one(job, network, activity, trace_folder, wall, cpu) for job in jobs]
    with _ENGINE_LOCK:
        _settle_heap()
    return results


def _run_one(
    job: Job, network: Any, activity: Any, trace_folder: str | None, wall: float, cpu: float
) -> JobResult:
    """One job of a group on the shared activity; its result with its share of the times."""
    started, cpu_started = time.perf_counter(), time.thread_time()
    try:
        result = JobResult(job.key, job.index, "done", _price(job, network, activity,
                                                               trace_folder))  # fmt: skip
    except NeuroEmuError as exc:
        result = failed_result(job, str(exc))
    except Exception as exc:
        result = failed_result(job, f"{type(exc).__name__}: {exc}\n"
                                    f"{traceback.format_exc(limit=8)}")  # fmt: skip
    own_wall, own_cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    return _timed(result, wall + own_wall, cpu + own_cpu)


def _timed(result: JobResult, wall: float, cpu: float) -> JobResult:
    """``result`` with its wall and CPU seconds set."""
    result.seconds, result.cpu_seconds = wall, cpu
    return result


@functools.cache
def _settle_heap() -> None:
    """Once per process, after its first group: collect the garbage, then freeze what is left
    out of the collector's way.

    Brian2 starts every run with a full garbage collection, which with Brian2, sympy and Dask
    loaded walks some 240,000 objects: 0.3 s of CPU, more than half of a small job's (CUBA at
    400 neurons for 100 ms: 0.48 s a job without this, 0.17-0.26 s with it, measured in a loop
    on this repository's 2-core machine). Frozen objects -- imported modules, the caches the
    first run filled (Brian2's solved equations) -- are skipped by later collections; reference
    counting still frees them, but a cycle among them that dies later is never collected. So
    this is done once, when the first group's garbage (Brian2's objects, whose names would
    clash with the next run's) has just been collected: what leaks is bounded by what was alive
    then. Called under the engine lock, so no other thread's run is alive to be frozen.
    """
    gc.collect()
    gc.freeze()


def _price(job: Job, network: Any, activity: Any, trace_folder: str | None) -> list[dict[str, Any]]:
    """Map, count and price one job on the shared activity; its rows (chip, then GPUs)."""
    from neuroemu.accounting import count_events, estimate_energy
    from neuroemu.comparison import price_on_gpus
    from neuroemu.mapping.mapping import map_network
    from neuroemu.operating_point import OperatingPoint
    from neuroemu.pipeline import RunResult, price_scopes

    point = None if job.operating_point is None else OperatingPoint.parse(job.operating_point)
    on_chip = network.chip_view()  # host-side populations are the chip's inputs
    mapping = map_network(on_chip, job.chip, strategy=job.strategy, n_chips=job.n_chips)
    counts = count_events(on_chip, activity, mapping)
    scope_reports = price_scopes(counts, job.chip, point)
    if job.scope not in scope_reports:  # the reason (too few boards) as an error
        estimate_energy(counts, job.chip, point, job.scope)
    report = scope_reports[job.scope]
    gpus = [job.gpu] if job.gpu is not None else []
    gpu_reports, notes = price_on_gpus(network, activity, gpus, job.gpu_scope)
    trace = ""
    if trace_folder is not None:
        from neuroemu.traces.file import write_trace

        result = RunResult(
            network=network, chip=job.chip, mapping=mapping, activity=activity, counts=counts,
            report=report, model=job.model, params=dict(job.params), seed=job.seed,
            strategy=job.strategy, gpu_reports=gpu_reports, scope_reports=scope_reports,
            notes=notes,
        )  # fmt: skip
        trace = job.trace_name()
        write_trace(Path(trace_folder) / trace, result, command="neuroemu sweep", force=True)
    run = {
        **job_row(job),
        "n_neurons": network.n_neurons,
        "n_synapses": network.n_synapses,
        "n_spikes": activity.n_spikes,
        "n_chips": mapping.n_chips,
        "n_cores_used": mapping.n_cores_used,
        "trace": trace,
        "error": "",
    }
    rows = []
    for each in [report, *gpu_reports]:
        summary: dict[str, Any] = each.summary()
        summary["unpriced"] = "; ".join(summary["unpriced"])
        summary["notes"] = "; ".join([*summary["notes"], *notes])
        rows.append({**run, **{k: _plain(summary[k]) for k in REPORT_COLUMNS}})
    return rows


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so rows go to JSON and back unchanged."""
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value
