"""The engine: runs a :class:`~neuroemu.network.network.Network` in Brian2 with the chip's numerics.

Brian2 is imported lazily, through :mod:`neuroemu.engine.brian2_import`, so ``chips`` and ``map``
start fast. Our dataclasses go in, an :class:`~neuroemu.activity.Activity` of numpy arrays comes
out; no Brian2 object or unit crosses the boundary. Every object is built explicitly (an explicit
``b2.Network``, explicit namespaces, one explicit clock, object names from population names), never
through the magic network. Which objects is decided by :mod:`neuroemu.engine.group_plan`:
populations with one neuron model share a NeuronGroup (as named subgroups) and compatible
projections share a Synapses, as a Brian2 user would write them.

Chip numerics applied here:

- the timestep is the chip's ``timing.dt_ms``;
- weights are rounded to ``core.weight_bits`` levels with one scale per projection (a shared
  weight exponent, as Loihi's synapse groups have), and the rounding error is reported;
- delays are rounded to whole timesteps, half up (chips have integer delay slots; this also makes
  the numpy, cython and C++ targets agree, since Brian2's numpy spike queue rounds half to even).

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
import functools
import gc
import hashlib
import json
import os
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuroemu.activity import Activity, ChangedCells, QuantisationReport, Spikes, in_step_order
from neuroemu.engine.brian2_import import import_brian2
from neuroemu.engine.compiled_run import Layout, capture_layout, read_array, run_binary
from neuroemu.engine.compiler_flags import remembered_flags
from neuroemu.engine.group_plan import GroupPlan, ObjectPlan, SynapsesPlan, plan_objects
from neuroemu.engine.integration_cache import cached_integrator
from neuroemu.engine.resets import RESET_EVENT, GroupReset, plan_reset, set_per_neuron
from neuroemu.engine.run_inputs import (
    Connections,
    RunInputs,
    connect_at_start,
    in_network_order,
    return_freed_memory,
    seed_at_start,
)
from neuroemu.errors import NeuroEmuError, RunInterrupted, SimulationError
from neuroemu.mapping.mapping import Mapping
from neuroemu.network.network import Input, Network, PoissonInput
from neuroemu.network.neuron_models import NeuronModel
from neuroemu.spec.chip import ChipSpec
from neuroemu.timesteps import delay_steps, whole_steps
from neuroemu.units import UNITS, brian2_unit_name, dimension_unit_name, split_unit

if TYPE_CHECKING:
    from filelock import FileLock

DEVICES = ("runtime", "cython", "numpy", "cpp")
# The dtype of a compiled binary's run input ``(owner, variable)`` (KeyError: it takes none).
DtypeOf = Callable[[str, str], np.dtype]
_CLOCK_NAME = "neuroemu_clock"


def quantise_weights(
    weights: np.ndarray, bits: int, signed: bool, name: str
) -> tuple[np.ndarray, QuantisationReport]:
    """Round weights to ``bits`` bits with one scale per projection (max |w| -> top level).

    A signed chip spends one bit on the sign, so it has ``2**(bits-1) - 1`` magnitude levels;
    an unsigned one ``2**bits - 1``.
    """
    levels = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    levels = max(levels, 1)
    peak = float(np.max(np.abs(weights))) if len(weights) else 0.0
    if peak == 0.0:
        return weights.copy(), QuantisationReport(name, bits, signed, 0.0, 0.0, 0.0, 0)
    scale = peak / levels
    rounded = np.round(weights / scale) * scale
    error = rounded - weights
    rms = float(np.sqrt(np.mean(weights**2)))
    report = QuantisationReport(
        projection=name,
        weight_bits=bits,
        signed=signed,
        scale=scale,
        max_abs_error=float(np.max(np.abs(error))),
        rms_relative_error=float(np.sqrt(np.mean(error**2)) / rms) if rms > 0 else 0.0,
        n_zeroed=int(np.count_nonzero((rounded == 0) & (weights != 0))),
    )
    return rounded, report


def _unit(b2: Any, suffix: str) -> Any:
    name = brian2_unit_name(suffix)
    return 1.0 if name == "1" else getattr(b2, name)


def _si_scale(suffix: str) -> float:
    """What Brian2 multiplies a value in unit ``suffix`` by (the unit in its base unit), bit
    for bit (``float(b2.mV) == 1e-3``; a test checks every unit); no Brian2 needed."""
    return UNITS[suffix].scale


def _namespace(b2: Any, model: NeuronModel) -> dict[str, Any]:
    namespace = {}
    for name, value in model.parameters.items():
        base, suffix = split_unit(name)
        namespace[base] = value * _unit(b2, suffix)
    return namespace


def _default_v(model: NeuronModel) -> tuple[str, float] | None:
    """Where a model's membrane potential starts when the population gives no initial value."""
    for candidate in ("v_rest", "E_l", "v_reset", "c"):
        for name, value in model.parameters.items():
            if split_unit(name)[0] == candidate and split_unit(name)[1] == "mV":
                return "v", value
    return None


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
    options = _Options(dt_ms, n_steps, record_state, state_every_ms, report, count_synapse_events,
                       record_changes, quantise, seed)  # fmt: skip
    if device == "cpp":
        directory = Path(build_dir) if build_dir is not None else standalone_dir(network)
        return _run_standalone(network, chip, plan, options, directory, started)
    b2 = import_brian2()
    target = _select_target(b2, device)
    _collect_previous_run(b2)
    b2.set_device("runtime")
    b2.prefs.codegen.target = target
    try:
        built = _build(b2, network, plan, chip, options, standalone=False)
        b2.seed(seed)
        net = built["net"]
        net.run(n_steps * dt_ms * b2.ms, report=report, report_period=2 * b2.second)
        record = _BrianRecord(b2, built)
        # Brian2 ends a run early, without an error, on the first Ctrl-C.
        done = round(float(net.t / b2.ms) / dt_ms)
        if done < n_steps:
            partial = _collect(network, plan, record, options, done, f"runtime-{target}", started)
            raise RunInterrupted(done, n_steps, partial)
        return _collect(network, plan, record, options, n_steps, f"runtime-{target}", started)
    except (SimulationError, RunInterrupted):
        raise
    except Exception as exc:
        raise SimulationError(
            f"Brian2 could not run network {network.name!r} on {target}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


@dataclass(frozen=True)
class _Options:
    """How one run is built and run, besides the network and the chip."""

    dt_ms: float
    n_steps: int
    record_state: dict[str, list[str]] | None
    state_every_ms: float | None
    report: str | None
    count_synapse_events: bool
    record_changes: bool
    quantise: bool
    seed: int

    def code(self) -> tuple[Any, ...]:
        """The options the generated code depends on (quantisation and seed are values)."""
        return (self.dt_ms, self.n_steps, self.record_state, self.state_every_ms, self.report,
                self.count_synapse_events, self.record_changes)  # fmt: skip


def _run_standalone(
    network: Network,
    chip: ChipSpec,
    plan: ObjectPlan,
    options: _Options,
    directory: Path,
    started: float,
) -> Activity:
    """A cpp_standalone run: the binary kept for this code (:mod:`neuroemu.engine.compiled_run`)
    run again with this run's inputs, or a new build where none is kept. Brian2 is imported
    only to build."""
    key = _compiled_key(network, plan, options.code()) or ""
    with _locked(directory):
        layout = Layout.load(directory, key)
        resets: dict[str, GroupReset] = {}
        inputs = None
        if layout is not None:
            try:
                inputs = _run_inputs(network, plan, layout.dtype, resets, chip, options)
            except KeyError:  # an input the kept binary does not take: build anew
                layout = None
        if layout is None or inputs is None:
            layout, resets, dtype_of = _compile(network, plan, chip, options, directory, key)
            inputs = _run_inputs(network, plan, dtype_of, resets, chip, options)
            if key:
                layout.save(directory)
        run_inputs, quantisation, creation_order = inputs
        run_args = run_inputs.write(directory)
        del run_inputs, inputs
        return_freed_memory()
        completed = run_binary(directory, layout, run_args, with_output=options.report is not None)
        record = _FileRecord(directory, layout, quantisation, creation_order)
        done = min(round(completed * options.n_steps), options.n_steps)
        activity = _collect(network, plan, record, options, done, "cpp_standalone", started)
    if done < options.n_steps:
        raise RunInterrupted(done, options.n_steps, activity)
    return activity


def _compile(
    network: Network, plan: ObjectPlan, chip: ChipSpec, options: _Options, directory: Path, key: str
) -> tuple[Layout, dict[str, GroupReset], Callable[[str, str], np.dtype]]:
    """Build and compile the binary for ``plan`` in ``directory`` (Brian2's ``make`` finds the
    objects of an earlier build up to date); return its layout, the groups' resets and the
    dtypes of its run inputs (each one asked for is added to the layout)."""
    Layout.forget(directory)  # what it describes is about to be overwritten
    b2 = import_brian2()
    _collect_previous_run(b2)
    b2.set_device("cpp_standalone", build_on_run=False, directory=str(directory))
    b2.device.reinit()
    b2.device.activate(build_on_run=False, directory=str(directory))
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    # Brian2's default 'make -j' starts one compiler per file at once (hundreds for a large
    # network: tens of GB); one job per core is as fast and bounded.
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
    try:
        built = _build(b2, network, plan, chip, options, standalone=True)
        seed_at_start(b2.device, n_threads=1)  # OpenMP is off
        b2.device.apply_run_args()  # before the spike queues are prepared: they copy the delays
        built["net"].run(options.n_steps * options.dt_ms * b2.ms, report=options.report,
                         report_period=2 * b2.second)  # fmt: skip
        with remembered_flags():  # Brian2's compiler flag tests (compiler_flags)
            b2.device.build(directory=str(directory), compile=True, run=False, debug=False)
        command, environment = _run_command(b2)
        layout = capture_layout(b2.device, built, key, directory, command, environment)
        dtypes = _variable_dtypes(built)
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

    def dtype_of(owner: str, variable: str) -> np.dtype:
        dtype = dtypes[f"{owner}.{variable}"]
        layout.inputs[f"{owner}.{variable}"] = dtype.str
        return dtype

    return layout, built["resets"], dtype_of


def _variable_dtypes(built: dict[str, Any]) -> dict[str, np.dtype]:
    """``"<owner>.<variable>"`` -> dtype of every variable of the built groups and synapses,
    by the name Brian2's run arguments use (a Synapses' delays live in its 'pre' pathway)."""
    objects = [*built["groups"].values(), *built["synapses"].values()]
    objects += [syn.pre for syn in built["synapses"].values()]
    dtypes = {}
    for obj in objects:
        for variable in obj.variables.values():
            with contextlib.suppress(AttributeError, ReferenceError):
                dtypes[f"{variable.owner.name}.{variable.name}"] = np.dtype(variable.dtype)
    return dtypes


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


def _compiled_key(network: Network, plan: ObjectPlan, options: tuple[Any, ...]) -> str | None:
    """What decides the code of a cpp_standalone build, values left out (they are run inputs).

    None where a build cannot be run again with other values: an inference schedule compiles
    rest values in (:mod:`neuroemu.engine.resets`).
    """
    if network.inference is not None:
        return None
    parts: list[str] = [repr(options)]
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


def _collect_previous_run(b2: Any) -> None:
    """Free the Brian2 objects of an earlier run in this process before building a new one.

    They form reference cycles, so they live until the cyclic garbage collector runs; while
    they live, Brian2 gives the new run's code objects other names (``..._codeobject_1``) and
    cpp_standalone recompiles everything (5 s for COBA instead of 0). A fresh process has
    nothing to collect and pays nothing.
    """
    alive = (reference() for reference in b2.Nameable.__instances__())  # weak references
    if any(getattr(obj, "name", None) == _CLOCK_NAME for obj in alive):
        gc.collect()


def _build(
    b2: Any, network: Network, plan: ObjectPlan, chip: ChipSpec, options: _Options, standalone: bool
) -> dict[str, Any]:
    """The Brian2 objects for ``plan``. On cpp_standalone values are left out: they are run
    inputs (:func:`_run_inputs`), so that the code does not depend on them."""
    dt_ms, record_changes = options.dt_ms, options.record_changes
    record_state, state_every_ms = options.record_state, options.state_every_ms
    dt = dt_ms * b2.ms
    # One explicit clock for every object: per-object clocks made Brian2 order them differently
    # in each process (cpp_standalone then recompiled main.cpp every run) and cost time per step.
    clock = b2.Clock(dt=dt, name=_CLOCK_NAME)
    groups: dict[str, Any] = {}
    slices: dict[str, Any] = {}
    objects: list[Any] = []
    change_monitors: dict[str, Any] = {}
    resets: dict[str, GroupReset] = {}
    for group_plan in plan.groups:
        group, reset = _neuron_group(b2, network, group_plan, clock, record_changes)
        groups[group_plan.name] = group
        if reset is not None:
            resets[group_plan.name] = reset
        objects.append(group)
        if record_changes:
            # one byte per neuron and step (an event record took 12 per change, and most
            # neurons change in most steps); after the flag is set (_neuron_group)
            monitor = b2.StateMonitor(
                group, _CHANGED, record=True, clock=clock, when="after_groups", order=1,
                name=f"{group_plan.name}_changed",
            )  # fmt: skip
            change_monitors[group_plan.name] = monitor
            objects.append(monitor)
        for pop_name, offset in group_plan.offsets.items():
            pop = network.population(pop_name)
            whole = len(group_plan.populations) == 1
            part = group if whole else b2.Subgroup(group, offset, offset + pop.size, name=pop_name)
            slices[pop_name] = part
            if not standalone:
                _set_initial(b2, part, group_plan.initial(network, pop_name), group_plan.model)
        if reset is not None and not standalone:
            set_per_neuron(reset, slices)
    for source in network.inputs:
        group = _input_group(b2, source, clock, dt_ms, standalone)
        groups[source.name] = group
        slices[source.name] = group
        objects.append(group)
    monitors: dict[str, Any] = {}
    for name, group in groups.items():
        monitor = b2.SpikeMonitor(group, name=f"{name}_spikes")
        monitors[name] = monitor
        objects.append(monitor)
    synapses: dict[str, Any] = {}
    quantisation = {}
    for syn_plan in plan.synapses:
        syn, reports = _synapses(
            b2, network, plan, syn_plan, groups, chip, clock, options, standalone
        )
        synapses[syn_plan.name] = syn
        quantisation.update(reports)
        objects.append(syn)
    state_monitors = {}
    for pop_name, variables in (record_state or {}).items():
        every = dt if state_every_ms is None else state_every_ms * b2.ms
        monitor = b2.StateMonitor(
            slices[pop_name], variables, record=True, dt=every, name=f"{pop_name}_state"
        )
        state_monitors[pop_name] = monitor
        objects.append(monitor)
    net = b2.Network(*objects, name=f"neuroemu_{network.name}"[:60].replace("-", "_"))
    return {
        "net": net,
        "plan": plan,
        "monitors": monitors,
        "synapses": synapses,
        "quantisation": quantisation,
        "state_monitors": state_monitors,
        "count_synapse_events": options.count_synapse_events,
        "change_monitors": change_monitors,
        "groups": groups,
        "resets": resets,
    }


def _neuron_group(
    b2: Any, network: Network, group_plan: GroupPlan, clock: Any, record_changes: bool
) -> tuple[Any, GroupReset | None]:
    model = group_plan.model
    namespace = _namespace(b2, model)
    refractory: Any = False
    if model.refractory == "refractory":
        refractory = namespace["refractory"]
    elif model.refractory:
        refractory = model.refractory
    equations = model.equations
    events = None
    changed = None
    if record_changes:
        equations, changed = _change_record(b2, model, namespace)
    # Inference resets (none without a schedule: the group is then built exactly as before)
    reset = plan_reset(b2, network, group_plan, equations, refractory is not False)
    if reset is not None:
        equations = "\n".join([equations, *reset.declarations])
        events = {**(events or {}), RESET_EVENT: reset.condition}
        namespace.update(reset.namespace)
    group = b2.NeuronGroup(
        group_plan.size,
        equations,
        threshold=model.threshold,
        reset=model.reset,
        refractory=refractory,
        method=cached_integrator(b2, model.method),
        namespace=namespace,
        clock=clock,
        name=group_plan.name,
        events=events,
    )
    if changed is not None:
        # v at the step's start; the check after the state update; the input flag cleared
        # after the check (synapses set it later in the step, for the next step's check)
        group.run_regularly("neuroemu_v_before = v", when="start", order=0)
        group.run_regularly(
            f"{_CHANGED} = {changed}\nneuroemu_got_input = 0", when="after_groups", order=0
        )
    if reset is not None:
        # first thing in a step: before the change record (order 0) and the state update
        group.set_event_schedule(RESET_EVENT, when="start", order=-2)
        group.run_on_event(RESET_EVENT, reset.code, when="start", order=-1)
    return group, reset


_CHANGED = "neuroemu_changed"


def _change_record(b2: Any, model: NeuronModel, namespace: dict[str, Any]) -> tuple[str, str]:
    """Equations and condition that mark a neuron whose state changed in a step, in SANA-FE's
    sense (the condition sets the flag ``neuroemu_changed``, recorded every step).

    SANA-FE updates a neuron (and charges the update) when its potential is non-zero, it
    received input, or it has a bias. Here: ``v`` away from rest at the step's start (rest is
    the model's ``v_rest``, ``E_l``, ``v_reset`` or ``c``, else 0), an input delivered since the
    last check (a flag the synapses set), a non-zero bias (a variable or parameter named
    ``bias``, ``v_bias`` or ``I_bias``), or the state update moving ``v`` (a leak, a synaptic
    current). Spikes are added by the accounting.
    """
    unit_suffix = model.state_units.get("v")
    if unit_suffix is None:
        raise SimulationError(
            f"neuron model {model.name!r} has no membrane potential 'v', so the engine cannot "
            f"record which neurons changed state (the chip charges neuron_changed)"
        )
    rest = _default_v(model)
    namespace["neuroemu_v_rest"] = (rest[1] if rest else 0.0) * _unit(b2, unit_suffix)
    equations = (
        f"{model.equations}\nneuroemu_got_input : 1\n"
        f"neuroemu_v_before : {dimension_unit_name(unit_suffix)}\n{_CHANGED} : boolean"
    )
    condition = (
        "neuroemu_got_input > 0 or neuroemu_v_before != neuroemu_v_rest or v != neuroemu_v_before"
    )
    for name in _BIASES:  # a bias counts even while refractoriness holds v still
        if name in model.state_units or name in namespace:
            condition += f" or {name} != 0 * {name}"  # zero in the bias's own unit
    return equations, condition


# Names of a bias (a state variable or parameter) that make a neuron change state every step.
_BIASES = ("bias", "v_bias", "I_bias")


def _set_initial(b2: Any, part: Any, initial: dict[str, Any], model: NeuronModel) -> None:
    for name, value in _initial_values(initial, model, functools.partial(_unit, b2)).items():
        setattr(part, name, value)


def _initial_values(
    initial: dict[str, Any], model: NeuronModel, unit: Callable[[str], Any] = _si_scale
) -> dict[str, Any]:
    """A population's initial values by Brian2 variable (``v`` at the model's resting value
    where none is given), times ``unit(suffix)``: Brian2's units (quantities) or, by default,
    the SI factors Brian2 multiplies by (numbers in Brian2's base units)."""
    values = dict(initial)
    default = _default_v(model)
    if default is not None and not any(split_unit(k)[0] == "v" for k in values):
        values["v_mV"] = default[1]
    quantities = {}
    for name, value in values.items():
        base, suffix = split_unit(name)
        quantities[base] = np.asarray(value, dtype=float) * unit(suffix)
    return quantities


def _group_values(
    network: Network, group_plan: GroupPlan, dtype_of: DtypeOf, reset: GroupReset | None
) -> dict[str, np.ndarray]:
    """Per-neuron values of one NeuronGroup, whole: its populations' initial values and the
    per-neuron values of its reset. Neurons that no population sets keep Brian2's initial 0, as
    on the other targets."""
    full: dict[str, np.ndarray] = {}
    settings = []
    for pop_name, offset in group_plan.offsets.items():
        pop = network.population(pop_name)
        initial = group_plan.initial(network, pop_name)
        for var, value in _initial_values(initial, group_plan.model).items():
            settings.append((var, offset, pop.size, value))
    for var, by_population in (reset.per_neuron if reset else {}).items():
        for pop_name, value in by_population.items():
            size = network.population(pop_name).size
            settings.append((var, group_plan.offsets[pop_name], size, value))
    for var, offset, size, value in settings:
        if var not in full:
            full[var] = np.zeros(group_plan.size, dtype=dtype_of(group_plan.name, var))
        full[var][offset : offset + size] = np.asarray(value)
    return full


def _run_inputs(
    network: Network,
    plan: ObjectPlan,
    dtype_of: DtypeOf,
    resets: dict[str, GroupReset],
    chip: ChipSpec,
    options: _Options,
) -> tuple[RunInputs, dict[str, QuantisationReport], dict[str, np.ndarray | None]]:
    """What a cpp_standalone run reads at start (:mod:`neuroemu.engine.run_inputs`): the
    network's values, the same numbers the other targets set from Python, in Brian2's base
    units; ``dtype_of`` names the binary's variables. Also each projection's weight
    quantisation and each Synapses' creation order (:class:`Connections`), for
    :func:`_collect`. Needs no Brian2."""
    dt_ms = options.dt_ms
    inputs = RunInputs(seed=options.seed)
    quantisation: dict[str, QuantisationReport] = {}
    for group_plan in plan.groups:
        reset = resets.get(group_plan.name)
        for var, values in _group_values(network, group_plan, dtype_of, reset).items():
            inputs.set_value(group_plan.name, var, dtype_of(group_plan.name, var), values)
    for source in network.inputs:
        if isinstance(source, PoissonInput):
            rates = np.asarray(source.rate_hz, dtype=float) * _si_scale("Hz")
            inputs.set_value(source.name, "rates", dtype_of(source.name, "rates"),
                             np.broadcast_to(rates, (source.size,)))  # fmt: skip
    for syn_plan in plan.synapses:
        i, j = _pairs(network, plan, syn_plan)
        table = Connections.from_pairs(syn_plan.name, i, j, _source_size(network, plan, syn_plan))
        del i, j
        inputs.connections[syn_plan.name] = table
        weights, steps, reports = _synapse_values(network, syn_plan, chip, dt_ms, options.quantise)
        quantisation.update(reports)
        post_model = plan.group(syn_plan.post_group).model
        unit = _si_scale(post_model.targets[syn_plan.target].weight_unit)
        inputs.set_value(syn_plan.name, "w", dtype_of(syn_plan.name, "w"),
                         table.in_creation_order(weights * unit))  # fmt: skip
        del weights
        if steps is not None:
            delays = steps * dt_ms * _si_scale("ms")  # the 'pre' pathway's, held by the Synapses
            inputs.set_value(syn_plan.name, "delay", dtype_of(syn_plan.name, "delay"),
                             table.in_creation_order(delays))  # fmt: skip
    # only the orders: the tables (4 bytes per synapse) are not needed once written
    order = {name: table.order for name, table in inputs.connections.items()}
    return inputs, quantisation, order


def _source_size(network: Network, plan: ObjectPlan, syn_plan: SynapsesPlan) -> int:
    """Neurons in the object a Synapses reads spikes from (:func:`_source_slice`)."""
    if syn_plan.source_range is not None:
        return syn_plan.source_range[1] - syn_plan.source_range[0]
    if network.is_input(syn_plan.source):
        return next(s.size for s in network.inputs if s.name == syn_plan.source)
    return plan.group(syn_plan.source).size


def _input_group(b2: Any, source: Input, clock: Any, dt_ms: float, standalone: bool) -> Any:
    if isinstance(source, PoissonInput):
        # on cpp_standalone the rates are a run input (_run_inputs)
        rates = 0 * b2.Hz if standalone else np.asarray(source.rate_hz) * b2.Hz
        return b2.PoissonGroup(source.size, rates=rates, clock=clock, name=source.name)
    steps = delay_steps(source.times_ms, dt_ms)
    pairs = steps * source.size + source.indices
    if len(np.unique(pairs)) != len(pairs):
        raise SimulationError(
            f"input {source.name!r}: some source fires twice within one {dt_ms} ms step; "
            f"a chip delivers at most one spike per source and step"
        )
    return b2.SpikeGeneratorGroup(
        source.size, source.indices, steps * dt_ms * b2.ms, clock=clock, name=source.name
    )


def _synapses(
    b2: Any,
    network: Network,
    plan: ObjectPlan,
    syn_plan: SynapsesPlan,
    groups: dict[str, Any],
    chip: ChipSpec,
    clock: Any,
    options: _Options,
    standalone: bool,
) -> tuple[Any, dict[str, QuantisationReport]]:
    dt_ms = options.dt_ms
    projections = [network.projection(name) for name in syn_plan.projections]
    post_group = plan.group(syn_plan.post_group)
    target = post_group.model.targets[syn_plan.target]
    weight_unit = _unit(b2, target.weight_unit)
    declared = dimension_unit_name(target.weight_unit)
    model = [f"w : {declared}"]
    on_pre = [target.on_pre]
    on_post: list[str] = []
    namespace: dict[str, Any] = {}
    if syn_plan.plastic:
        rule = projections[0].plasticity
        assert rule is not None  # the plan marks only projections with a rule as plastic
        model += [
            "dapre/dt = -apre / tau_pre : 1 (event-driven)",
            "dapost/dt = -apost / tau_post : 1 (event-driven)",
        ]
        on_pre += ["apre += 1", "w = clip(w - a_minus * w_max * apost, 0 * w_max, w_max)"]
        on_post += ["apost += 1", "w = clip(w + a_plus * w_max * apre, 0 * w_max, w_max)"]
        namespace.update(
            tau_pre=rule.tau_pre_ms * b2.ms,
            tau_post=rule.tau_post_ms * b2.ms,
            a_plus=rule.a_plus,
            a_minus=rule.a_minus,
            w_max=rule.w_max * weight_unit,
        )
    if options.record_changes:
        on_pre.append("neuroemu_got_input_post += 1")
    if options.count_synapse_events:
        model += ["n_delivered : integer", "n_post_events : integer"]
        on_pre.append("n_delivered += 1")
        if syn_plan.plastic:
            on_post.append("n_post_events += 1")
    kwargs: dict[str, Any] = {
        "on_pre": "\n".join(on_pre),
        "namespace": namespace,
        "clock": clock,
        "name": syn_plan.name,
    }
    if on_post:
        kwargs["on_post"] = "\n".join(on_post)
    if syn_plan.delay_steps is not None:
        kwargs["delay"] = float(syn_plan.delay_steps) * dt_ms * b2.ms
    source, _ = _source_slice(b2, syn_plan, groups)
    post = groups[syn_plan.post_group]
    syn = b2.Synapses(source, post, model="\n".join(model), **kwargs)
    if standalone:  # connectivity and values are run inputs (_run_inputs)
        connect_at_start(b2, syn)
        return syn, {}
    i, j = _pairs(network, plan, syn_plan)
    syn.connect(i=i, j=j)
    del i, j
    weights, steps, reports = _synapse_values(network, syn_plan, chip, dt_ms, options.quantise)
    syn.w = weights * weight_unit
    del weights
    if steps is not None:
        syn.delay = steps * dt_ms * b2.ms
    return syn, reports


def _pairs(network: Network, plan: ObjectPlan, syn_plan: SynapsesPlan) -> tuple[Any, Any]:
    """Sources (in the Synapses' source slice) and targets (in the post group) of its synapses."""
    projections = [network.projection(name) for name in syn_plan.projections]
    source_offset = syn_plan.source_range[0] if syn_plan.source_range else 0
    post_group = plan.group(syn_plan.post_group)
    i = _concatenated([_shifted(p.i, plan.offset_of(p.pre) - source_offset) for p in projections])
    j = _concatenated([_shifted(p.j, post_group.offsets[p.post]) for p in projections])
    return i, j


def _synapse_values(
    network: Network, syn_plan: SynapsesPlan, chip: ChipSpec, dt_ms: float, quantise: bool
) -> tuple[np.ndarray, np.ndarray | None, dict[str, QuantisationReport]]:
    """Weights (quantised per projection), delays in steps (None: one delay for all, compiled
    in) and quantisation reports of a Synapses' synapses, in the network's order."""
    reports = {}
    weights = []
    for name in syn_plan.projections:
        proj = network.projection(name)
        w = np.asarray(proj.weight, dtype=float)
        if quantise:
            w, reports[proj.name] = quantise_weights(
                w, chip.core.weight_bits.require(), chip.core.weight_signed, proj.name
            )
        weights.append(w)
    steps = None
    if syn_plan.delay_steps is None:
        steps = _concatenated(
            [delay_steps(network.projection(p).delays_ms(), dt_ms) for p in syn_plan.projections]
        )
    return _concatenated(weights), steps, reports


def _shifted(indices: np.ndarray, shift: int) -> np.ndarray:
    return indices if shift == 0 else indices + shift


def _source_slice(b2: Any, syn_plan: SynapsesPlan, groups: dict[str, Any]) -> tuple[Any, int]:
    """The Brian2 object the Synapses reads spikes from, and its first neuron in the group.

    The slice spanned by the sending populations, as a Brian2 user would write ``P[:3200]``:
    spikes of the group's other neurons then never reach this Synapses' spike queue.
    """
    group = groups[syn_plan.source]
    if syn_plan.source_range is None:
        return group, 0
    start, stop = syn_plan.source_range
    return b2.Subgroup(group, start, stop, name=f"{syn_plan.name}_source"), start


def _concatenated(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _read_synapses(
    record: _BrianRecord | _FileRecord,
    syn_name: str,
    order: np.ndarray | None,
    part: slice,
    var: str,
) -> np.ndarray:
    """One projection's part (``part``) of a Synapses' values of ``var``, in the network's
    order (``order`` as :attr:`Connections.order`)."""
    return in_network_order(np.asarray(record.synapse_values(syn_name, var)), order)[part]


class _BrianRecord:
    """What a runtime run recorded, read from its Brian2 objects (``built``)."""

    def __init__(self, b2: Any, built: dict[str, Any]) -> None:
        self.built = built
        self.quantisation: dict[str, QuantisationReport] = built["quantisation"]
        self.creation_order: dict[str, np.ndarray | None] = {}  # connect(i=, j=) keeps order
        self.spike_groups = list(built["monitors"])
        self.change_groups = list(built["change_monitors"])
        self.state_variables = {
            pop: list(monitor.record_variables) for pop, monitor in built["state_monitors"].items()
        }

    def spikes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        monitor = self.built["monitors"][name]
        return np.asarray(monitor.i[:]), np.asarray(monitor.t_[:])

    def changed(self, name: str) -> np.ndarray:
        return np.asarray(self.built["change_monitors"][name].variables[_CHANGED].get_value())

    def state(self, pop_name: str, var: str) -> np.ndarray:
        return np.asarray(getattr(self.built["state_monitors"][pop_name], var + "_")[:]).T

    def synapse_values(self, syn_name: str, var: str) -> np.ndarray:
        syn = self.built["synapses"][syn_name]
        return np.asarray(syn.w_[:] if var == "w" else getattr(syn, var)[:])


class _FileRecord:
    """What a cpp_standalone run recorded, read from the files its binary wrote."""

    def __init__(
        self,
        directory: Path,
        layout: Layout,
        quantisation: dict[str, QuantisationReport],
        creation_order: dict[str, np.ndarray | None],
    ) -> None:
        self.directory, self.layout = directory, layout
        self.quantisation, self.creation_order = quantisation, creation_order
        self.spike_groups = list(layout.spikes)
        self.change_groups = list(layout.changed)
        self.state_variables = {pop: list(by_var) for pop, by_var in layout.state.items()}

    def spikes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        i, t = self.layout.spikes[name]
        return read_array(self.directory, i), read_array(self.directory, t)

    def changed(self, name: str) -> np.ndarray:
        return read_array(self.directory, self.layout.changed[name])

    def state(self, pop_name: str, var: str) -> np.ndarray:
        return read_array(self.directory, self.layout.state[pop_name][var])

    def synapse_values(self, syn_name: str, var: str) -> np.ndarray:
        # Brian2's i and j of a synapse are its _synaptic_pre and _synaptic_post
        stored = {"i": "_synaptic_pre", "j": "_synaptic_post"}.get(var, var)
        return read_array(self.directory, self.layout.synapses[syn_name][stored])


def _collect(
    network: Network,
    plan: ObjectPlan,
    record: _BrianRecord | _FileRecord,
    options: _Options,
    n_steps: int,
    label: str,
    started: float,
) -> Activity:
    """The run's :class:`Activity`, from what ``record`` holds: the same lines for every
    target, whether Brian2's objects or the binary's files hold it."""
    dt_ms = options.dt_ms
    every = 1 if options.state_every_ms is None else max(1, round(options.state_every_ms / dt_ms))
    spikes = {}
    for name in record.spike_groups:
        raw_neurons, times = record.spikes(name)
        steps = np.round(np.asarray(times, dtype=float) / (dt_ms * 1e-3)).astype(np.int32)
        neurons, steps = in_step_order(np.asarray(raw_neurons, dtype=np.int32), steps)
        if network.is_input(name):
            spikes[name] = Spikes(neurons, steps)
            continue
        group_plan = plan.group(name)
        for pop_name, offset in group_plan.offsets.items():
            size = network.population(pop_name).size
            mine = (neurons >= offset) & (neurons < offset + size)
            spikes[pop_name] = Spikes(neurons[mine] - np.int32(offset), steps[mine])
    names = [*network.population_names, *(source.name for source in network.inputs)]
    spikes = {name: spikes[name] for name in names}
    changed: dict[str, ChangedCells | Spikes] = {}
    for name in record.change_groups:
        flags = record.changed(name)  # (step, neuron)
        for pop_name, offset in plan.group(name).offsets.items():
            size = network.population(pop_name).size
            changed[pop_name] = ChangedCells(flags[:, offset : offset + size])
    state: dict[str, dict[str, np.ndarray]] = {}
    state_neurons = {}
    for pop_name, recorded in record.state_variables.items():
        pop = network.population(pop_name)
        variables = {}
        for var, unit_suffix in pop.neuron_model.state_units.items():
            if var in recorded:
                values = record.state(pop_name, var)
                variables[f"{var}_{unit_suffix}"] = values / _si_scale(unit_suffix)
        state[pop_name] = variables
        state_neurons[pop_name] = np.arange(pop.size)
    final_weights = {}
    counters: dict[str, dict[str, np.ndarray]] = {}
    for proj in network.projections:
        syn_plan = plan.synapses_of(proj.name)
        part = syn_plan.slice_of(proj.name)
        post_model = network.population(proj.post).neuron_model
        unit = _si_scale(post_model.targets[proj.target].weight_unit)
        read = functools.partial(
            _read_synapses, record, syn_plan.name, record.creation_order.get(syn_plan.name), part
        )

        if proj.plasticity is not None:
            final_weights[proj.name] = read("w") / unit
        if options.count_synapse_events:
            source_start = syn_plan.source_range[0] if syn_plan.source_range else 0
            i_shift = plan.offset_of(proj.pre) - source_start
            j_shift = plan.group(syn_plan.post_group).offsets[proj.post]
            counters[proj.name] = {
                "i": read("i") - i_shift,
                "j": read("j") - j_shift,
                "n_delivered": read("n_delivered"),
                "n_post_events": read("n_post_events"),
            }
    return Activity(
        dt_ms=dt_ms,
        n_steps=n_steps,
        spikes=spikes,
        seed=options.seed,
        device=label,
        state=state,
        state_neurons=state_neurons,
        state_every_steps=every,
        final_weights=final_weights,
        quantisation=record.quantisation,
        wall_time_s=time.perf_counter() - started,
        synapse_counters=counters,
        changed=changed,
    )
