"""NIR graphs imported and run in Brian2 give, step for step, the spikes of a direct NumPy
simulation of NIR's equations (tests/nir_reference.py), and the same non-spiking states."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nir")

from nir_graphs import conv_graph, input_spikes, mixed_graph, recurrent_graph
from nir_reference import simulate as reference

from neuroemu.engine.runner import simulate
from neuroemu.network.nir_import import import_nir

N_STEPS = 60


def _spike_matrix(spikes, size: int) -> np.ndarray:
    out = np.zeros((N_STEPS, size), bool)
    out[spikes.step, spikes.neuron] = True
    return out


@pytest.mark.brian2
@pytest.mark.parametrize(
    "build", [conv_graph, mixed_graph, recurrent_graph], ids=["conv", "mixed", "recurrent"]
)
def test_spikes_equal_numpy_reference(build, tiny_chip) -> None:
    graph = build()
    inputs = input_spikes(graph, N_STEPS)
    dt_ms = tiny_chip.timing.dt_ms.require()
    network = import_nir(graph, spikes=inputs, dt_ms=dt_ms)
    silent = [p.name for p in network.populations if p.neuron_model.threshold == "False"]
    activity = simulate(
        network, tiny_chip, N_STEPS * dt_ms, device="numpy", quantise=False,
        record_state={name: ["v"] for name in silent},
    )  # fmt: skip
    want_spikes, want_v = reference(graph, inputs, dt_ms / 1000.0, N_STEPS)
    total = 0
    for node, expected in want_spikes.items():
        name = node.replace(".", "_")
        got = _spike_matrix(activity.spikes[name], expected.shape[1])
        total += int(expected.sum())
        if name in silent:
            # the state monitor samples at the start of a step: sample n is v after step n - 1
            v = activity.state[name]["v_1"]
            np.testing.assert_allclose(v[1:], want_v[node][:-1], rtol=1e-9, atol=1e-12)
            continue
        mismatch = np.argwhere(got != expected)
        assert not len(mismatch), f"{name}: first differing (step, neuron) {mismatch[0]}"
    assert total > 20, "the graph should spike, or the comparison proves little"
