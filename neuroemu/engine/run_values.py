"""The numbers a run sets, by Brian2 variable, computed without Brian2.

Chip numerics applied here:

- weights are rounded to ``core.weight_bits`` levels with one scale per projection (a shared
  weight exponent, as Loihi's synapse groups have), and the rounding error is reported;
- delays are rounded to whole timesteps, half up (chips have integer delay slots; this also makes
  the numpy, cython and C++ targets agree, since Brian2's numpy spike queue rounds half to even).

Values are in Brian2's base units (volt, second, siemens), multiplied by the same factors Brian2
multiplies by (:func:`si_scale`), so a cpp_standalone run can be given them as files
(:func:`standalone_inputs`) by a process that never imports Brian2; the runtime targets set the
same numbers through Brian2's objects (:mod:`neuroemu.engine.brian2_objects`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuroemu.activity import QuantisationReport
from neuroemu.engine.group_plan import GroupPlan, ObjectPlan, SynapsesPlan
from neuroemu.engine.resets import GroupReset
from neuroemu.engine.run_inputs import Connections, RunInputs
from neuroemu.network.network import Network, PoissonInput
from neuroemu.network.neuron_models import NeuronModel
from neuroemu.spec.chip import ChipSpec
from neuroemu.timesteps import delay_steps
from neuroemu.units import UNITS, split_unit

# The dtype of a compiled binary's run input ``(owner, variable)`` (KeyError: it takes none).
DtypeOf = Callable[[str, str], np.dtype]


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


def si_scale(suffix: str) -> float:
    """What Brian2 multiplies a value in unit ``suffix`` by (the unit in its base unit), bit
    for bit (``float(b2.mV) == 1e-3``; a test checks every unit); no Brian2 needed."""
    return UNITS[suffix].scale


def default_v(model: NeuronModel) -> tuple[str, float] | None:
    """Where a model's membrane potential starts when the population gives no initial value."""
    for candidate in ("v_rest", "E_l", "v_reset", "c"):
        for name, value in model.parameters.items():
            if split_unit(name)[0] == candidate and split_unit(name)[1] == "mV":
                return "v", value
    return None


@dataclass(frozen=True)
class RunOptions:
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


def initial_values(
    initial: dict[str, Any], model: NeuronModel, unit: Callable[[str], Any] = si_scale
) -> dict[str, Any]:
    """A population's initial values by Brian2 variable (``v`` at the model's resting value
    where none is given), times ``unit(suffix)``: Brian2's units (quantities) or, by default,
    the SI factors Brian2 multiplies by (numbers in Brian2's base units)."""
    values = dict(initial)
    default = default_v(model)
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
        for var, value in initial_values(initial, group_plan.model).items():
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


def standalone_inputs(
    network: Network,
    plan: ObjectPlan,
    dtype_of: DtypeOf,
    resets: dict[str, GroupReset],
    chip: ChipSpec,
    options: RunOptions,
) -> tuple[RunInputs, dict[str, QuantisationReport], dict[str, np.ndarray | None]]:
    """What a cpp_standalone run reads at start (:mod:`neuroemu.engine.run_inputs`): the
    network's values, the same numbers the other targets set from Python, in Brian2's base
    units; ``dtype_of`` names the binary's variables. Also each projection's weight
    quantisation and each Synapses' creation order (:class:`Connections`), for
    :func:`collect_activity`. Needs no Brian2."""
    dt_ms = options.dt_ms
    inputs = RunInputs(seed=options.seed)
    quantisation: dict[str, QuantisationReport] = {}
    for group_plan in plan.groups:
        reset = resets.get(group_plan.name)
        for var, values in _group_values(network, group_plan, dtype_of, reset).items():
            inputs.set_value(group_plan.name, var, dtype_of(group_plan.name, var), values)
    for source in network.inputs:
        if isinstance(source, PoissonInput):
            rates = np.asarray(source.rate_hz, dtype=float) * si_scale("Hz")
            inputs.set_value(source.name, "rates", dtype_of(source.name, "rates"),
                             np.broadcast_to(rates, (source.size,)))  # fmt: skip
    for syn_plan in plan.synapses:
        i, j = synapse_pairs(network, plan, syn_plan)
        table = Connections.from_pairs(syn_plan.name, i, j, _source_size(network, plan, syn_plan))
        del i, j
        inputs.connections[syn_plan.name] = table
        weights, steps, reports = synapse_values(network, syn_plan, chip, dt_ms, options.quantise)
        quantisation.update(reports)
        post_model = plan.group(syn_plan.post_group).model
        unit = si_scale(post_model.targets[syn_plan.target].weight_unit)
        inputs.set_value(syn_plan.name, "w", dtype_of(syn_plan.name, "w"),
                         table.in_creation_order(weights * unit))  # fmt: skip
        del weights
        if steps is not None:
            delays = steps * dt_ms * si_scale("ms")  # the 'pre' pathway's, held by the Synapses
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


def synapse_pairs(network: Network, plan: ObjectPlan, syn_plan: SynapsesPlan) -> tuple[Any, Any]:
    """Sources (in the Synapses' source slice) and targets (in the post group) of its synapses."""
    projections = [network.projection(name) for name in syn_plan.projections]
    source_offset = syn_plan.source_range[0] if syn_plan.source_range else 0
    post_group = plan.group(syn_plan.post_group)
    i = _concatenated([_shifted(p.i, plan.offset_of(p.pre) - source_offset) for p in projections])
    j = _concatenated([_shifted(p.j, post_group.offsets[p.post]) for p in projections])
    return i, j


def synapse_values(
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


def _concatenated(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
