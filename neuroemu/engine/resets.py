"""Inference resets in Brian2: a network's :class:`~neuroemu.network.inference.InferenceSchedule`
applied to the NeuronGroups the engine builds.

A reset population returns to rest at the start of every step ``t > 0`` with ``t >= offset``
and ``(t - offset) % steps == 0``: every state variable that is not constant goes back to the
population's initial value (``Population.initial``; ``v`` at the model's resting parameter where
none is given; every other variable, synaptic currents and conductances included, at 0),
refractoriness ends (``lastspike`` and ``not_refractory`` as Brian2 initialises them), and the
engine's own change-recording flags are cleared. Constant per-neuron parameters never change, so
they need no reset.

How: each group with a reset population gets one custom Brian2 event whose condition is the
schedule (checked at the very start of a step, before the change record and the state update),
and a ``run_on_event`` that assigns the rest values; both are plain Brian2 code, so numpy,
cython and cpp_standalone run them alike. Values that differ from neuron to neuron (an initial
``v`` drawn at random, or populations of one group resting at different values) are kept in
constant per-neuron variables of the group; a schedule that differs between the populations of
one group reads each neuron's offset from one too. A network without resets builds none of
this, so its run is unchanged, bit for bit.

Spikes in flight are not dropped: a reset clears neuron state, not the synapses' delay queues,
as a chip's neuron reset leaves its delay buffers alone. A spike emitted in one of the last
``d`` steps of an inference through a delay of ``d >= 1`` steps (``delay_ms >= dt_ms``) is
delivered after the reset, into the next inference. With delay 0 (delivery in the emitting
step, felt by the target in the next step: one step per layer) nothing crosses a reset; and a
population whose offset is at least the delay of the projections into it is reset after such
late spikes have arrived, which is what lava-dl's staggered offsets are for.

Synapse-side state (STDP traces, plastic weights) is not reset: a stream of inferences runs
with fixed weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuroemu.engine.group_plan import GroupPlan
from neuroemu.network.inference import InferenceSchedule
from neuroemu.network.network import Network, Population
from neuroemu.network.neuron_models import NeuronModel
from neuroemu.units import brian2_unit_name, split_unit

RESET_EVENT = "neuroemu_reset"
_OFFSET = "neuroemu_reset_offset"
_NEVER = "neuroemu_never_spiked"
# Brian2 starts lastspike here (NeuronGroup.__init__), so that no neuron starts refractory.
_LASTSPIKE_S = -1e4


@dataclass
class GroupReset:
    """What one NeuronGroup needs for its populations' resets (built before the group).

    Attributes
    ----------
    condition : str
        The custom event's condition (the schedule, per neuron where it differs).
    code : str
        The statements run on the event.
    declarations : list of str
        Constant per-neuron variables added to the group's equations.
    namespace : dict
        Rest values shared by every reset neuron of the group (Brian2 quantities).
    per_neuron : dict
        Variable name -> population -> value (scalar or array), set on each population's slice
        after the group is built.
    """

    condition: str
    code: str
    declarations: list[str] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)
    per_neuron: dict[str, dict[str, Any]] = field(default_factory=dict)


def plan_reset(
    b2: Any, network: Network, group_plan: GroupPlan, equations: str, refractory: bool
) -> GroupReset | None:
    """The reset of ``group_plan``'s populations under ``network.inference``, or None.

    ``equations`` are the group's final equations (the change-record flags included), since
    every non-constant variable they declare is reset.
    """
    schedule = network.inference
    if schedule is None:
        return None
    members = list(group_plan.populations)
    reset = schedule.reset_populations(members)
    if not reset:
        return None
    pops = [network.population(name) for name in reset]
    reset_plan = GroupReset(condition=_condition(schedule, members, reset), code="")
    if _OFFSET in reset_plan.condition:
        reset_plan.declarations.append(f"{_OFFSET} : integer (constant)")
        reset_plan.per_neuron[_OFFSET] = {
            name: schedule.offsets.get(name, 0) if name in reset else -1 for name in members
        }
    statements = []
    parsed = b2.Equations(equations)
    for var in parsed.names:
        eq = parsed[var]
        if eq.type == "subexpression" or "constant" in eq.flags:
            continue
        values = {pop.name: _rest_value(b2, pop, group_plan.model, var) for pop in pops}
        statements.append(_assignment(b2, reset_plan, var, eq, values))
    if refractory:
        reset_plan.namespace[_NEVER] = _LASTSPIKE_S * b2.second
        statements += [f"lastspike = {_NEVER}", "not_refractory = True"]
    reset_plan.code = "\n".join(statements)
    return reset_plan


def _condition(schedule: InferenceSchedule, members: list[str], reset: list[str]) -> str:
    offsets = {schedule.offsets.get(name, 0) for name in reset}
    step = "t_in_timesteps"
    if len(offsets) == 1 and len(reset) == len(members):
        (offset,) = offsets
        due = f"({step} - {offset}) % {schedule.steps} == 0"
        return f"{step} > 0 and {step} >= {offset} and {due}"
    due = f"({step} - {_OFFSET}) % {schedule.steps} == 0"
    return f"{_OFFSET} >= 0 and {step} > 0 and {step} >= {_OFFSET} and {due}"


def _rest_value(b2: Any, pop: Population, model: NeuronModel, var: str) -> float | np.ndarray:
    """A population's initial value of ``var`` as an SI magnitude, computed as the engine sets
    initial values (so that a reset neuron is where a fresh one starts, bit for bit); the
    model's resting potential for ``v`` where none is given; else 0 (Brian2's own start)."""
    for key, value in pop.initial.items():
        base, suffix = split_unit(key)
        if base == var:
            return _si(b2, value, suffix)
    if var == "v":
        for candidate in ("v_rest", "E_l", "v_reset", "c"):
            for name, value in model.parameters.items():
                if split_unit(name) == (candidate, "mV"):
                    return _si(b2, value, "mV")
    return 0.0


def _si(b2: Any, value: float | np.ndarray, suffix: str) -> float | np.ndarray:
    name = brian2_unit_name(suffix)
    quantity = np.asarray(value, dtype=float) * (1.0 if name == "1" else getattr(b2, name))
    magnitude = np.asarray(quantity, dtype=float)
    return magnitude if magnitude.ndim else float(magnitude)


def _assignment(
    b2: Any, plan: GroupReset, var: str, eq: Any, values: dict[str, float | np.ndarray]
) -> str:
    """The statement that puts ``var`` back at rest, registering what it reads in ``plan``."""
    name = f"neuroemu_rest_{var}"
    kind = eq.var_type
    scalars = {float(v) for v in values.values() if np.ndim(v) == 0}
    if len(scalars) == 1 and all(np.ndim(v) == 0 for v in values.values()):
        (value,) = scalars
        if kind == "boolean":
            plan.namespace[name] = bool(value)
        elif kind == "integer":
            plan.namespace[name] = int(value)
        else:
            plan.namespace[name] = b2.Quantity(value, dim=eq.dim)
        return f"{var} = {name}"
    plan.per_neuron[name] = dict(values)
    if kind in ("boolean", "integer"):
        plan.declarations.append(f"{name} : {kind} (constant)")
        return f"{var} = {name}"
    # Floats are kept as SI magnitudes and multiplied by the unit (exact: by 1.0), so that the
    # code names no unit.
    unit_name = f"neuroemu_unit_{var}"
    plan.declarations.append(f"{name} : 1 (constant)")
    plan.namespace[unit_name] = b2.Quantity(1.0, dim=eq.dim)
    return f"{var} = {name} * {unit_name}"


def set_per_neuron(plan: GroupReset, slices: dict[str, Any]) -> None:
    """Fill the group's per-neuron reset variables, population by population."""
    for var, by_population in plan.per_neuron.items():
        for pop_name, value in by_population.items():
            setattr(slices[pop_name], var, value)
