"""The plan of Brian2 objects: which populations share a group and which projections a Synapses."""

from __future__ import annotations

import numpy as np

from neuroemu.engine.group_plan import plan_objects
from neuroemu.network.model_files import load_model
from neuroemu.network.network import STDP, Network, PoissonInput, Population, Projection


def test_coba_is_built_as_a_brian2_user_would_write_it():
    network = load_model("coba", seed=1)
    plan = plan_objects(network, dt_ms=0.1)
    assert [g.populations for g in plan.groups] == [("exc", "inh")]
    assert plan.groups[0].offsets == {"exc": 0, "inh": 3200} and plan.groups[0].size == 4000
    assert sorted((s.source_populations, s.target) for s in plan.synapses) == [
        (("exc",), "exc"),
        (("inh",), "inh"),
    ]
    for syn in plan.synapses:
        sizes = [network.projection(p).n_synapses for p in syn.projections]
        assert syn.starts == tuple(np.cumsum([0, *sizes]))


def _network() -> Network:
    pops = (
        Population("a", 5, "lif"),
        Population("b", 4, "lif"),
        Population("c", 3, "lif", parameters={"v_bias_mV": 3.0}),
        Population("d", 2, "izhikevich"),
    )
    one = (np.array([0, 1]), np.array([1, 0]))
    projections = (
        Projection("a", "b", *one, 1.0, delay_ms=1.0),
        Projection("b", "a", *one, 1.0, delay_ms=1.04),  # rounds to the same 10 steps
        Projection("a", "a", *one, 1.0, delay_ms=np.array([1.0, 2.0])),
        Projection("a", "b", *one, 1.0, delay_ms=np.array([3.0, 2.0]), name="a_b_het"),
        Projection("a", "b", *one, 1.0, target="inh", name="a_b_inh"),
        Projection("a", "a", *one, 1.0, plasticity=STDP(), name="learning"),
        Projection("in", "a", *one, 1.0, name="in_a"),
        Projection("in", "b", *one, 1.0, name="in_b"),
        Projection("a", "c", *one, 1.0, delay_ms=1.0),
    )
    return Network(pops, projections, (PoissonInput("in", 2, 10.0),), name="plan")


def test_groups_merge_only_identical_models_and_synapses_only_compatible_projections():
    plan = plan_objects(_network(), dt_ms=0.1)
    assert [g.populations for g in plan.groups] == [("a", "b"), ("c",), ("d",)]
    assert plan.group_of == {"a": "a_b", "b": "a_b", "c": "c", "d": "d", "in": "in"}
    members = {s.projections: (s.delay_steps, s.source_populations) for s in plan.synapses}
    assert members == {
        ("a_to_b", "b_to_a"): (10, ("a", "b")),
        ("a_to_a", "a_b_het"): (None, ("a",)),
        ("a_b_inh",): (0, ("a",)),
        ("learning",): (0, ("a",)),
        ("in_a", "in_b"): (0, ()),
        ("a_to_c",): (10, ("a",)),
    }
    names = [s.name for s in plan.synapses] + [g.name for g in plan.groups]
    assert len(set(names)) == len(names)
    assert plan.synapses_of("b_to_a").slice_of("b_to_a") == slice(2, 4)


def test_no_merging_gives_one_object_per_population_and_projection():
    network = _network()
    plan = plan_objects(network, dt_ms=0.1, merge=False)
    assert [g.name for g in plan.groups] == network.population_names
    assert [s.projections for s in plan.synapses] == [(p.name,) for p in network.projections]
