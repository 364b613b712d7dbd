"""The engine: runs a :class:`~neuroemu.network.network.Network` in Brian2 with the chip's numerics.

Brian2 is imported lazily, through :mod:`neuroemu.engine.brian2_import`, so ``chips`` and ``map``
start fast. Our dataclasses go in, an :class:`~neuroemu.activity.Activity` of numpy arrays comes
out; no Brian2 object or unit crosses the boundary. This module decides how a run goes (the
device, the build directory, whether a compiled binary can be run again); the objects are built
by :mod:`neuroemu.engine.brian2_objects` from the plan of :mod:`neuroemu.engine.group_plan`
(populations with one neuron model share a NeuronGroup, compatible projections a Synapses, as a
Brian2 user would write them), the values they get are computed by
:mod:`neuroemu.engine.run_values` (the chip's numerics: its timestep, weights rounded to its
precision, delays to whole steps), and :mod:`neuroemu.engine.collect` reads what was recorded.

A network run as a stream of inferences (``Network.inference``) has its populations reset to
rest as its schedule says, inside Brian2 (:mod:`neuroemu.engine.resets`, where what happens to
spikes in flight is documented); a network without a schedule is built exactly as before.

Repeated runs in one process work on every device. On ``cpp_standalone`` the code depends on
the network's structure only: connectivity, per-neuron and per-synapse values and the seed are
read by the binary when it starts (:mod:`neuroemu.engine.run_inputs`). Every cpp_standalone run
starts the binary and reads its results itself (:mod:`neuroemu.engine.compiled_run`), so a run
whose structure and options equal those of the directory's last build (a sweep over seeds,
weights or draws of the connectivity, in this process or a later one) runs that binary again
with new inputs, without importing Brian2; any other run builds anew, in a directory per
structure (:func:`standalone_dir`), where Brian2's ``make`` finds the objects of an earlier
build up to date.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuroemu.activity import Activity
from neuroemu.engine.brian2_import import import_brian2
from neuroemu.engine.brian2_objects import build_objects, collect_previous_run, variable_dtypes
from neuroemu.engine.collect import BrianRecord, FileRecord, collect_activity
from neuroemu.engine.compiled_run import Layout, capture_layout, run_binary
from neuroemu.engine.compiler_flags import remembered_flags
from neuroemu.engine.group_plan import ObjectPlan, plan_objects
from neuroemu.engine.resets import GroupReset
from neuroemu.engine.run_inputs import return_freed_memory, seed_at_start
from neuroemu.engine.run_values import RunOptions, standalone_inputs
from neuroemu.errors import NeuroEmuError, RunInterrupted, SimulationError
from neuroemu.mapping.mapping import Mapping
from neuroemu.network.network import Network, PoissonInput
from neuroemu.spec.chip import ChipSpec
from neuroemu.timesteps import whole_steps

if TYPE_CHECKING:
    from filelock import FileLock

DEVICES = ("runtime", "cython", "numpy", "cpp")


def _select_target(b2: Any, device: str) -> str:
    if device == "cpp":
        return "cpp_standalone"
    if device == "numpy":
        return "numpy"
    if device == "cython":
        return "cython"
    # 'runtime': cython where a compiler exists, else numpy (Brian2's 'auto' rule)
    try:
        from brian2.codegen.runtime.cython_rt.cython_rt import CythonCodeObject

        return "cython" if CythonCodeObject.is_available() else "numpy"
    except Exception:
        return "numpy"


def _locked(directory: Path) -> FileLock:
    """An exclusive lock on a standalone build directory (parallel sweeps share them).

    ``filelock`` works on every platform (``fcntl`` exists only on POSIX systems). It is
    imported here, not at the top: only cpp_standalone runs lock, and the numpy runs of the
    command line start faster without it.
    """
    from filelock import FileLock

    directory.mkdir(parents=True, exist_ok=True)
    return FileLock(directory / ".neuroemu.lock")


def standalone_dir(network: Network) -> Path:
    """Default cpp_standalone build directory, under the user's cache: one per network name and
    structure (:func:`structure_key`).

    Values (weights, delays, initial values, connectivity, seeds) are run inputs, not code
    (:mod:`neuroemu.engine.run_inputs`), so runs that differ only in them recompile nothing
    (Brian2's ``make`` rebuilds only files whose text changed). Keyed by name
    alone, two sizes of one model (a sweep over its scale, a benchmark at two sizes) took turns
    in one directory and recompiled every code object at each turn (70 s for the convolutional
    case of ``benchmarks/vs_sanafe.py``); each structure now keeps its own.
    """
    root = Path(os.environ.get("NEUROEMU_CACHE", Path.home() / ".cache" / "neuroemu"))
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", network.name)
    return root / "cpp_standalone" / f"{safe}-{structure_key(network)}"


def structure_key(network: Network) -> str:
    """A short digest of what decides the code Brian2 generates for ``network``, not its values:
    names and sizes of populations and inputs, neuron models and which parameters are
    per-neuron, and per projection its ends, target, plasticity and whether delays differ per
    synapse. Only a directory choice hangs on it: a structure it failed to tell apart would
    share a directory and be recompiled, as before, never run with another's code."""
    parts: list[object] = [["inference", network.inference is not None]]
    for pop in network.populations:
        per_neuron = sorted(k for k, v in pop.parameters.items() if np.ndim(v))
        parts.append(["population", pop.name, int(pop.size), pop.model.name, per_neuron])
    for source in network.inputs:
        parts.append(["input", type(source).__name__, source.name, int(source.size)])
    for proj in network.projections:
        varied = bool(np.ndim(proj.delay_ms))
        plastic = proj.plasticity is not None
        parts.append(["projection", proj.name, proj.pre, proj.post, proj.target, plastic, varied])
    text = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def simulate(
    network: Network,
    chip: ChipSpec,
    duration_ms: float,
    *legacy: Any,
    seed: int = 1,
    device: str = "runtime",
    quantise: bool = True,
    record_state: dict[str, list[str]] | None = None,
    state_every_ms: float | None = None,
    report: str | None = None,
    build_dir: str | Path | None = None,
    count_synapse_events: bool = False,
    merge_objects: bool = True,
    record_changes: bool = False,
) -> Activity:
    """Run ``network`` for ``duration_ms`` with the chip's timestep and weight precision.

    Parameters
    ----------
    network : Network
        What to run.
    chip : ChipSpec
        Supplies ``dt_ms``, ``weight_bits`` and ``weight_signed``.
    duration_ms : float
        Biological time to simulate.
    seed : int
        Seeds Brian2's random streams (Poisson inputs); cython and cpp give identical spikes.
    device : str
        ``runtime`` (cython where a compiler exists, else numpy), ``cython``, ``numpy`` or
        ``cpp`` (cpp_standalone; best for long runs).
    quantise : bool
        Round weights to the chip's precision (default True).
    record_state : dict or None
        Population -> state variables to record for all its neurons (``{'exc': ['v']}``).
    state_every_ms : float or None
        Sampling interval of recorded state (default: every step).
    report : str or None
        ``'stderr'`` or ``'text'`` for Brian2's progress report, None for silence.
    build_dir : path or None
        cpp_standalone build directory (default :func:`standalone_dir`).
    count_synapse_events : bool
        Also count, inside Brian2, every delivery and post-spike event of every synapse (for
        tests: an independent check of the accounting). Returned in ``Activity.synapse_counters``.
    merge_objects : bool
        Build one NeuronGroup per distinct neuron model and one Synapses per (source, target
        group, synaptic target, delay mode), as a Brian2 user would (default; see
        :mod:`neuroemu.engine.group_plan`), or one object per population and projection (False).
    record_changes : bool
        Also record, per step, which neurons' state changed (``Activity.changed``): what a chip
        needs that charges a neuron's update only then (``neuron_changed_pj``, as SANA-FE's
        models do). Costs one event check per neuron and step, and memory per change.

    legacy
        Only for the earlier form ``simulate(network, mapping, chip, duration_ms, ...)``, whose
        mapping the dynamics never used: it still works, with a DeprecationWarning.

    Returns
    -------
    Activity
    """
    if legacy or not isinstance(chip, ChipSpec):
        chip, duration_ms = _without_mapping(chip, duration_ms, legacy)
    if duration_ms <= 0:
        raise SimulationError(f"duration_ms must be > 0, got {duration_ms}")
    if device not in DEVICES:
        raise SimulationError(f"unknown device {device!r}: expected one of {', '.join(DEVICES)}")
    for pop_name, variables in (record_state or {}).items():
        known = set(network.population(pop_name).neuron_model.state_units)
        unknown = [var for var in variables if var not in known]
        if unknown:
            raise SimulationError(
                f"cannot record {unknown[0]!r} of {pop_name!r}: its state variables are "
                f"{sorted(known)}"
            )
    dt_ms = chip.timing.dt_ms.require()
    try:
        n_steps = whole_steps(duration_ms, dt_ms, "duration_ms")
    except NeuroEmuError as exc:
        raise SimulationError(str(exc)) from None
    started = time.perf_counter()
    plan = plan_objects(network, dt_ms, merge=merge_objects)
    options = RunOptions(dt_ms, n_steps, record_state, state_every_ms, report, count_synapse_events,
                       record_changes, quantise, seed)  # fmt: skip
    if device == "cpp":
        directory = Path(build_dir) if build_dir is not None else standalone_dir(network)
        return _run_standalone(network, chip, plan, options, directory, started)
    b2 = import_brian2()
    target = _select_target(b2, device)
    collect_previous_run(b2)
    b2.set_device("runtime")
    b2.prefs.codegen.target = target
    try:
        built = build_objects(b2, network, plan, chip, options, standalone=False)
        b2.seed(seed)
        net = built["net"]
        net.run(n_steps * dt_ms * b2.ms, report=report, report_period=2 * b2.second)
        record = BrianRecord(built)
        # Brian2 ends a run early, without an error, on the first Ctrl-C.
        done = round(float(net.t / b2.ms) / dt_ms)
        if done < n_steps:
            partial = collect_activity(
                network, plan, record, options, done, f"runtime-{target}", started
            )
            raise RunInterrupted(done, n_steps, partial)
        return collect_activity(
            network, plan, record, options, n_steps, f"runtime-{target}", started
        )
    except (SimulationError, RunInterrupted):
        raise
    except Exception as exc:
        raise SimulationError(
            f"Brian2 could not run network {network.name!r} on {target}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _run_standalone(
    network: Network,
    chip: ChipSpec,
    plan: ObjectPlan,
    options: RunOptions,
    directory: Path,
    started: float,
) -> Activity:
    """A cpp_standalone run: the binary kept for this code (:mod:`neuroemu.engine.compiled_run`)
    run again with this run's inputs, or a new build where none is kept. Brian2 is imported
    only to build."""
    key = _compiled_key(network, plan, options)
    with _locked(directory):
        layout = Layout.load(directory, key)
        inputs = None
        if layout is not None:
            with contextlib.suppress(KeyError):  # an input the kept binary does not take
                inputs = standalone_inputs(network, plan, layout.dtype, {}, chip, options)
        if layout is None or inputs is None:
            layout, resets = _compile(network, plan, chip, options, directory, key)
            if key:
                layout.save(directory)
            inputs = standalone_inputs(network, plan, layout.dtype, resets, chip, options)
        run_inputs, quantisation, creation_order = inputs
        run_args = run_inputs.write(directory)
        del run_inputs, inputs
        return_freed_memory()
        completed = run_binary(directory, layout, run_args, with_output=options.report is not None)
        record = FileRecord(directory, layout, quantisation, creation_order)
        done = min(round(completed * options.n_steps), options.n_steps)
        activity = collect_activity(network, plan, record, options, done, "cpp_standalone", started)
    if done < options.n_steps:
        raise RunInterrupted(done, options.n_steps, activity)
    return activity


def _compile(
    network: Network,
    plan: ObjectPlan,
    chip: ChipSpec,
    options: RunOptions,
    directory: Path,
    key: str,
) -> tuple[Layout, dict[str, GroupReset]]:
    """Build and compile the binary for ``plan`` in ``directory`` (Brian2's ``make`` finds the
    objects of an earlier build up to date); return its layout and the groups' resets."""
    Layout.forget(directory)  # what it describes is about to be overwritten
    b2 = import_brian2()
    collect_previous_run(b2)
    b2.set_device("cpp_standalone", build_on_run=False, directory=str(directory))
    b2.device.reinit()
    b2.device.activate(build_on_run=False, directory=str(directory))
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    # Brian2's default 'make -j' starts one compiler per file at once (hundreds for a large
    # network: tens of GB); one job per core is as fast and bounded.
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
    try:
        built = build_objects(b2, network, plan, chip, options, standalone=True)
        seed_at_start(b2.device, n_threads=1)  # OpenMP is off
        b2.device.apply_run_args()  # before the spike queues are prepared: they copy the delays
        built["net"].run(options.n_steps * options.dt_ms * b2.ms, report=options.report,
                         report_period=2 * b2.second)  # fmt: skip
        with remembered_flags():  # Brian2's compiler flag tests (compiler_flags)
            b2.device.build(directory=str(directory), compile=True, run=False, debug=False)
        command, environment = _run_command(b2)
        inputs = variable_dtypes(built)
        layout = capture_layout(b2.device, built, key, directory, command, environment, inputs)
    except (SimulationError, RunInterrupted):
        raise
    except Exception as exc:
        raise SimulationError(
            f"Brian2 could not build network {network.name!r} on cpp_standalone: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    finally:
        b2.device.reinit()  # the build's objects are not needed again: the layout names all
        b2.set_device("runtime")
    return layout, built["resets"]


def _run_command(b2: Any) -> tuple[list[str], dict[str, str]]:
    """How Brian2's ``device.run`` starts the binary: command and environment variables."""
    if os.name == "nt":
        command = ["main.exe"]
    else:
        run_cmd = b2.prefs.devices.cpp_standalone.run_cmd_unix
        command = [run_cmd] if isinstance(run_cmd, str) else list(run_cmd)
    environment = dict(b2.prefs["devices.cpp_standalone.run_environment_variables"])
    environment.update(b2.device.run_environment_variables)
    return command, {str(k): str(v) for k, v in environment.items()}


def _compiled_key(network: Network, plan: ObjectPlan, options: RunOptions) -> str:
    """What decides the code of a cpp_standalone build, values left out (they are run inputs).

    "" where a build cannot be run again with other values (its layout is never kept): an
    inference schedule compiles rest values in (:mod:`neuroemu.engine.resets`).
    """
    if network.inference is not None:
        return ""
    parts: list[str] = [repr(options.code())]
    for group in plan.groups:
        parts.append(repr((group.name, group.populations, group.offsets, group.size, group.model)))
    for syn in plan.synapses:
        parts.append(repr((syn.name, syn.source, syn.source_populations, syn.source_range,
                           syn.post_group, syn.target, syn.projections, syn.delay_steps,
                           syn.plastic)))  # fmt: skip
    for pop in network.populations:
        parts.append(repr((pop.name, sorted(pop.initial))))
    for proj in network.projections:
        parts.append(repr((proj.name, proj.pre, proj.post, proj.target, proj.plasticity)))
    for source in network.inputs:
        parts.append(repr((type(source).__name__, source.name, source.size)))
        if not isinstance(source, PoissonInput):  # spike lists are compiled in
            for values in (source.indices, source.times_ms):
                parts.append(hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _without_mapping(
    chip: Any, duration_ms: Any, legacy: tuple[Any, ...]
) -> tuple[ChipSpec, float]:
    """Arguments of the earlier ``simulate(network, mapping, chip, duration_ms)`` shifted into
    place, or a TypeError that shows the current form."""
    old_form = chip is None or isinstance(chip, Mapping)
    if old_form and isinstance(duration_ms, ChipSpec) and len(legacy) == 1:
        warnings.warn(
            "simulate(network, mapping, chip, duration_ms) is deprecated: the mapping is not "
            "used; call simulate(network, chip, duration_ms, ...)",
            DeprecationWarning,
            stacklevel=3,
        )
        return duration_ms, float(legacy[0])
    raise TypeError(
        "simulate() takes (network, chip, duration_ms) and keyword arguments (seed=, device=, "
        f"...); got a {type(chip).__name__} as chip and {len(legacy)} extra positional argument(s)"
    )
