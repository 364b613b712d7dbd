"""Event counts against an independent brute-force count, and energy against hand arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY_CHIP_YAML, make_tiny_network, manual_mapping

from neuroemu.accounting import count_events, estimate_energy
from neuroemu.activity import Activity, Spikes
from neuroemu.events import EVENT_KINDS
from neuroemu.network.connectivity import fixed_probability
from neuroemu.network.network import STDP, Network, PoissonInput, Population, Projection
from neuroemu.spec.chip import parse_chip


def plastic_network(seed: int = 0) -> Network:
    """Delays (heterogeneous and homogeneous), several projections, an input and STDP."""
    rng = np.random.default_rng(seed)
    a = Population("a", 30, "lif")
    b = Population("b", 25, "lif")
    src = PoissonInput("src", 12, 20.0)
    projections = []
    specs = [
        ("a", "b", 30, 25, rng.integers(0, 6, 10**4) * 1.0, None),
        ("b", "a", 25, 30, 2.0, None),
        ("a", "a", 30, 30, rng.uniform(0, 4.0, 10**4), STDP()),
        ("src", "a", 12, 30, 0.0, None),
        ("src", "b", 12, 25, 3.0, None),
    ]
    for pre, post, n_pre, n_post, delay, rule in specs:
        i, j = fixed_probability(n_pre, n_post, 0.3, rng)
        d = delay[: len(i)] if np.ndim(delay) else delay
        projections.append(Projection(pre, post, i, j, 0.5, delay_ms=d, plasticity=rule))
    return Network((a, b), tuple(projections), (src,), name="plastic")


def random_activity(network: Network, n_steps: int, seed: int, dt_ms: float = 1.0) -> Activity:
    rng = np.random.default_rng(seed)
    spikes = {}
    for group in (*network.populations, *network.inputs):
        n = int(group.size * n_steps * 0.05)
        neuron = rng.integers(0, group.size, n)
        step = rng.integers(0, n_steps, n)
        key = np.unique(step.astype(np.int64) * group.size + neuron)
        order = np.argsort(key // group.size, kind="stable")
        spikes[group.name] = Spikes((key % group.size)[order], (key // group.size)[order])
    return Activity(dt_ms=dt_ms, n_steps=n_steps, spikes=spikes, seed=seed, device="synthetic")


def brute_force(network: Network, activity: Activity, mapping) -> dict[str, np.ndarray]:
    """Per-synapse, per-spike loops: the definition of every event kind, written plainly."""
    n_cores = mapping.n_cores
    core = mapping.core_of_neuron
    xy = mapping.core_xy
    chip_xy = mapping.chip_xy
    out = {kind: np.zeros(n_cores, dtype=np.int64) for kind in EVENT_KINDS}
    for n in range(network.n_neurons):
        out["neuron_update"][core[n]] += activity.n_steps
    dest: dict[int, set] = {}
    input_dest: dict[int, set] = {}
    for proj in network.projections:
        for i, j in zip(network.global_pre(proj), network.global_post(proj), strict=True):
            table = input_dest if network.is_input(proj.pre) else dest
            table.setdefault(int(i), set()).add(int(core[j]))
    for pop in network.populations:
        s = activity.spikes[pop.name]
        for n in s.neuron:
            g = int(n) + network.offsets[pop.name]
            src = core[g]
            out["spike_out"][src] += 1
            for c in dest.get(g, ()):
                if c != src:
                    out["message"][src] += 1
                    out["hop"][src] += int(np.abs(xy[c] - xy[src]).sum())
                    out["chip_crossing"][src] += int(np.abs(chip_xy[c] - chip_xy[src]).sum())
    for source in network.inputs:
        for n in activity.spikes[source.name].neuron:
            for c in input_dest.get(int(n) + network.offsets[source.name], ()):
                out["input_event"][c] += 1
    for proj in network.projections:
        pre_spikes = activity.spikes[proj.pre]
        delays = np.floor(proj.delays_ms() / activity.dt_ms + 0.5).astype(int)
        post_spikes = activity.spikes[proj.post]
        for k in range(proj.n_synapses):
            c = core[network.offsets[proj.post] + proj.j[k]]
            for n, t in zip(pre_spikes.neuron, pre_spikes.step, strict=True):
                if n == proj.i[k] and t + delays[k] < activity.n_steps:
                    out["synaptic_event"][c] += 1
                    if proj.plasticity is not None:
                        out["learning_update"][c] += 1
            if proj.plasticity is not None:
                out["learning_update"][c] += int(np.count_nonzero(post_spikes.neuron == proj.j[k]))
    return out


@pytest.fixture
def two_chip():
    return parse_chip(TINY_CHIP_YAML, "tiny.yaml")


@pytest.fixture(params=["dense", "sparse", "chunked"])
def accumulation(request, monkeypatch):
    """Run a test with each way count_events accumulates: dense arrays, sparse matrices, and
    spikes expanded over their delays a few at a time."""
    if request.param == "sparse":
        monkeypatch.setattr("neuroemu.accounting.counting._DENSE_CELLS", 0)
    if request.param == "chunked":
        monkeypatch.setattr("neuroemu.accounting.counting._EXPANDED_SPIKES", 7)
    return request.param


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_equal_brute_force(two_chip, seed, accumulation):
    network = plastic_network(seed)
    rng = np.random.default_rng(seed + 10)
    mapping = manual_mapping(network, two_chip, rng.integers(0, 8, network.n_neurons), n_chips=2)
    activity = random_activity(network, n_steps=40, seed=seed)
    counts = count_events(network, activity, mapping)
    expected = brute_force(network, activity, mapping)
    for kind in EVENT_KINDS:
        np.testing.assert_array_equal(counts.per_core[kind], expected[kind], err_msg=kind)
    assert counts.per_core["chip_crossing"].sum() > 0
    assert counts.per_core["hop"].sum() > counts.per_core["message"].sum() / 2


def test_delayed_spikes_after_the_end_are_not_delivered(two_chip):
    pre = Population("pre", 1, "lif")
    post = Population("post", 1, "lif")
    proj = Projection("pre", "post", np.array([0]), np.array([0]), 1.0, delay_ms=3.0)
    network = Network((pre, post), (proj,))
    mapping = manual_mapping(network, two_chip, [0, 1])
    spikes = {"pre": Spikes([0, 0, 0], [0, 6, 7]), "post": Spikes([], [])}
    activity = Activity(dt_ms=1.0, n_steps=10, spikes=spikes, seed=0, device="synthetic")
    counts = count_events(network, activity, mapping)
    # step 0 + 3 and 6 + 3 arrive inside the 10 steps; 7 + 3 = 10 would arrive after the end
    assert counts.per_core["synaptic_event"].tolist() == [0, 2, 0, 0]
    assert counts.per_core["spike_out"].tolist() == [3, 0, 0, 0]
    assert counts.per_core["message"].tolist() == [3, 0, 0, 0]


def test_windows_and_steps_sum_to_totals(two_chip, accumulation):
    network = plastic_network(3)
    mapping = manual_mapping(network, two_chip, np.arange(network.n_neurons) % 8, n_chips=2)
    activity = random_activity(network, n_steps=50, seed=3)
    counts = count_events(network, activity, mapping, window_ms=7.0, per_step=True)
    for kind in EVENT_KINDS:
        np.testing.assert_array_equal(counts.windows[kind].sum(axis=0), counts.per_core[kind])
        if kind != "neuron_update":
            np.testing.assert_array_equal(
                np.asarray(counts.per_step[kind].sum(axis=0)).ravel(), counts.per_core[kind]
            )
    assert counts.windows["synaptic_event"].shape == (8, 8)  # ceil(50 / 7) windows


def two_of_everything():
    """One spike of each neuron; every event kind happens exactly twice."""
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    a = Population("a", 1, "lif")
    b = Population("b", 1, "lif")
    src = PoissonInput("src", 1, 1.0)
    one = np.array([0])
    projections = (
        Projection("a", "b", one, one, 1.0, plasticity=STDP(), name="ab"),
        Projection("src", "a", one, one, 1.0, name="in_a"),
    )
    network = Network((a, b), projections, (src,))
    # a on core 0 of chip 0, b on core 4 = core 0 of chip 1, two tiles to the east
    mapping = manual_mapping(network, chip, [0, 4], n_chips=2)
    spikes = {
        "a": Spikes([0, 0], [1, 3]),
        "b": Spikes([0, 0], [0, 2]),
        "src": Spikes([0, 0], [0, 1]),
    }
    activity = Activity(dt_ms=1.0, n_steps=4, spikes=spikes, seed=0, device="x")
    return chip, network, mapping, activity


def test_energy_is_the_sum_of_hand_computed_parts():
    chip, network, mapping, activity = two_of_everything()
    counts = count_events(network, activity, mapping)
    totals = counts.totals()
    assert totals["spike_out"] == 4 and totals["message"] == 2 and totals["hop"] == 4
    assert totals["chip_crossing"] == 2
    # ab delivers a's 2 spikes, in_a delivers src's 2 spikes
    assert totals["synaptic_event"] == 4 and totals["input_event"] == 2
    # STDP: 2 presynaptic deliveries + 2 postsynaptic spikes x in-degree 1
    assert totals["learning_update"] == 4
    assert totals["neuron_update"] == 2 * 4
    report = estimate_energy(counts, chip)
    expected_dynamic = {
        "neuron_update": 8 * 50.0,
        "synaptic_event": 4 * 20.0,
        "spike_out": 4 * 7.0,
        "message": 2 * 2.0,
        "hop": 4 * 3.0,
        "chip_crossing": 2 * 100.0,
        "learning_update": 4 * 120.0,
        "input_event": 2 * 1.5,
    }
    assert report.dynamic_pj == pytest.approx(expected_dynamic)
    # barrier chip: each step lasts the busiest core's work plus 100 ns of barrier
    # core 0 (a): 5 ns update, input synaptic events at steps 0 and 1 (3 ns), messages at steps
    # 1 and 3 (2 ns); core 4 (b): 5 ns update, deliveries from a at steps 1 and 3 (3 ns).
    step_ns = [5.0 + 3.0, 5.0 + 3.0 + 2.0, 5.0, 5.0 + 3.0]
    assert counts.step_work_ns.tolist() == pytest.approx(step_ns)
    time_s = (sum(step_ns) + 4 * 100.0) * 1e-9
    assert report.time_s == pytest.approx(time_s)
    static_pj = (10.0 * 2 + 0.5 * 2) * 1e-3 * time_s * 1e12  # 2 chips, 2 cores used
    assert report.static_pj == pytest.approx(static_pj)
    assert report.total_pj == pytest.approx(sum(expected_dynamic.values()) + static_pj)
    assert report.per_core_pj.sum() == pytest.approx(sum(expected_dynamic.values()))
    assert report.energy_per_synaptic_event_pj == pytest.approx(report.total_pj / 4)
    assert report.energy_delay_product_js == pytest.approx(report.total_pj * 1e-12 * time_s)


def test_unknown_energy_is_reported_not_zeroed():
    text = TINY_CHIP_YAML.replace(
        "hop: {value: 3, source: test}", 'hop: {unknown: true, note: "not published"}'
    )
    chip = parse_chip(text, "tiny.yaml")
    _, network, mapping, activity = two_of_everything()
    mapping = manual_mapping(network, chip, [0, 2])
    report = estimate_energy(count_events(network, activity, mapping), chip)
    assert report.unpriced == ("hop",)
    assert report.dynamic_pj["hop"] is None
    assert report.total_pj is None and report.per_core_pj is None
    # with both neurons on one core there are no hops, so nothing is left unpriced
    mapping = manual_mapping(network, chip, [0, 0])
    report = estimate_energy(count_events(network, activity, mapping), chip)
    assert report.unpriced == () and report.total_pj is not None


def test_amortised_chip_adds_no_static_power():
    text = TINY_CHIP_YAML.replace("accounting: marginal", "accounting: amortised")
    text = text[: text.index("  static_power_mw:")]
    chip = parse_chip(text, "tiny.yaml")
    _, network, _, activity = two_of_everything()
    mapping = manual_mapping(network, chip, [0, 2])
    report = estimate_energy(count_events(network, activity, mapping), chip)
    assert report.static_pj == 0.0
    assert report.total_pj == pytest.approx(report.dynamic_total_pj)


def test_tick_chip_time_and_overrun():
    text = TINY_CHIP_YAML.replace(
        "mode: barrier", "mode: tick\n  tick_ms: {value: 1.0e-6, source: test}"
    )
    chip = parse_chip(text, "tiny.yaml")
    _, network, _, activity = two_of_everything()
    mapping = manual_mapping(network, chip, [0, 2])
    report = estimate_energy(count_events(network, activity, mapping), chip)
    # a 1 ns tick is overrun by every step: time = sum of the busiest cores' work
    assert report.time_s == pytest.approx(31e-9)
    assert any("overran" in note for note in report.notes)


def test_counting_is_deterministic(two_chip):
    network = make_tiny_network(seed=4, delay_ms=2.0)
    mapping = manual_mapping(network, two_chip, np.arange(network.n_neurons) % 4)
    activity = random_activity(network, n_steps=30, seed=4)
    a = count_events(network, activity, mapping)
    b = count_events(network, activity, mapping)
    for kind in EVENT_KINDS:
        assert a.per_core[kind].tobytes() == b.per_core[kind].tobytes()
    assert estimate_energy(a, two_chip).total_pj == estimate_energy(b, two_chip).total_pj


def test_dense_and_sparse_accumulation_agree(two_chip, monkeypatch):
    network = plastic_network(4)
    mapping = manual_mapping(network, two_chip, np.arange(network.n_neurons) % 5, n_chips=2)
    activity = random_activity(network, n_steps=60, seed=4)
    dense = count_events(network, activity, mapping, window_ms=9.0, per_step=True)
    monkeypatch.setattr("neuroemu.accounting.counting._DENSE_CELLS", 0)
    sparse = count_events(network, activity, mapping, window_ms=9.0, per_step=True)
    for kind in EVENT_KINDS:
        np.testing.assert_array_equal(dense.per_core[kind], sparse.per_core[kind])
        np.testing.assert_array_equal(dense.windows[kind], sparse.windows[kind])
    for kind, matrix in dense.per_step.items():
        assert matrix.shape == (60, mapping.n_cores)
        np.testing.assert_array_equal(matrix.toarray(), sparse.per_step[kind].toarray())
    np.testing.assert_allclose(dense.step_work_ns, sparse.step_work_ns, rtol=1e-12)
    assert dense.step_work_ns.max() > dense.step_work_ns.min()
