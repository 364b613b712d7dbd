"""Per-layer counts against the totals and an independent brute force; energy parts against the
report; NeuroBench metrics by hand."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from conftest import TINY_CHIP_YAML, make_tiny_network, manual_mapping
from test_accounting import DETAILED_CHIP_YAML, plastic_network, random_activity, with_changes

from neuroemu.accounting import count_events, estimate_energy
from neuroemu.accounting.layers import (
    count_by_layer,
    layer_report,
    neurobench_metrics,
    price_by_layer,
)
from neuroemu.activity import Activity, Spikes
from neuroemu.errors import NeuroEmuError
from neuroemu.events import EVENT_KINDS
from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput
from neuroemu.spec.chip import parse_chip


def brute_force_layers(network: Network, activity: Activity, mapping):
    """Per group and per projection, by loops over spikes and synapses: the attribution rules
    written plainly (source group for what a spike sends, post population and projection for
    deliveries, source input for input events)."""
    core, xy, chip_xy = mapping.core_of_neuron, mapping.core_xy, mapping.chip_xy
    names = [g.name for g in (*network.populations, *network.inputs)]
    group = {kind: dict.fromkeys(names, 0) for kind in EVENT_KINDS}
    proj_counts = {k: {p.name: 0 for p in network.projections} for k in EVENT_KINDS}
    dest: dict[int, set] = {}
    input_dest: dict[int, set] = {}
    for proj in network.projections:
        for i, j in zip(network.global_pre(proj), network.global_post(proj), strict=True):
            table = input_dest if network.is_input(proj.pre) else dest
            table.setdefault(int(i), set()).add(int(core[j]))
    for pop in network.populations:
        group["neuron_update"][pop.name] = pop.size * activity.n_steps
        for n in activity.spikes[pop.name].neuron:
            g = int(n) + network.offsets[pop.name]
            group["spike_out"][pop.name] += 1
            for c in dest.get(g, ()):
                if c != core[g]:
                    group["message"][pop.name] += 1
                    group["hop"][pop.name] += int(np.abs(xy[c] - xy[core[g]]).sum())
                    crossings = int(np.abs(chip_xy[c] - chip_xy[core[g]]).sum())
                    group["chip_crossing"][pop.name] += crossings
    for source in network.inputs:
        for n in activity.spikes[source.name].neuron:
            reached = input_dest.get(int(n) + network.offsets[source.name], ())
            group["input_event"][source.name] += len(reached)
    for proj in network.projections:
        spikes = activity.spikes[proj.pre]
        delays = np.floor(proj.delays_ms() / activity.dt_ms + 0.5).astype(int)
        for k in range(proj.n_synapses):
            for n, t in zip(spikes.neuron, spikes.step, strict=True):
                if n == proj.i[k] and t + delays[k] < activity.n_steps:
                    proj_counts["synaptic_event"][proj.name] += 1
                    if proj.plasticity is not None:
                        proj_counts["learning_update"][proj.name] += 1
            if proj.plasticity is not None:
                post = activity.spikes[proj.post].neuron
                proj_counts["learning_update"][proj.name] += int(np.sum(post == proj.j[k]))
        for kind in ("synaptic_event", "learning_update"):
            group[kind][proj.post] += proj_counts[kind][proj.name]
    return group, proj_counts


def spike_times_network(seed: int) -> Network:
    """The tiny network with per-synapse delays of 0-4 ms, plus a spike-time input."""
    base = make_tiny_network(seed)
    rng = np.random.default_rng(seed)
    projections = [
        Projection(p.pre, p.post, p.i, p.j, p.weight, rng.integers(0, 5, p.n_synapses) * 1.0)
        for p in base.projections
    ]
    cue = SpikeTimesInput("cue", 5, rng.integers(0, 5, 30), rng.uniform(0, 25, 30))
    i, j = rng.integers(0, 5, 40), rng.integers(0, 20, 40)
    projections.append(Projection("cue", "inh", i, j, 1.0, delay_ms=2.0))
    return Network(base.populations, tuple(projections), (*base.inputs, cue))


CASES = ["plastic-two-chips", "tiny-one-chip", "delays-and-spike-times"]


def case(name: str, seed: int):
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    rng = np.random.default_rng(seed + 30)
    if name == "plastic-two-chips":
        network = plastic_network(seed)
        placement, n_chips = rng.integers(0, 8, network.n_neurons), 2
    elif name == "tiny-one-chip":
        network = make_tiny_network(seed, delay_ms=1.0)
        placement, n_chips = np.arange(network.n_neurons) % 4, 1
    else:
        network = spike_times_network(seed)
        placement, n_chips = rng.integers(0, 12, network.n_neurons), 3
    mapping = manual_mapping(network, chip, placement, n_chips=n_chips)
    return chip, network, mapping, random_activity(network, n_steps=30, seed=seed)


def test_spike_times_case_has_heterogeneous_delays():
    _, network, _, _ = case("delays-and-spike-times", 0)
    assert any(np.ndim(p.delay_ms) == 1 for p in network.projections)
    assert [s.name for s in network.inputs] == ["noise", "cue"]


@pytest.fixture(params=["dense", "sparse", "chunked"])
def accumulation(request, monkeypatch):
    """Each way the shared machinery accumulates (as in test_accounting): dense arrays, sparse
    matrices, spikes expanded over their delays a few at a time."""
    if request.param == "sparse":
        monkeypatch.setattr("neuroemu.accounting.counting._DENSE_CELLS", 0)
    if request.param == "chunked":
        monkeypatch.setattr("neuroemu.accounting.counting._EXPANDED_SPIKES", 7)
    return request.param


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_rows_sum_to_totals_and_equal_brute_force(name, seed, accumulation):
    _, network, mapping, activity = case(name, seed)
    counts = count_events(network, activity, mapping)
    layers = count_by_layer(network, activity, mapping, counts)
    totals = counts.totals()
    for kind in EVENT_KINDS:
        assert layers.per_group[kind].dtype == np.int64
        assert int(layers.per_group[kind].sum()) == totals[kind], kind
    for kind, values in layers.per_projection.items():
        assert int(values.sum()) == totals[kind], kind
    group, projection = brute_force_layers(network, activity, mapping)
    for kind in EVENT_KINDS:
        assert dict(zip(layers.groups, layers.per_group[kind].tolist(), strict=True)) == group[kind]
    for kind, values in layers.per_projection.items():
        assert dict(zip(layers.projections, values.tolist(), strict=True)) == projection[kind]
    # every kind the case can produce did occur, so the sums test something
    for kind in ("synaptic_event", "message", "hop", "input_event"):
        assert totals[kind] > 0, kind
    if name == "plastic-two-chips":
        assert totals["learning_update"] > 0 and totals["chip_crossing"] > 0


@pytest.mark.parametrize("as_flags", [False, True], ids=["pairs", "flags"])
def test_rows_sum_to_totals_with_detail_counts(as_flags):
    """A chip with finer counts (changed neurons, packets in, hops by direction): each finer
    count's rows sum to its total too, and the energy parts sum to the report's; the changed
    neurons given as pairs or as the engine's flags."""
    chip = parse_chip(DETAILED_CHIP_YAML, "detailed.yaml")
    network = plastic_network(2)
    rng = np.random.default_rng(5)
    mapping = manual_mapping(network, chip, rng.integers(0, 8, network.n_neurons), n_chips=2)
    activity = with_changes(network, random_activity(network, n_steps=25, seed=2), 2, as_flags)
    counts = count_events(network, activity, mapping)
    layers = count_by_layer(network, activity, mapping, counts)
    assert set(layers.detail_per_group) == set(counts.detail_per_core)
    for kind, values in layers.detail_per_group.items():
        assert int(values.sum()) == int(counts.detail_per_core[kind].sum()) > 0, kind
    assert_energy_matches(layers, counts, chip)


