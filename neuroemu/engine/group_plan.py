"""Which Brian2 objects the engine builds for a network: merged groups and merged synapses.

Brian2's time per step grows with the number of objects it runs (each NeuronGroup, Synapses and
monitor is a code object called every step, and each Synapses has its own spike queue). A user
writing the COBA benchmark by hand makes one NeuronGroup with an excitatory and an inhibitory
subgroup and two Synapses; one object per population and per projection doubles that and cost
70 % more time per step on the cython target. So the engine builds what a Brian2 user would:

- populations whose neuron models are identical (same equations, threshold, reset,
  refractoriness, method, parameters and synaptic targets) share one NeuronGroup, each
  population being a contiguous slice (a Brian2 subgroup) of it;
- so do populations whose models differ only in the value of a threshold, a parameter that
  the threshold condition compares a state variable with and that nothing else reads
  (``v > v_th``, the layers of a converted network): the group holds it per neuron, as a
  constant state variable (:meth:`~neuroemu.network.neuron_models.NeuronModel.per_neuron`),
  each population's slice set to its value. A comparison with the same double gives the same
  outcome, so the spikes are those of one group per population; populations with equal
  values keep the parameter as before;
- non-plastic projections from the same source group onto the same target group, with the same
  synaptic target and the same delay mode (one homogeneous delay, or per-synapse delays), share
  one Synapses object: their synapses are concatenated in projection order, weights quantised
  per projection first, so every projection keeps its own weight scale;
- a plastic projection keeps a Synapses of its own (its learning traces and final weights belong
  to it alone).

The result of the simulation does not change: spikes, counts and energy are the same, bit for
bit, as with one object per population (a test checks this). This module only plans; it does not
import Brian2, so the plan can be tested without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from neuroemu.network.network import Network, Projection
from neuroemu.network.neuron_models import NeuronModel, state_name
from neuroemu.timesteps import delay_steps
from neuroemu.units import split_unit

_MAX_NAME = 40


@dataclass(frozen=True)
class GroupPlan:
    """One Brian2 NeuronGroup holding one or more populations as contiguous slices.

    Attributes
    ----------
    name : str
        Brian2 object name: the population's name, or the members' names joined by ``_``.
    populations : tuple of str
        Member populations, in network order.
    offsets : dict
        Population -> index of its first neuron inside the group.
    size : int
        Neurons in the group.
    model : NeuronModel
        The members' (identical) neuron model, with the thresholds that differ among them
        (``per_neuron``) held per neuron.
    per_neuron : dict
        Population -> the values of those thresholds, by state variable (set like initial
        values); empty when the members' models are identical.
    """

    name: str
    populations: tuple[str, ...]
    offsets: dict[str, int]
    size: int
    model: NeuronModel
    per_neuron: dict[str, dict[str, float]] = field(default_factory=dict)

    def initial(self, network: Network, population: str) -> dict[str, object]:
        """A member's initial values, its per-neuron thresholds included."""
        return {**network.population(population).initial, **self.per_neuron.get(population, {})}


@dataclass(frozen=True)
class SynapsesPlan:
    """One Brian2 Synapses object holding one or more projections, concatenated.

    Attributes
    ----------
    name : str
        Brian2 object name: the projection's name, or ``<source>_to_<group>_<target>``.
    source : str
        Group or input name that sends the spikes.
    source_populations : tuple of str
        Populations of ``source`` whose neurons send (all of an input's: ``()``).
    source_range : tuple of int or None
        ``(start, stop)`` in the source group of the slice the sending populations span, which
        the Synapses reads from; None when that is the whole source group or input.
    post_group : str
        Group that receives.
    target : str
        Synaptic target of the post model (``exc``, ``inh``, ...).
    projections : tuple of str
        Member projections, in network order.
    starts : tuple of int
        Index of each member's first synapse inside the Synapses (plus the total at the end).
    delay_steps : int or None
        The one delay in steps when every member has that homogeneous delay; None when the
        Synapses stores a delay per synapse.
    plastic : bool
        Whether the (single) member projection learns.
    """

    name: str
    source: str
    source_populations: tuple[str, ...]
    source_range: tuple[int, int] | None
    post_group: str
    target: str
    projections: tuple[str, ...]
    starts: tuple[int, ...]
    delay_steps: int | None
    plastic: bool

    def slice_of(self, projection: str) -> slice:
        """Synapse indices of one member projection inside this Synapses."""
        k = self.projections.index(projection)
        return slice(self.starts[k], self.starts[k + 1])


@dataclass(frozen=True)
class ObjectPlan:
    """Everything the engine builds: groups, synapses and where each population lives."""

    groups: tuple[GroupPlan, ...]
    synapses: tuple[SynapsesPlan, ...]
    group_of: dict[str, str]

    def group(self, name: str) -> GroupPlan:
        return next(group for group in self.groups if group.name == name)

    def synapses_of(self, projection: str) -> SynapsesPlan:
        return next(plan for plan in self.synapses if projection in plan.projections)

    def offset_of(self, name: str) -> int:
        """Index of population ``name``'s first neuron in its Brian2 group (0 for an input)."""
        groups = [group for group in self.groups if group.name == self.group_of[name]]
        return groups[0].offsets[name] if groups else 0


def model_key(model: NeuronModel, free: tuple[str, ...] = ()) -> tuple:
    """What must be equal for two populations to share one NeuronGroup: all of the model but
    the values of the parameters ``free`` (their names still count)."""
    targets = tuple(sorted((name, t.on_pre, t.weight_unit) for name, t in model.targets.items()))
    parameters = sorted((k, None if k in free else v) for k, v in model.parameters.items())
    return (
        model.equations,
        model.threshold,
        model.reset,
        model.refractory,
        model.method,
        tuple(parameters),
        targets,
    )


