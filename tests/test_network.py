"""Tests of Network validation (malformed networks and their messages) and connectivity helpers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from neuroemu.errors import NetworkError
from neuroemu.network.connectivity import (
    all_to_all,
    fixed_indegree,
    fixed_probability,
    fixed_total_number,
    one_to_one,
)
from neuroemu.network.network import (
    Network,
    PoissonInput,
    Population,
    Projection,
    SpikeTimesInput,
)


def two_pops(*projections: Projection, inputs=()) -> Network:
    return Network((Population("a", 5), Population("b", 3)), projections, inputs)


IDX = np.array([0, 1, 2])

MALFORMED = [
    (
        "index out of range",
        lambda: two_pops(Projection("a", "b", IDX, np.array([0, 1, 3]), 1.0)),
        "projection 'a_to_b': j indices must lie in [0, 3) (size of 'b'), found [0, 3]",
    ),
    (
        "negative index",
        lambda: two_pops(Projection("a", "b", np.array([-1, 0, 1]), IDX, 1.0)),
        "projection 'a_to_b': i indices must lie in [0, 5) (size of 'a'), found [-1, 1]",
    ),
    (
        "arrays of different lengths",
        lambda: Projection("a", "b", IDX, np.array([0, 1]), 1.0),
        "projection 'a_to_b': i and j must be 1-D arrays of the same length, got shapes (3,) "
        "and (2,)",
    ),
    (
        "weights of another length",
        lambda: Projection("a", "b", IDX, IDX, np.ones(4)),
        "projection 'a_to_b': weight has shape (4,); expected (3,) like i and j, or a scalar",
    ),
    (
        "NaN weights",
        lambda: Projection("a", "b", IDX, IDX, np.array([1.0, np.nan, 2.0])),
        "projection 'a_to_b': 1 weight(s) are NaN or infinite",
    ),
    (
        "negative delays",
        lambda: Projection("a", "b", IDX, IDX, 1.0, delay_ms=np.array([1.0, -0.5, 2.0])),
        "projection 'a_to_b': delays must be finite and >= 0 ms",
    ),
    (
        "unknown pre population",
        lambda: two_pops(Projection("c", "b", IDX, IDX, 1.0)),
        "projection 'c_to_b': unknown pre 'c'; expected one of ['a', 'b']",
    ),
    (
        "synapses onto an input",
        lambda: two_pops(
            Projection("a", "noise", IDX, IDX, 1.0), inputs=(PoissonInput("noise", 3, 5.0),)
        ),
        "projection 'a_to_noise': unknown post population 'noise' (inputs cannot receive synapses)",
    ),
    (
        "unknown target",
        lambda: two_pops(Projection("a", "b", IDX, IDX, 1.0, target="gaba")),
        "projection 'a_to_b': target 'gaba' is not a synaptic target of model 'lif'",
    ),
    (
        "duplicate names",
        lambda: Network((Population("a", 2), Population("a", 3))),
        "duplicate population/input name(s): ['a']",
    ),
    (
        "duplicate projection names",
        lambda: two_pops(Projection("a", "b", IDX, IDX, 1.0), Projection("a", "b", IDX, IDX, 1.0)),
        "duplicate projection name(s): ['a_to_b']; give each a name=",
    ),
    (
        "bad initial shape",
        lambda: Population("a", 5, initial={"v_mV": np.zeros(3)}),
        "population 'a': initial value 'v_mV' has shape (3,); expected a scalar or (5,)",
    ),
    (
        "initial value of no state variable",
        lambda: Population("a", 5, initial={"u_mV": -60.0}),
        "population 'a': initial value 'u_mV' names no state variable of model 'lif'",
    ),
    (
        "unknown parameter",
        lambda: Population("a", 5, parameters={"tau_x_ms": 3.0}),
        "population 'a': unknown parameter(s) ['tau_x_ms'] for model 'lif'",
    ),
    (
        "unknown neuron model",
        lambda: Population("a", 5, "hodgkin"),
        "population 'a': unknown neuron model 'hodgkin'",
    ),
    (
        "non-integer indices",
        lambda: Projection("a", "b", np.array([0.0, 1.5]), np.array([0, 1]), 1.0),
        "projection 'a_to_b': i and j must be integer arrays",
    ),
    (
        "size zero",
        lambda: Population("a", 0),
        "population 'a': size must be a positive integer, got 0",
    ),
    (
        "name that is not an identifier",
        lambda: Population("my cells", 3),
        "population name 'my cells' must be a Python identifier",
    ),
    (
        "no populations",
        lambda: Network(()),
        "a network needs at least one population",
    ),
    (
        "spike index past the input size",
        lambda: SpikeTimesInput("spikes", 2, np.array([0, 2]), np.array([1.0, 2.0])),
        "input 'spikes': indices must lie in [0, 2), found [0, 2]",
    ),
    (
        "negative Poisson rate",
        lambda: PoissonInput("noise", 2, -1.0),
        "input 'noise': rate_hz must be finite and >= 0",
    ),
    (
        "per-neuron parameter of the wrong length",
        lambda: Population("a", 3, "lif", {"tau_m_ms": np.array([10.0, 20.0])}),
        "population 'a': parameter 'tau_m_ms' has shape (2,); expected a scalar or one value "
        "per neuron, (3,)",
    ),
    (
        "per-neuron parameter with NaN",
        lambda: Population("a", 2, "if", {"I_bias_pA": np.array([1.0, np.nan])}),
        "population 'a': parameter 'I_bias_pA' has NaN/inf",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_network_is_refused_with_its_reason(build, message: str) -> None:
    with pytest.raises(NetworkError, match=re.escape(message)):
        build()


def test_valid_network_index_spaces() -> None:
    noise = PoissonInput("noise", 4, 10.0)
    proj = Projection("noise", "b", np.array([3]), np.array([2]), 1.0)
    network = two_pops(Projection("b", "a", IDX, IDX, 1.0), proj, inputs=(noise,))
    assert network.offsets == {"a": 0, "b": 5, "noise": 0}
    assert network.global_post(proj).tolist() == [7]
    assert network.global_pre(proj).tolist() == [3]  # inputs have their own index space
    assert network.summary() == {
        "n_populations": 2,
        "n_neurons": 8,
        "n_inputs": 4,
        "n_projections": 2,
        "n_synapses": 4,
    }


# ---- connectivity helpers -------------------------------------------------------------------


def test_fixed_probability_mean_and_reproducibility() -> None:
    expected, sd = 300 * 200 * 0.05, np.sqrt(300 * 200 * 0.05 * 0.95)
    counts = [len(fixed_probability(300, 200, 0.05, seed=s)[0]) for s in range(20)]
    assert abs(np.mean(counts) - expected) < 4 * sd / np.sqrt(20)  # mean of 20 draws, 4 sigma
    assert np.std(counts) < 2 * sd
    i, j = fixed_probability(300, 200, 0.05, seed=4)
    assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == len(i)  # no repeated pair
    assert i.min() >= 0 and i.max() < 300 and j.min() >= 0 and j.max() < 200
    again = fixed_probability(300, 200, 0.05, seed=4)
    assert np.array_equal(i, again[0]) and np.array_equal(j, again[1])
    other = fixed_probability(300, 200, 0.05, seed=5)
    assert not (len(other[0]) == len(i) and np.array_equal(other[0], i))
    i_ns, j_ns = fixed_probability(50, 50, 0.5, 1, allow_self=False)
    assert not np.any(i_ns == j_ns)


def test_fixed_probability_edges() -> None:
    assert len(fixed_probability(10, 10, 0.0, 0)[0]) == 0
    assert len(fixed_probability(10, 10, 1.0, 0)[0]) == 100
    assert len(fixed_probability(40, 40, 1e-300, 0)[0]) == 0  # tiny p: no endless loop
    with pytest.raises(NetworkError, match=r"p must lie in \[0, 1\], got 1.5"):
        fixed_probability(10, 10, 1.5, 0)


def test_fixed_indegree_exact_and_distinct() -> None:
    i, j = fixed_indegree(50, 30, 7, seed=2, allow_self=False)
    assert np.bincount(j, minlength=30).tolist() == [7] * 30
    for post in range(30):
        sources = i[j == post]
        assert len(set(sources.tolist())) == 7
        assert post not in sources.tolist()
    multi_i, multi_j = fixed_indegree(3, 10, 20, seed=2, allow_multapses=True)
    assert np.bincount(multi_j).tolist() == [20] * 10 and multi_i.max() < 3
    with pytest.raises(NetworkError, match="k = 60 distinct sources requested from 50 available"):
        fixed_indegree(50, 30, 60, seed=2)


def test_fixed_total_number() -> None:
    i, j = fixed_total_number(20, 30, 100, seed=3)
    assert len(i) == 100
    assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == 100
    with pytest.raises(NetworkError, match="n = 700 exceeds the 600 pairs"):
        fixed_total_number(20, 30, 700, seed=3)


def test_one_to_one_and_all_to_all() -> None:
    i, j = one_to_one(6)
    assert i.tolist() == j.tolist() == list(range(6))
    i, j = all_to_all(3, 4)
    assert len(i) == 12 and len(set(zip(i.tolist(), j.tolist(), strict=True))) == 12
    i, j = all_to_all(4, 4, allow_self=False)
    assert len(i) == 12 and not np.any(i == j)
    with pytest.raises(NetworkError, match="positive group sizes, got 0 x 4"):
        all_to_all(0, 4)


def test_per_neuron_parameters_become_constant_state_variables() -> None:
    tau = np.array([10.0, 20.0, 30.0])
    rest = np.array([-65.0, -60.0, -70.0])
    refractory = np.array([1.0, 2.0, 3.0])
    pop = Population(
        "a",
        3,
        "lif",
        {"tau_m_ms": tau, "v_rest_mV": rest, "refractory_ms": refractory, "v_th_mV": -52.0},
    )
    model = pop.neuron_model
    assert "tau_m : second (constant)" in model.equations
    assert "t_refractory : second (constant)" in model.equations
    assert model.refractory == "t_refractory"  # Brian2 reserves the name 'refractory'
    assert "tau_m_ms" not in model.parameters and model.parameters["v_th_mV"] == -52.0
    assert pop.per_neuron_parameters == ["tau_m_ms", "v_rest_mV", "refractory_ms"]
    np.testing.assert_array_equal(pop.initial["tau_m_ms"], tau)
    np.testing.assert_array_equal(pop.initial["t_refractory_ms"], refractory)
    np.testing.assert_array_equal(pop.initial["v_mV"], rest)  # v starts at each neuron's rest
    # the population can be rebuilt from its own fields (a trace reader does this)
    again = Population("a", 3, "lif", pop.parameters, pop.initial)
    assert again.neuron_model == model


def test_per_neuron_populations_share_one_group() -> None:
    from neuroemu.engine.group_plan import plan_objects

    def pop(name: str, bias: np.ndarray) -> Population:
        return Population(name, len(bias), "if", {"I_bias_pA": bias})

    network = Network((pop("a", np.array([1.0, 2.0])), pop("b", np.array([3.0, 4.0, 5.0]))))
    plan = plan_objects(network, 1.0)
    assert [g.populations for g in plan.groups] == [("a", "b")]