def assert_energy_matches(layers, counts, chip):
    report = estimate_energy(counts, chip)
    energy = price_by_layer(layers, chip)
    for kind, value in report.dynamic_pj.items():
        assert energy.dynamic_pj[kind].sum() == pytest.approx(value, rel=1e-12), kind
    assert energy.total_pj.sum() == pytest.approx(report.dynamic_total_pj, rel=1e-12)
    for kind, values in energy.projection_dynamic_pj.items():
        assert values.sum() == pytest.approx(report.dynamic_pj[kind], rel=1e-12), kind
    assert energy.work_share.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("name", CASES)
def test_energy_parts_sum_to_the_report(name):
    chip, network, mapping, activity = case(name, 3)
    counts = count_events(network, activity, mapping)
    assert_energy_matches(count_by_layer(network, activity, mapping, counts), counts, chip)


def test_energy_and_work_by_hand():
    """a (1 neuron, core 0) -> b (1 neuron, core 2, the next tile): 2 spikes of a, 1 of b."""
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    a, b = Population("a", 1, "lif"), Population("b", 1, "lif")
    proj = Projection("a", "b", np.array([0]), np.array([0]), 1.0, name="ab")
    network = Network((a, b), (proj,))
    mapping = manual_mapping(network, chip, [0, 2])
    spikes = {"a": Spikes([0, 0], [0, 2]), "b": Spikes([0], [1])}
    activity = Activity(dt_ms=1.0, n_steps=4, spikes=spikes, seed=0, device="synthetic")
    report = layer_report(network, activity, mapping, count_events(network, activity, mapping))
    a_row, b_row = report.group_rows()
    # a: 4 updates x 50 + 2 spikes x 7 + 2 messages x 2 + 2 hops x 3 pJ
    assert a_row["dynamic_pj"] == pytest.approx(200 + 14 + 4 + 6)
    # b: 4 updates x 50 + 1 spike x 7 + 2 synaptic events x 20 pJ (b's spike sends nothing)
    assert b_row["dynamic_pj"] == pytest.approx(200 + 7 + 40)
    # work: a 4 x 5 + 2 messages x 2 ns, b 4 x 5 + 2 synaptic events x 3 ns
    assert a_row["work_ns"] == pytest.approx(24) and b_row["work_ns"] == pytest.approx(26)
    assert a_row["work_share"] == pytest.approx(24 / 50)
    (ab,) = report.projection_rows()
    assert ab["synaptic_event"] == 2 and ab["synaptic_event_pj"] == pytest.approx(40)
    assert ab["work_share"] == pytest.approx(6 / 50)


