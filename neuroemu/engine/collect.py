"""The :class:`~neuroemu.activity.Activity` of a run, from what recorded it: Brian2's monitors
(runtime targets) or the files a compiled binary wrote (cpp_standalone). The same lines turn
either into spikes by population, changed cells, state samples, final weights and counters.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import numpy as np

from neuroemu.activity import Activity, ChangedCells, QuantisationReport, Spikes, in_step_order
from neuroemu.engine.brian2_objects import CHANGED_FLAG
from neuroemu.engine.compiled_run import Layout, read_array
from neuroemu.engine.group_plan import ObjectPlan
from neuroemu.engine.run_inputs import in_network_order
from neuroemu.engine.run_values import RunOptions, si_scale
from neuroemu.network.network import Network


def _read_synapses(
    record: BrianRecord | FileRecord,
    syn_name: str,
    order: np.ndarray | None,
    part: slice,
    var: str,
) -> np.ndarray:
    """One projection's part (``part``) of a Synapses' values of ``var``, in the network's
    order (``order`` as :attr:`Connections.order`)."""
    return in_network_order(np.asarray(record.synapse_values(syn_name, var)), order)[part]


class BrianRecord:
    """What a runtime run recorded, read from its Brian2 objects (``built``)."""

    def __init__(self, built: dict[str, Any]) -> None:
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
        return np.asarray(self.built["change_monitors"][name].variables[CHANGED_FLAG].get_value())

    def state(self, pop_name: str, var: str) -> np.ndarray:
        return np.asarray(getattr(self.built["state_monitors"][pop_name], var + "_")[:]).T

    def synapse_values(self, syn_name: str, var: str) -> np.ndarray:
        syn = self.built["synapses"][syn_name]
        return np.asarray(syn.w_[:] if var == "w" else getattr(syn, var)[:])


class FileRecord:
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


def collect_activity(
    network: Network,
    plan: ObjectPlan,
    record: BrianRecord | FileRecord,
    options: RunOptions,
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
                variables[f"{var}_{unit_suffix}"] = values / si_scale(unit_suffix)
        state[pop_name] = variables
        state_neurons[pop_name] = np.arange(pop.size)
    final_weights = {}
    counters: dict[str, dict[str, np.ndarray]] = {}
    for proj in network.projections:
        syn_plan = plan.synapses_of(proj.name)
        part = syn_plan.slice_of(proj.name)
        post_model = network.population(proj.post).neuron_model
        unit = si_scale(post_model.targets[proj.target].weight_unit)
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
