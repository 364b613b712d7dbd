"""The Brian2 objects of a run: one NeuronGroup, Synapses and monitor per entry of the plan.

Every object is built explicitly (an explicit ``b2.Network``, explicit namespaces, one explicit
clock, object names from population names), never through the magic network. Which objects is
decided by :mod:`neuroemu.engine.group_plan`. On cpp_standalone values are left out: the binary
reads them when it starts (:func:`~neuroemu.engine.run_values.standalone_inputs`), so the code
depends on the network's structure only. Brian2 is handed in (``b2``), never imported here.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from typing import Any

import numpy as np

from neuroemu.activity import QuantisationReport
from neuroemu.engine.group_plan import GroupPlan, ObjectPlan, SynapsesPlan
from neuroemu.engine.integration_cache import cached_integrator
from neuroemu.engine.resets import RESET_EVENT, GroupReset, plan_reset, set_per_neuron
from neuroemu.engine.run_inputs import connect_at_start
from neuroemu.engine.run_values import (
    RunOptions,
    default_v,
    initial_values,
    synapse_pairs,
    synapse_values,
)
from neuroemu.errors import SimulationError
from neuroemu.network.network import Input, Network, PoissonInput
from neuroemu.network.neuron_models import NeuronModel
from neuroemu.spec.chip import ChipSpec
from neuroemu.timesteps import delay_steps
from neuroemu.units import brian2_unit_name, dimension_unit_name, split_unit

_CLOCK_NAME = "neuroemu_clock"


def _unit(b2: Any, suffix: str) -> Any:
    name = brian2_unit_name(suffix)
    return 1.0 if name == "1" else getattr(b2, name)


def _namespace(b2: Any, model: NeuronModel) -> dict[str, Any]:
    namespace = {}
    for name, value in model.parameters.items():
        base, suffix = split_unit(name)
        namespace[base] = value * _unit(b2, suffix)
    return namespace


def variable_dtypes(built: dict[str, Any]) -> dict[str, np.dtype]:
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


def collect_previous_run(b2: Any) -> None:
    """Free the Brian2 objects of an earlier run in this process before building a new one.

    They form reference cycles, so they live until the cyclic garbage collector runs; while
    they live, Brian2 gives the new run's code objects other names (``..._codeobject_1``) and
    cpp_standalone recompiles everything (5 s for COBA instead of 0). A fresh process has
    nothing to collect and pays nothing.
    """
    alive = (reference() for reference in b2.Nameable.__instances__())  # weak references
    if any(getattr(obj, "name", None) == _CLOCK_NAME for obj in alive):
        gc.collect()


def build_objects(
    b2: Any,
    network: Network,
    plan: ObjectPlan,
    chip: ChipSpec,
    options: RunOptions,
    standalone: bool,
) -> dict[str, Any]:
    """The Brian2 objects for ``plan``. On cpp_standalone values are left out: they are run
    inputs (:func:`standalone_inputs`), so that the code does not depend on them."""
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
                group, CHANGED_FLAG, record=True, clock=clock, when="after_groups", order=1,
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
            f"{CHANGED_FLAG} = {changed}\nneuroemu_got_input = 0", when="after_groups", order=0
        )
    if reset is not None:
        # first thing in a step: before the change record (order 0) and the state update
        group.set_event_schedule(RESET_EVENT, when="start", order=-2)
        group.run_on_event(RESET_EVENT, reset.code, when="start", order=-1)
    return group, reset


CHANGED_FLAG = "neuroemu_changed"


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
    rest = default_v(model)
    namespace["neuroemu_v_rest"] = (rest[1] if rest else 0.0) * _unit(b2, unit_suffix)
    equations = (
        f"{model.equations}\nneuroemu_got_input : 1\n"
        f"neuroemu_v_before : {dimension_unit_name(unit_suffix)}\n{CHANGED_FLAG} : boolean"
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
    for name, value in initial_values(initial, model, functools.partial(_unit, b2)).items():
        setattr(part, name, value)


def _input_group(b2: Any, source: Input, clock: Any, dt_ms: float, standalone: bool) -> Any:
    if isinstance(source, PoissonInput):
        # on cpp_standalone the rates are a run input (standalone_inputs)
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
    options: RunOptions,
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
    if standalone:  # connectivity and values are run inputs (standalone_inputs)
        connect_at_start(b2, syn)
        return syn, {}
    i, j = synapse_pairs(network, plan, syn_plan)
    syn.connect(i=i, j=j)
    del i, j
    weights, steps, reports = synapse_values(network, syn_plan, chip, dt_ms, options.quantise)
    syn.w = weights * weight_unit
    del weights
    if steps is not None:
        syn.delay = steps * dt_ms * b2.ms
    return syn, reports


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