def test_unknown_energy_stays_unpriced_per_row():
    text = TINY_CHIP_YAML.replace(
        "hop: {value: 3, source: test}", 'hop: {unknown: true, note: "not published"}'
    )
    chip = parse_chip(text, "tiny.yaml")
    _, network, mapping, activity = case("tiny-one-chip", 0)
    mapping = manual_mapping(network, chip, mapping.core_of_neuron)
    counts = count_events(network, activity, mapping)
    energy = price_by_layer(count_by_layer(network, activity, mapping, counts), chip)
    assert energy.dynamic_pj["hop"] is None and energy.total_pj is None
    assert energy.unpriced == estimate_energy(counts, chip).unpriced == ("hop",)


def test_counts_of_another_run_are_refused():
    _, network, mapping, activity = case("tiny-one-chip", 0)
    other = random_activity(network, n_steps=30, seed=9)
    counts = count_events(network, other, mapping)
    with pytest.raises(NeuroEmuError, match="do not sum to the run's counts"):
        count_by_layer(network, activity, mapping, counts)


def three_neurons():
    """in (1 source) -> a (2 neurons) -> b (1 neuron), weights with zeros and a multapse."""
    a = Population("a", 2, "lif", parameters={"tau_m_ms": np.array([10.0, 20.0])})
    b = Population("b", 1, "lif")
    src = SpikeTimesInput("src", 1, np.array([0, 0]), np.array([0.0, 1.0]))
    projections = (
        # src -> a0 (w 1), src -> a1 (w 0: no connection for NeuroBench)
        Projection("src", "a", np.array([0, 0]), np.array([0, 1]), np.array([1.0, 0.0])),
        # a0 -> b0 twice (one matrix entry, weights summed), a1 -> b0 (w 2), delay 2 ms
        Projection("a", "b", np.array([0, 0, 1]), np.array([0, 0, 0]), [0.5, 0.5, 2.0], 2.0),
    )
    network = Network((a, b), projections, (src,), inference_ms=2.0)
    spikes = {
        "src": Spikes([0, 0], [0, 1]),
        "a": Spikes([0, 1, 0], [1, 1, 3]),  # a0 twice, a1 once; a0's at 3 + 2 ms is late
        "b": Spikes([0], [2]),
    }
    return network, Activity(dt_ms=1.0, n_steps=4, spikes=spikes, seed=0, device="synthetic")


