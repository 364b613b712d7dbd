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
