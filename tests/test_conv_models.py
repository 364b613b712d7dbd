"""The convolutional benchmark models, gesture (SANA-FE's DVS gesture network) and pilotnet
(lava-dl's PilotNet LIF): built and mapped, not simulated (3.6 M and 10.7 M synapses). Sizes,
layer shapes and reset schedules are checked against the numbers their sources publish."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import scipy.sparse as sp

from neuroemu.errors import ModelError
from neuroemu.mapping.mapping import map_network
from neuroemu.network.connectivity import conv2d
from neuroemu.network.model_files import load_model
from neuroemu.network.network import Network
from neuroemu.spec.chip import load_chip

MODELS = Path(__file__).resolve().parent.parent / "models"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"library_{name}", MODELS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shapes(network: Network) -> dict[str, tuple[int, int, int]]:
    return {p.post: p.structure.out_shape for p in network.projections if p.structure}


def _in_degree(network: Network, name: str) -> np.ndarray:
    proj = network.projection(name)
    return np.bincount(proj.j, minlength=network.population(proj.post).size)


@pytest.fixture(scope="module")
def gesture() -> Network:
    return load_model("gesture")


@pytest.fixture(scope="module")
def pilotnet() -> Network:
    return load_model("pilotnet")


def test_gesture_has_sanafes_layers_and_sizes(gesture) -> None:
    module = _module("gesture")
    assert (gesture.n_neurons, gesture.n_synapses) == (module.N_NEURONS, module.N_SYNAPSES)
    assert gesture.n_synapses - 1024 == 3_564_441  # SANA-FE's network: about 3.6 M
    assert _shapes(gesture) == {
        "conv1": (16, 15, 15),
        "conv2": (32, 13, 13),
        "conv3": (64, 11, 11),
        "conv4": (11, 9, 9),
    }
    assert [p.size for p in gesture.populations] == [1024, 3600, 5408, 7744, 891, 11]
    assert sum(module.SANAFE_CORES.values()) == 42
    # no padding: every conv3 neuron reads a full 3 x 3 x 32 window
    np.testing.assert_array_equal(_in_degree(gesture, "conv2_to_conv3"), 288)
    np.testing.assert_array_equal(_in_degree(gesture, "conv4_to_dense"), 891)
    assert gesture.projection("conv1_to_conv2").structure.stride == (1, 1)
    assert gesture.projection("input_to_conv1").structure.stride == (2, 2)
    weights = gesture.projection("conv2_to_conv3").weight
    assert np.all(weights % 2 == 0) and weights.min() >= -256 and weights.max() <= 254
    assert abs(weights.std() - 35.29) < 2.0
    assert gesture.inference.steps == 128 and gesture.inference.reset == ()


def test_gesture_input_rates_keep_the_stated_mean() -> None:
    network = load_model("gesture", {"rate_hz": "20", "active_fraction": "0.25", "seed": "3"})
    rates = network.inputs[0].rate_hz
    assert rates.mean() == pytest.approx(20.0)
    assert np.count_nonzero(rates) == 256 and rates.max() == pytest.approx(80.0)
    with pytest.raises(ModelError, match="expected 0 to 1000 Hz"):
        load_model("gesture", {"rate_hz": "500", "active_fraction": "0.1"})


def test_gesture_maps_onto_loihi2(gesture) -> None:
    mapping = map_network(gesture, load_chip("loihi2"))
    assert mapping.n_cores_used >= 1 and len(mapping.core_of_neuron) == gesture.n_neurons


def test_pilotnet_has_lava_dls_layers_and_synapses(pilotnet) -> None:
    module = _module("pilotnet")
    assert (pilotnet.n_neurons, pilotnet.n_synapses) == (module.N_NEURONS, module.N_SYNAPSES)
    # the layer table of benchmark.ipynb (netx prints W, H, C; here C, H, W)
    assert _shapes(pilotnet) == {
        "conv1": (24, 32, 99),
        "conv2": (36, 15, 49),
        "conv3": (48, 7, 24),
        "conv4": (64, 4, 22),
        "conv5": (64, 2, 20),
    }
    conv4 = pilotnet.projection("conv3_to_conv4").structure
    assert (conv4.stride, conv4.padding) == ((2, 1), (1, 0))
    assert [p.size for p in pilotnet.populations][-4:] == [100, 50, 10, 1]
    schedule = pilotnet.inference
    assert schedule.steps == 16 and schedule.reset is None
    assert schedule.offsets == {name: 3 + k for k, name in enumerate(pilotnet.population_names)}
    assert pilotnet.inference_ms == 16.0


def test_pilotnet_drops_exactly_the_zero_weights(pilotnet) -> None:
    module = _module("pilotnet")
    everything = load_model("pilotnet", {"width": "48", "keep_zero_weights": "true"})
    small = load_model("pilotnet", {"width": "48"})
    for full, kept in zip(everything.projections, small.projections, strict=True):
        assert kept.n_synapses == np.count_nonzero(full.weight), full.name
        assert kept.structure == full.structure
    # all taps of the five convolutions plus the dense layers at full width: 14,144,550
    taps = sum(
        p.structure.n_out * p.structure.weights_per_out_channel
        for p in pilotnet.projections
        if p.structure
    )
    padding_taps = 64 * 22 * 48 * 3 * 2  # conv4: rows -1 and 7 of its 3-row windows
    assert taps - padding_taps + 256_000 + 5_000 + 500 + 10 == 14_144_550
    weights = module.load_weights()
    assert weights["conv1_weight"].shape == (24, 3, 3, 3)
    assert weights["fc1_weight"].shape == (100, 2560)


def test_pilotnet_frame_and_errors() -> None:
    module = _module("pilotnet")
    rates = module.frame_rates(0.887, 1)
    assert rates.min() >= 0.774 and rates.max() <= 1.0
    assert rates.mean() == pytest.approx(0.887, abs=0.002)
    assert module.frame_rates(0.2, 1).max() <= 0.4
    with pytest.raises(ModelError, match="width must be >= 47"):
        load_model("pilotnet", {"width": "40"})
    with pytest.raises(ModelError, match="input_rate must lie in"):
        load_model("pilotnet", {"input_rate": "1.5"})


def test_pilotnet_narrow_maps_onto_loihi2() -> None:
    network = load_model("pilotnet", {"width": "48"})
    assert _shapes(network)["conv5"] == (64, 2, 1)
    mapping = map_network(network, load_chip("loihi2"))
    assert len(mapping.core_of_neuron) == network.n_neurons
    assert mapping.n_chips == 1


def test_pilotnet_conv1_gives_lava_dls_stored_spikes() -> None:
    """The trained conv1 kernels and biases under Loihi's fixed-point update (v in 1/64 of a
    weight: v = floor(0.75 v) + 64 (sum w + b), spike when v > 1600, reset to 0, every state
    reset at step 1 as netx's reset_offset 0 places conv1's reset), fed lava-dl's stored input
    spikes, give its stored conv1 spikes bit for bit over steps 0-16 (a crop: input columns
    0-40, conv1 columns 0-19)."""
    module = _module("pilotnet")
    with np.load(MODELS / "data" / "pilotnet_conv1_spikes.npz") as data:
        shape_in, shape_out = tuple(data["input_shape"]), tuple(data["conv1_shape"])
        spikes_in = np.unpackbits(data["input"])[: np.prod(shape_in)].reshape(shape_in)
        want = np.unpackbits(data["conv1"])[: np.prod(shape_out)].reshape(shape_out)
    weights = module.load_weights()
    i, j, w, structure = conv2d(shape_in[1:], 24, 3, weights["conv1_weight"], stride=2)
    assert structure.out_shape == shape_out[1:]
    matrix = sp.csr_matrix((w, (j, i)), shape=(structure.n_out, structure.n_in))
    bias = np.repeat(weights["conv1_bias"], structure.n_out // 24)
    # the model gives conv1's neurons these biases, per channel (32 x 20 of 32 x 99 here)
    model_bias = load_model("pilotnet", {"width": "48"}).population("conv1").parameters["bias"]
    np.testing.assert_array_equal(np.unique(model_bias.reshape(24, -1), axis=1).ravel(),
                                  weights["conv1_bias"])  # fmt: skip
    v = np.zeros(structure.n_out)
    got = np.zeros((len(want), structure.n_out), dtype=np.uint8)
    for step in range(len(want)):
        if step == 1:
            v[:] = 0.0
        arriving = matrix @ spikes_in[step - 1].ravel() if step else 0.0
        v = np.sign(v) * np.floor(np.abs(v) * 3 / 4) + 64 * (arriving + bias)
        got[step] = v > 64 * module.THRESHOLD
        v[got[step] == 1] = 0.0
    np.testing.assert_array_equal(got, want.reshape(len(want), -1))


@pytest.mark.brian2
def test_narrow_pilotnet_fires_at_lava_dls_rates() -> None:
    """Simulated (loihi2: 1 ms, 8-bit weights), a narrow PilotNet's convolutions fire at the
    rates lava-dl's stored run has at full width (0.09-0.12 spikes per neuron and step);
    measured 0.091, 0.094, 0.119, 0.120, 0.112 over 32 steps in about 10 s."""
    from neuroemu.engine.runner import simulate

    network = load_model("pilotnet", {"width": "48"})
    activity = simulate(network, load_chip("loihi2"), 32.0, device="numpy", quantise=True)
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5"):
        rate = len(activity.spikes[name].step) / network.population(name).size / 32
        assert 0.06 < rate < 0.16, (name, rate)
