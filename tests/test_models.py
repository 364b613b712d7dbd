"""Every bundled model builds, maps and takes its parameters; model errors are clear."""

from __future__ import annotations

import numpy as np
import pytest

from neuroemu.errors import ModelError
from neuroemu.mapping.mapping import map_network
from neuroemu.network.model_files import bundled_model_names, load_model, parse_params
from neuroemu.spec.chip import load_chip

SMALL = {"coba": {"scale": "0.1"}, "cuba": {"scale": "0.1"}, "microcircuit": {"scale": "0.01"}}


def test_every_bundled_model_is_covered():
    assert set(bundled_model_names()) == set(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_bundled_model_builds_and_maps(name):
    network = load_model(name, SMALL[name])
    assert network.n_neurons > 0 and network.n_synapses > 0
    mapping = map_network(network, load_chip("loihi"))
    assert np.bincount(mapping.core_of_neuron).sum() == network.n_neurons
    again = load_model(name, SMALL[name])
    for a, b in zip(network.projections, again.projections, strict=True):
        assert a.i.tobytes() == b.i.tobytes() and a.j.tobytes() == b.j.tobytes()


def test_coba_is_the_published_benchmark():
    network = load_model("coba")
    assert [p.size for p in network.populations] == [3200, 800]
    density = network.n_synapses / 4000**2
    assert density == pytest.approx(0.02, rel=0.02)


def test_microcircuit_has_the_published_population_sizes():
    from importlib.util import module_from_spec, spec_from_file_location

    from neuroemu.network.model_files import resolve_model

    spec = spec_from_file_location("mc", resolve_model("microcircuit"))
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    assert int(module.N_FULL.sum()) == 77169
    network = load_model("microcircuit", {"scale": "0.01"})
    sizes = [p.size for p in network.populations]
    assert sizes == [max(1, round(n * 0.01)) for n in module.N_FULL]


def test_seed_parameter_and_run_seed():
    a = load_model("cuba", {"scale": "0.1"}, seed=3)
    b = load_model("cuba", {"scale": "0.1", "seed": "3"})
    c = load_model("cuba", {"scale": "0.1"}, seed=4)
    assert a.projections[0].i.tobytes() == b.projections[0].i.tobytes()
    assert a.projections[0].i.tobytes() != c.projections[0].i.tobytes()


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        ("cuab", {}, "no bundled model 'cuab'.*Did you mean 'cuba'"),
        ("cuba", {"scael": "1"}, "no parameter 'scael' \\(did you mean 'scale'\\?\\)"),
        ("cuba", {"scale": "big"}, "model parameter scale: expected float, got 'big'"),
        ("cuba", {"seed": "1.5"}, "model parameter seed: expected int, got '1.5'"),
        ("/nonexistent/model.py", {}, "no such model file"),
    ],
)
def test_model_errors_are_clear(model, params, message):
    with pytest.raises(ModelError, match=message):
        load_model(model, params)


def test_broken_model_files(tmp_path):
    no_build = tmp_path / "nobuild.py"
    no_build.write_text("x = 1\n")
    with pytest.raises(ModelError, match="must define build"):
        load_model(no_build)
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def build():\n    return 42\n")
    with pytest.raises(ModelError, match="returned int, not a Network"):
        load_model(wrong)
    crash = tmp_path / "crash.py"
    crash.write_text("def build(n: int = 1):\n    raise RuntimeError('boom')\n")
    with pytest.raises(ModelError, match=r"build\(.*\) failed: RuntimeError: boom"):
        load_model(crash)


def test_parse_params():
    assert parse_params(["a=1", " b = x "]) == {"a": "1", "b": "x"}
    with pytest.raises(ModelError, match="expected key=value"):
        parse_params(["novalue"])


def _if_reference(bias_mv, th_mv, subtract, refractory_steps, floor_on, floor_mv, inputs_mv, n):
    """The ``if`` neuron's stated update, step by step: v[n+1] = v + bias + input of step n-1,
    floored; spike when v > v_th; reset to 0 or by subtraction; integrate again K steps later."""
    v, last, spikes, trace = 0.0, -(10**9), [], []
    for step in range(n):
        if step - last >= refractory_steps:
            v = v + bias_mv + (inputs_mv[step - 1] if step >= 1 else 0.0)
            if floor_on:
                v = max(v, floor_mv)
            if v > th_mv:
                spikes.append(step)
                v = (v - th_mv) if subtract else 0.0
                last = step
        trace.append(v)
    return spikes, np.array(trace)


@pytest.mark.brian2
def test_if_neuron_with_per_neuron_parameters_steps_as_stated(tiny_chip) -> None:
    from neuroemu.engine.runner import simulate
    from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput

    n_steps = 20
    # 250 pA into 250 pF for 1 ms is 1 mV per step
    bias = np.array([250.0, 250.0, 250.0, 0.0])
    subtract = np.array([0.0, 1.0, 0.0, 0.0])
    refractory = np.array([1.0, 1.0, 3.0, 1.0])
    floor_on = np.array([0.0, 0.0, 0.0, 1.0])
    params = {"I_bias_pA": bias, "reset_subtract": subtract, "refractory_steps": refractory,
              "floor_on": floor_on, "v_floor_mV": -2.0, "v_th_mV": 2.7}  # fmt: skip
    pop = Population("a", 4, "if", params)
    kicks = SpikeTimesInput("kick", 1, np.zeros(5, int), np.arange(5.0))
    inhibit = Projection("kick", "a", np.array([0]), np.array([3]), 1.0, target="inh")
    network = Network((pop,), (inhibit,), (kicks,))
    activity = simulate(network, tiny_chip, float(n_steps), device="numpy", quantise=False,
                        record_state={"a": ["v"]})  # fmt: skip
    v = activity.state["a"]["v_mV"]
    for k in range(4):
        inputs = np.zeros(n_steps)
        if k == 3:
            inputs[:5] = -1.0
        want, trace = _if_reference(bias[k] / 250.0, 2.7, subtract[k], refractory[k],
                                    floor_on[k], -2.0, inputs, n_steps)  # fmt: skip
        got = activity.spikes["a"].step[activity.spikes["a"].neuron == k].tolist()
        assert got == want, f"neuron {k}"
        np.testing.assert_allclose(v[1:, k], trace[:-1], atol=1e-9)
    assert activity.spikes["a"].step[activity.spikes["a"].neuron == 0].tolist()[:3] == [2, 5, 8]
    assert v[-1, 3] == pytest.approx(-2.0)  # floored