# A threshold condition that compares a state variable with one name: ``v > v_th``.
_COMPARISON = re.compile(r"^\s*(\w+)\s*(?:>=|<=|>|<)\s*(\w+)\s*$")
# Parameters that set where v starts (the engine's default): never held per neuron here.
_RESTING = ("v_rest", "E_l", "v_reset", "c")


def threshold_parameters(model: NeuronModel) -> tuple[str, ...]:
    """Scalar parameters of ``model`` that only its threshold reads, as one side of a plain
    comparison: a group may hold them per neuron without changing a spike."""
    match = _COMPARISON.match(model.threshold)
    if match is None:
        return ()
    elsewhere = " ".join(
        [model.equations, model.reset, str(model.refractory)]
        + [target.on_pre for target in model.targets.values()]
    )
    found = []
    for key in sorted(model.parameters):
        base = split_unit(key)[0]
        if base not in match.groups() or base in _RESTING or key == "refractory_ms":
            continue
        if re.search(rf"\b{re.escape(base)}\b", elsewhere) is None:
            found.append(key)
    return tuple(found)


def _joined_name(names: list[str], fallback: str) -> str:
    joined = "_".join(names)
    return joined if len(joined) <= _MAX_NAME else fallback


def plan_objects(network: Network, dt_ms: float, merge: bool = True) -> ObjectPlan:
    """Plan the Brian2 objects for ``network`` at timestep ``dt_ms``.

    ``merge=False`` gives one group per population and one Synapses per projection (used by
    tests to check that merging changes nothing).
    """
    by_key: dict[tuple, list[str]] = {}
    for pop in network.populations:
        model = pop.neuron_model
        key = model_key(model, threshold_parameters(model)) if merge else (pop.name,)
        by_key.setdefault(key, []).append(pop.name)
    taken = {source.name for source in network.inputs} | set(network.population_names)
    taken |= {proj.name for proj in network.projections}
    groups = []
    group_of: dict[str, str] = {}
    for k, members in enumerate(by_key.values()):
        if len(members) == 1:
            name = members[0]
        else:
            name = _unique(_joined_name(members, f"neurons{k}"), taken)
        offsets, size = {}, 0
        for member in members:
            offsets[member] = size
            size += network.population(member).size
            group_of[member] = name
        models = [network.population(member).neuron_model for member in members]
        differing = [
            key
            for key in threshold_parameters(models[0])
            if len({float(m.parameters[key]) for m in models}) > 1
        ]
        per_neuron = {
            member: {state_name(key): float(m.parameters[key]) for key in differing}
            for member, m in zip(members, models, strict=True)
            if differing
        }
        model = models[0].per_neuron(differing)
        groups.append(GroupPlan(name, tuple(members), offsets, size, model, per_neuron))
    for source in network.inputs:
        group_of[source.name] = source.name
    synapses = _plan_synapses(network, dt_ms, groups, group_of, taken, merge)
    return ObjectPlan(tuple(groups), synapses, group_of)


def _delay_key(proj: Projection, dt_ms: float) -> int | None:
    """The one delay in steps, or None for per-synapse delays (the Network stores a delay that is
    the same for every synapse as a scalar, so per-synapse arrays need not be rounded here)."""
    return None if np.ndim(proj.delay_ms) else int(delay_steps(proj.delay_ms, dt_ms))


def _source_range(
    network: Network, groups: list[GroupPlan], source: str, pres: tuple[str, ...]
) -> tuple[int, int] | None:
    group = next((g for g in groups if g.name == source), None)
    if group is None or len(group.populations) == 1:
        return None
    start = min(group.offsets[p] for p in pres)
    stop = max(group.offsets[p] + network.population(p).size for p in pres)
    return None if (start, stop) == (0, group.size) else (start, stop)


def _plan_synapses(
    network: Network,
    dt_ms: float,
    groups: list[GroupPlan],
    group_of: dict[str, str],
    taken: set[str],
    merge: bool,
) -> tuple[SynapsesPlan, ...]:
    by_key: dict[tuple, list[Projection]] = {}
    delays: dict[str, int | None] = {}
    for proj in network.projections:
        delays[proj.name] = _delay_key(proj, dt_ms)
        if proj.plasticity is not None or not merge:
            key: tuple = (proj.name,)
        else:
            key = (group_of[proj.pre], group_of[proj.post], proj.target, delays[proj.name])
        by_key.setdefault(key, []).append(proj)
    plans = []
    for members in by_key.values():
        first = members[0]
        source = group_of[first.pre]
        post_group = group_of[first.post]
        if len(members) == 1:
            name = first.name
        else:
            name = _unique(f"{source}_to_{post_group}_{first.target}", taken)
        starts = tuple(int(x) for x in np.cumsum([0] + [p.n_synapses for p in members]))
        pres = tuple(dict.fromkeys(p.pre for p in members if not network.is_input(p.pre)))
        plans.append(
            SynapsesPlan(
                name=name,
                source=source,
                source_populations=pres,
                source_range=_source_range(network, groups, source, pres),
                post_group=post_group,
                target=first.target,
                projections=tuple(p.name for p in members),
                starts=starts,
                delay_steps=delays[first.name],
                plastic=first.plasticity is not None,
            )
        )
    return tuple(plans)


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 1
    while candidate in taken:
        k += 1
        candidate = f"{name}{k}"
    taken.add(candidate)
    return candidate
