"""Every bundled model builds, maps and takes its parameters; model errors are clear."""

from __future__ import annotations

import numpy as np
import pytest

from neuroemu.errors import ModelError
from neuroemu.mapping.mapping import map_network
from neuroemu.network.model_files import bundled_model_names, load_model, parse_params
from neuroemu.spec.chip import load_chip

SMALL = {
    "brunel": {"scale": "0.1"},
    "coba": {"scale": "0.1"},
    "cuba": {"scale": "0.1"},
    "digits": {"n_images": "10"},
    "gesture": {},
    "microcircuit": {"scale": "0.01"},
    "pilotnet": {"width": "48"},
    "stdp": {"n_inputs": "100"},
    "synfire": {"n_groups": "3"},
}


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


SLOW_TO_INTEGRATE = ("cuba_lif", "pd14_lif")


@pytest.mark.parametrize("name", ["lif", "cuba_lif", "coba_lif", "adex", "izhikevich",
                                  "pd14_lif", "if", "nir_lif", "nir_threshold"])  # fmt: skip
def test_every_parameter_can_be_per_neuron(name) -> None:
    from neuroemu.network.network import Population
    from neuroemu.network.neuron_models import NEURON_MODELS, state_name
    from neuroemu.units import split_unit

    model = NEURON_MODELS[name]
    arrays = {k: np.arange(1.0, 4.0) * (v or 1.0) for k, v in model.parameters.items()}
    pop = Population("p", 3, name, arrays)
    resolved = pop.neuron_model
    assert resolved.parameters == {}  # all of them live in the group now
    for key in model.parameters:
        base = split_unit(state_name(key))[0]
        assert f"{base} : " in resolved.equations and base in resolved.state_units, key
        np.testing.assert_array_equal(pop.initial[state_name(key)], arrays[key])


@pytest.mark.brian2
def test_every_model_takes_every_parameter_per_neuron(tiny_chip) -> None:
    """Each library model twice, with scalar parameters and with the same values as arrays:
    the per-neuron form (constant state variables) must run and give the same v and spikes.

    cuba_lif and pd14_lif are left out here: Brian2's exact integration of their coupled
    equations costs 3-9 s of sympy per form; the next test checks their declarations."""
    from neuroemu.engine.runner import simulate
    from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput
    from neuroemu.network.neuron_models import NEURON_MODELS

    size, weights = 3, {"mV": 6.0, "pA": 400.0, "1": 0.6}
    kick = SpikeTimesInput("kick", 1, np.zeros(6, int), np.array([0.0, 1, 2, 3, 5, 8]))
    pops, projections = [], []
    # the nir_* models run per-neuron arrays in tests/test_nir_run.py (against NumPy)
    models = {
        n: m
        for n, m in NEURON_MODELS.items()
        if n not in SLOW_TO_INTEGRATE and not n.startswith("nir_")
    }
    for name, model in models.items():
        arrays = {k: np.full(size, v) for k, v in model.parameters.items()}
        target = next(iter(model.targets))
        w = weights[model.targets[target].weight_unit]
        for label, params in ((f"{name}_scalar", {}), (f"{name}_array", arrays)):
            pops.append(Population(label, size, name, params))
            projections.append(
                Projection("kick", label, np.zeros(size, int), np.arange(size), w, target=target)
            )
    network = Network(tuple(pops), tuple(projections), (kick,))
    record = {p.name: ["v"] for p in pops if "v" in p.neuron_model.state_units}
    activity = simulate(network, tiny_chip, 12.0, device="numpy", quantise=False,
                        record_state=record)  # fmt: skip
    for name in models:
        a, b = activity.spikes[f"{name}_scalar"], activity.spikes[f"{name}_array"]
        assert a.step.tolist() == b.step.tolist() and a.neuron.tolist() == b.neuron.tolist(), name
        if f"{name}_scalar" in record:
            va = next(iter(activity.state[f"{name}_scalar"].values()))
            vb = next(iter(activity.state[f"{name}_array"].values()))
            np.testing.assert_allclose(va, vb, rtol=1e-9, atol=1e-12, err_msg=name)