def test_neurobench_metrics_by_hand():
    network, activity = three_neurons()
    metrics = neurobench_metrics(network, activity)
    # src -> a: 2 spikes x 1 non-zero weight; a -> b: a0 2 spikes x 1 entry + a1 1 spike x 1
    assert metrics.effective_acs.tolist() == [2, 3]
    assert metrics.dense_ops.tolist() == [4 * 1 * 2, 4 * 2 * 1]
    assert metrics.n_nonzero_weights.tolist() == [1, 2]
    assert metrics.connection_sparsity == pytest.approx(1 - 3 / 4)
    # 4 spikes of 3 neurons over 4 steps; the input's spikes are data, not activations
    assert metrics.activation_sparsity == pytest.approx(1 - 4 / 12)
    # 4 ms of 2 ms inferences: 2 samples
    assert metrics.totals()["effective_acs_per_sample"] == pytest.approx(5 / 2)
    # src->a: 2 float64 weights, a 0-d float64 delay, 2 + 2 int32 indices; a->b: 3 weights ...
    assert metrics.projection_bytes.tolist() == [2 * 8 + 8 + 4 * 4, 3 * 8 + 8 + 6 * 4]
    assert metrics.projection_dense_bytes.tolist() == [2 * 8, 2 * 8]
    # lif has 6 parameters (8 bytes each); a gives tau_m_ms per neuron: 5 shared + 2 x 8 bytes
    assert len(Population("x", 1, "lif").neuron_model.parameters) == 6
    assert metrics.neuron_bytes.tolist() == [5 * 8 + 2 * 8, 6 * 8, 0]
    assert metrics.footprint_bytes == 40 + 56 + 56 + 48


def test_report_rows_and_plain_data():
    network, activity = three_neurons()
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    mapping = manual_mapping(network, chip, [0, 0, 1])
    counts = count_events(network, activity, mapping)
    report = layer_report(network, activity, mapping, counts)
    data = report.to_dict()
    rows = {row["name"]: row for row in data["groups"]}
    assert list(rows) == ["a", "b", "src"]
    assert rows["src"]["type"] == "input" and rows["src"]["activation_sparsity"] is None
    assert rows["src"]["input_event"] == 2 and rows["src"]["neuron_update"] == 0
    # the layer of b: its neuron and a -> b. Synaptic events: a0's spike at 1 through its 2
    # synapses, a1's at 1 through 1 (a0's at 3 arrives after the end). NeuroBench's ACs: every
    # spike once per matrix entry, in time or not: a0 2 x 1 + a1 1 x 1.
    assert rows["b"]["synaptic_event"] == 3 and rows["b"]["effective_acs"] == 3
    # src -> a: 2 spikes x 2 synapses, the zero weight too; NeuroBench skips the zero weight
    assert rows["a"]["synaptic_event"] == 4 and rows["a"]["effective_acs"] == 2
    assert rows["b"]["connection_sparsity"] == pytest.approx(0.0)
    assert rows["a"]["connection_sparsity"] == pytest.approx(0.5)
    assert rows["b"]["activation_sparsity"] == pytest.approx(1 - 1 / 4)
    assert sum(r["footprint_bytes"] for r in rows.values()) == report.metrics.footprint_bytes
    assert data["neurobench"]["connection_sparsity"] == pytest.approx(0.25)
    json.dumps(data)  # plain data only


def test_to_dataframe():
    pandas = pytest.importorskip("pandas")
    network, activity = three_neurons()
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    report = layer_report(network, activity, manual_mapping(network, chip, [0, 0, 1]))
    frame = report.to_dataframe()
    assert isinstance(frame, pandas.DataFrame) and list(frame.index) == ["a", "b", "src"]
    assert list(report.to_dataframe("projection").index) == ["src_to_a", "a_to_b"]


def test_to_dataframe_without_pandas_says_how(monkeypatch):
    network, activity = three_neurons()
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    report = layer_report(network, activity, manual_mapping(network, chip, [0, 0, 1]))
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an import of a missing module sees
    with pytest.raises(NeuroEmuError, match="pip install pandas"):
        report.to_dataframe()
    with pytest.raises(NeuroEmuError, match="expected 'population' or 'projection'"):
        report.to_dataframe("core")
