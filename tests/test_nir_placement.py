"""Issue 13's acceptance in one run: a convolutional network given as an NIR graph, placed on
the cores a placement file names, counted per layer exactly (brute force per layer)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nir")

from nir_graphs import conv_graph, input_spikes
from test_layers import brute_force_layers

from neuroemu.accounting.layers import count_by_layer
from neuroemu.events import EVENT_KINDS
from neuroemu.mapping.given import Placement
from neuroemu.network.nir_import import import_nir
from neuroemu.pipeline import run_pipeline

N_STEPS = 30


@pytest.mark.brian2
def test_nir_conv_on_stated_cores_counts_per_layer_exactly(tiny_chip) -> None:
    graph = conv_graph()
    dt_ms = tiny_chip.timing.dt_ms.require()
    network = import_nir(graph, spikes=input_spikes(graph, N_STEPS), dt_ms=dt_ms)
    # Each layer on cores chosen by hand, as a compiler's table would state them; the tiny
    # chip has cores of 32 neurons, so the 64-neuron lif1 layer takes two.
    assert {p.name: p.size for p in network.populations} == {"cuba": 3, "if1": 16, "lif1": 64}
    wanted = {"lif1": [1, 2], "if1": [0], "cuba": [3]}
    placement = Placement("<stated>", population_cores=wanted)
    result = run_pipeline(
        network, tiny_chip, duration_ms=N_STEPS * dt_ms, device="numpy", placement=placement
    )
    core = result.mapping.core_of_neuron
    for pop in network.populations:
        got = sorted(set(core[network.offsets[pop.name] : network.offsets[pop.name] + pop.size]))
        assert got == sorted(wanted[pop.name]), pop.name
    assert result.activity.n_spikes > 0
    layers = count_by_layer(network, result.activity, result.mapping, result.counts)
    expected_groups, expected_projections = brute_force_layers(
        network, result.activity, result.mapping
    )
    for kind in EVENT_KINDS:
        rows = dict(zip(layers.groups, layers.per_group[kind].tolist(), strict=True))
        assert rows == expected_groups[kind], kind
        assert sum(rows.values()) == int(result.counts.per_core[kind].sum()), kind
    synaptic = dict(
        zip(layers.projections, layers.per_projection["synaptic_event"].tolist(), strict=True)
    )
    assert synaptic == expected_projections["synaptic_event"]
    assert int(np.sum(list(synaptic.values()))) == int(
        result.counts.per_core["synaptic_event"].sum()
    )
