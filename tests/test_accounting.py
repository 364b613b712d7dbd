"""Event counts against an independent brute-force count, and energy against hand arithmetic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import TINY_CHIP_YAML, make_tiny_network, manual_mapping

from neuroemu.accounting import count_events, counting, estimate_energy
from neuroemu.activity import Activity, ChangedCells, Spikes
from neuroemu.errors import NeuroEmuError
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


def counts_against_brute_force(chip, seed: int, n_steps: int):
    """Counts of a random plastic network's random activity, checked against the brute force;
    returned with the network, mapping and activity for further checks."""
    network = plastic_network(seed)
    rng = np.random.default_rng(seed + 10)
    mapping = manual_mapping(network, chip, rng.integers(0, 8, network.n_neurons), n_chips=2)
    activity = random_activity(network, n_steps=n_steps, seed=seed)
    counts = count_events(network, activity, mapping)
    expected = brute_force(network, activity, mapping)
    for kind in EVENT_KINDS:
        np.testing.assert_array_equal(counts.per_core[kind], expected[kind], err_msg=kind)
    return counts, network, mapping, activity


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_equal_brute_force(two_chip, seed, accumulation):
    counts, _, _, _ = counts_against_brute_force(two_chip, seed, n_steps=40)
    assert counts.per_core["chip_crossing"].sum() > 0
    assert counts.per_core["hop"].sum() > counts.per_core["message"].sum() / 2


@pytest.mark.parametrize("order", ["source order", "shuffled"])
def test_counts_equal_brute_force_in_any_synapse_order(two_chip, order, monkeypatch):
    """Synapses in source order build the fan-out a block of source neurons at a time; in any
    other order, from all synapses at once. Both count as the brute force does."""
    network = plastic_network(4)
    if order == "shuffled":
        rng = np.random.default_rng(4)
        shuffled = []
        for proj in network.projections:
            o = rng.permutation(proj.n_synapses)
            delay = proj.delay_ms if np.ndim(proj.delay_ms) == 0 else proj.delay_ms[o]
            shuffled.append(replace(proj, i=proj.i[o], j=proj.j[o], delay_ms=delay))
        network = replace(network, projections=tuple(shuffled))
    built: list[bool] = []
    blocked = counting._blocked_fanout

    def spy(*args):
        result = blocked(*args)
        built.append(result is not None)
        return result

    monkeypatch.setattr(counting, "_blocked_fanout", spy)
    mapping = manual_mapping(network, two_chip, np.arange(network.n_neurons) % 8, n_chips=2)
    activity = random_activity(network, n_steps=40, seed=4)
    counts = count_events(network, activity, mapping)
    expected = brute_force(network, activity, mapping)
    for kind in EVENT_KINDS:
        np.testing.assert_array_equal(counts.per_core[kind], expected[kind], err_msg=kind)
    assert built and all(built) == (order == "source order") and any(built) == all(built)
    assert counts.per_core["learning_update"].sum() > 0


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


# ---- SANA-FE-grade detail: changed neurons, packets to the own core, hops by direction -------

DETAILED_CHIP_YAML = (
    TINY_CHIP_YAML.replace(
        "  mesh_width_tiles: {value: 2, source: test}\n",
        "  mesh_width_tiles: {value: 1, source: test}\n  messages_to_own_core: true\n",
    )
    .replace(
        "  mesh_height_tiles: {value: 1, source: test}\n",
        "  mesh_height_tiles: {value: 2, source: test}\n",
    )
    .replace(
        "  barrier_ns: {value: 100, source: test}\n",
        "  barrier_ns: {value: 100, source: test}\n"
        "  barrier_ns_by_tiles:\n"
        "    1: {value: 10, source: test}\n"
        "    3: {value: 30, source: test}\n"
        "  core_work: send_receive_max\n"
        "  neuron_changed_ns: {value: 4, source: test}\n"
        "  message_in_ns: {value: 7, source: test}\n",
    )
    .replace(
        "  static_power_mw:\n",
        "  neuron_changed_pj: {value: 11, source: test}\n"
        "  message_in_pj: {value: 13, source: test}\n"
        "  hop_pj_by_direction:\n"
        "    east_west: {value: 3, source: test}\n"
        "    north_south: {value: 5, source: test}\n"
        "  static_power_mw:\n",
    )
)


def with_changes(
    network: Network, activity: Activity, seed: int, as_flags: bool = False
) -> Activity:
    """``activity`` plus a random record of neurons that changed (some coinciding with spikes),
    as (neuron, step) pairs or, as the engine records it, one flag per step and neuron."""
    rng = np.random.default_rng(seed)
    changed = {}
    for pop in network.populations:
        n = pop.size * activity.n_steps // 3
        key = np.unique(
            rng.integers(0, activity.n_steps, n) * pop.size + rng.integers(0, pop.size, n)
        )
        changed[pop.name] = Spikes(key % pop.size, key // pop.size)
        if as_flags:
            flags = np.zeros(activity.n_steps * pop.size, dtype=bool)
            flags[key] = True
            changed[pop.name] = ChangedCells(flags.reshape(activity.n_steps, pop.size))
    return replace(activity, changed=changed)


def brute_force_detail(network: Network, activity: Activity, mapping) -> dict[str, np.ndarray]:
    """Per (step, core) counts of the finer kinds and the step's send and receive work, by loops
    over neurons, spikes and synapses (the definitions written plainly)."""
    chip = mapping.chip
    n_steps, n_cores = activity.n_steps, mapping.n_cores
    core, xy = mapping.core_of_neuron, mapping.core_xy
    kinds = ("neuron_changed", "message", "message_in", "hop_east_west", "hop_north_south",
             "spike_out", "synaptic_event", "input_event", "learning_update")  # fmt: skip
    out = {kind: np.zeros((n_steps, n_cores), dtype=np.int64) for kind in kinds}
    dest: dict[int, set] = {}
    for proj in network.projections:
        if not network.is_input(proj.pre):
            for i, j in zip(network.global_pre(proj), network.global_post(proj), strict=True):
                dest.setdefault(int(i), set()).add(int(core[j]))  # the own core included
    for pop in network.populations:
        offset = network.offsets[pop.name]
        record = activity.changed[pop.name]
        changed = set(zip(record.neuron, record.step, strict=True))
        spikes = activity.spikes[pop.name]
        changed |= set(zip(spikes.neuron, spikes.step, strict=True))
        for n, t in changed:
            out["neuron_changed"][t, core[offset + n]] += 1
        for n, t in zip(spikes.neuron, spikes.step, strict=True):
            g = offset + int(n)
            out["spike_out"][t, core[g]] += 1
            for c in dest.get(g, ()):
                out["message"][t, core[g]] += 1
                out["message_in"][t, c] += 1
                out["hop_east_west"][t, core[g]] += abs(int(xy[c, 0] - xy[core[g], 0]))
                out["hop_north_south"][t, core[g]] += abs(int(xy[c, 1] - xy[core[g], 1]))
    for proj in network.projections:
        delays = np.floor(proj.delays_ms() / activity.dt_ms + 0.5).astype(int)
        spikes = activity.spikes[proj.pre]
        for k in range(proj.n_synapses):
            c = core[network.offsets[proj.post] + proj.j[k]]
            for n, t in zip(spikes.neuron, spikes.step, strict=True):
                if n == proj.i[k] and t + delays[k] < n_steps:
                    out["synaptic_event"][t + delays[k], c] += 1
    for source in network.inputs:
        cores = {}
        for proj in network.projections:
            if proj.pre == source.name:
                for i, j in zip(proj.i, network.global_post(proj), strict=True):
                    cores.setdefault(int(i), set()).add(int(core[j]))
        arrivals = activity.spikes[source.name]
        for n, t in zip(arrivals.neuron, arrivals.step, strict=True):
            for c in cores.get(int(n), ()):
                out["input_event"][t, c] += 1
    times = chip.work_ns()
    neurons = np.bincount(core, minlength=n_cores)
    send = neurons * times["neuron_update"] + sum(
        out[k] * times.get(k, 0.0) for k in ("neuron_changed", "spike_out", "message")
    )
    receive = sum(out[k] * times.get(k, 0.0) for k in ("message_in", "synaptic_event"))
    if chip.timing.core_work == "sum":
        hops = sum(out[k] * times[k] for k in ("hop_east_west", "hop_north_south"))
        out["step_work_ns"] = (send + receive + hops).max(axis=1)
    else:
        out["step_work_ns"] = np.maximum(send.max(axis=1), receive.max(axis=1))
    return out


# The same chip timing each core's total work, with hop times by direction.
SUMMED_CHIP_YAML = DETAILED_CHIP_YAML.replace(
    "  core_work: send_receive_max\n",
    "  hop_ns_by_direction:\n"
    "    east_west: {value: 0.5, source: test}\n"
    "    north_south: {value: 1.5, source: test}\n",
)


def detailed_case(chip, seed: int, as_flags: bool = False):
    """A random plastic network on two chips, with random spikes and changed neurons."""
    network = plastic_network(seed)
    rng = np.random.default_rng(seed + 20)
    mapping = manual_mapping(network, chip, rng.integers(0, 8, network.n_neurons), n_chips=2)
    activity = random_activity(network, n_steps=30, seed=seed)
    activity = with_changes(network, activity, seed, as_flags)
    return network, mapping, activity


@pytest.mark.parametrize("as_flags", [False, True], ids=["pairs", "flags"])
@pytest.mark.parametrize("text", [DETAILED_CHIP_YAML, SUMMED_CHIP_YAML], ids=["max", "sum"])
@pytest.mark.parametrize("seed", [0, 1])
def test_detail_counts_equal_brute_force(seed, text, as_flags, accumulation):
    """Changed neurons, packets (own core included), packets in, hops by direction and the
    step work (send and receive apart, or summed with hop times) equal loops over neurons,
    spikes and synapses; the changed neurons given as pairs or as the engine's flags."""
    # two chips side by side: x hops cross chips, y hops run inside one (tiles stacked)
    chip = parse_chip(text, "detailed.yaml")
    network, mapping, activity = detailed_case(chip, seed, as_flags)
    counts = count_events(network, activity, mapping)
    expected = brute_force_detail(network, activity, mapping)
    for kind in ("neuron_changed", "message_in", "hop_east_west", "hop_north_south"):
        np.testing.assert_array_equal(counts.detail_per_core[kind], expected[kind].sum(0), kind)
    np.testing.assert_array_equal(counts.per_core["message"], expected["message"].sum(0))
    hops = counts.detail_per_core["hop_east_west"] + counts.detail_per_core["hop_north_south"]
    np.testing.assert_array_equal(counts.per_core["hop"], hops)
    assert counts.detail_per_core["hop_north_south"].sum() > 0
    assert counts.detail_per_core["hop_east_west"].sum() > 0
    np.testing.assert_allclose(counts.step_work_ns, expected["step_work_ns"], rtol=1e-12)


def test_detail_energy_and_time_by_hand():
    """Two of every finer event, priced by hand: the access every neuron pays plus the update
    of those that changed, packets out and in, hops by direction, barrier by tiles in use."""
    chip = parse_chip(DETAILED_CHIP_YAML, "detailed.yaml")
    a = Population("a", 2, "lif")
    b = Population("b", 1, "lif")
    # a0 -> b0 on core 2 (tile 1: one hop north); a0 -> a1 on its own core 0 (a packet, 0 hops)
    proj = Projection("a", "b", np.array([0]), np.array([0]), 1.0)
    local = Projection("a", "a", np.array([0]), np.array([1]), 1.0)
    network = Network((a, b), (proj, local), name="hand")
    mapping = manual_mapping(network, chip, [0, 0, 2])
    spikes = {"a": Spikes([0, 0], [0, 1]), "b": Spikes([], [])}
    changed = {"a": Spikes([0, 1], [0, 2]), "b": Spikes([0], [1])}
    activity = Activity(1.0, 3, spikes, seed=0, device="synthetic", changed=changed)
    counts = count_events(network, activity, mapping)
    assert counts.detail_per_core["neuron_changed"].sum() == 4  # a0 at 0 (also spiked), 1; a1; b0
    assert counts.per_core["message"].sum() == 4  # 2 spikes x (own core + core 2)
    assert counts.detail_per_core["message_in"].tolist() == [2, 0, 2, 0]
    assert counts.detail_per_core["hop_north_south"].sum() == 2
    assert counts.detail_per_core["hop_east_west"].sum() == 0
    report = estimate_energy(counts, chip)
    assert report.dynamic_pj["neuron_update"] == pytest.approx(3 * 3 * 50 + 4 * 11)
    assert report.dynamic_pj["message"] == pytest.approx(4 * 2 + 4 * 13)
    assert report.dynamic_pj["hop"] == pytest.approx(2 * 5)
    assert report.dynamic_pj["synaptic_event"] == pytest.approx(4 * 20)
    # step 0: core 0 sends 2 updates x 5 + 1 change x 4 + 2 packets x 2 = 18 ns and receives
    # 1 packet x 7 + 1 synaptic event x 3 = 10 ns; core 2: 5 ns send, 10 ns receive -> 18 ns.
    # Step 1: core 0 sends 10 + 4 + 4 = 18 and receives 10; core 2 sends 5 + 4 = 9 -> 18 ns.
    # Step 2: core 0 sends 10 + 4 = 14 -> 14 ns. Two tiles in use: barrier 10 ns each step.
    assert counts.n_tiles_used == 2
    assert counts.step_work_ns.tolist() == pytest.approx([18, 18, 14])
    assert report.time_s == pytest.approx((18 + 18 + 14 + 3 * 10) * 1e-9)


def test_detail_needs_the_engine_record():
    """A chip that prices changed neurons refuses an activity without the engine's record."""
    chip = parse_chip(DETAILED_CHIP_YAML, "detailed.yaml")
    network = plastic_network(0)
    mapping = manual_mapping(network, chip, np.zeros(network.n_neurons, int))
    with pytest.raises(NeuroEmuError, match="record_changes=True"):
        count_events(network, random_activity(network, 10, 0), mapping)


def test_unknown_changed_neuron_energy_is_unpriced_not_zero():
    text = DETAILED_CHIP_YAML.replace(
        "  neuron_changed_pj: {value: 11, source: test}\n",
        "  neuron_changed_pj: {unknown: true, note: unpublished}\n",
    )
    chip = parse_chip(text, "detailed.yaml")
    network = plastic_network(0)
    mapping = manual_mapping(network, chip, np.zeros(network.n_neurons, int))
    activity = with_changes(network, random_activity(network, 10, 0), 0)
    report = estimate_energy(count_events(network, activity, mapping), chip)
    assert report.dynamic_pj["neuron_update"] is None
    assert "neuron_update" in report.unpriced
    assert report.dynamic_pj["synaptic_event"] > 0


@pytest.mark.brian2
def test_plastic_input_synapses_learn_and_count_as_brute_force(tiny_chip) -> None:
    """STDP straight from a Poisson input (no relay population): weights change in Brian2 and
    learning updates (one per delivered input spike and per post spike, per synapse) equal
    the brute-force count."""
    from neuroemu.engine.runner import simulate
    from neuroemu.mapping.mapping import map_network

    rng = np.random.default_rng(4)
    cells = Population("cells", 20, "lif", parameters={"v_bias_mV": 12.0})
    noise = PoissonInput("noise", 30, rate_hz=40.0)
    i, j = fixed_probability(30, 20, 0.3, rng)
    plastic = Projection("noise", "cells", i, j, 2.0, delay_ms=1.0, plasticity=STDP())
    network = Network((cells,), (plastic,), (noise,), name="plastic_input")
    activity = simulate(network, tiny_chip, 50.0, seed=3, device="numpy")
    assert activity.spikes["noise"].neuron.size and activity.spikes["cells"].neuron.size
    assert not np.allclose(activity.final_weights[plastic.name], plastic.weight)
    mapping = map_network(network, tiny_chip)
    counts = count_events(network, activity, mapping)
    expected = brute_force(network, activity, mapping)
    assert counts.per_core["learning_update"].tolist() == expected["learning_update"].tolist()
    assert int(counts.per_core["learning_update"].sum()) > 0


@pytest.mark.brian2
def test_host_side_populations_are_simulated_not_placed(tiny_chip, tmp_path) -> None:
    """An input stage and a readout on the host (on_chip=False): simulated, not placed; the
    input stage's spikes reach the chip as input events; every count equals the brute force
    on the chip's view, and the trace reads back."""
    from neuroemu.pipeline import run_pipeline
    from neuroemu.traces.file import read_trace, write_trace

    rng = np.random.default_rng(5)
    retina = Population("retina", 30, "lif", parameters={"v_bias_mV": 16.0}, on_chip=False)
    hidden = Population("hidden", 40, "lif", parameters={"v_bias_mV": 12.0})
    readout = Population("readout", 5, "lif", on_chip=False)
    noise = PoissonInput("noise", 10, rate_hz=50.0)
    projections = [
        Projection("noise", "retina", *fixed_probability(10, 30, 0.5, rng), 2.0),
        Projection("retina", "hidden", *fixed_probability(30, 40, 0.3, rng), 3.0, delay_ms=1.0),
        Projection("hidden", "hidden", *fixed_probability(40, 40, 0.1, rng), 0.5),
        Projection("hidden", "readout", *fixed_probability(40, 5, 0.5, rng), 1.0),
    ]
    network = Network((retina, hidden, readout), tuple(projections), (noise,), name="host")
    result = run_pipeline(network, tiny_chip, duration_ms=40.0, seed=2, device="numpy")
    assert result.activity.spikes["retina"].neuron.size > 0
    view = network.chip_view()
    assert [p.name for p in view.populations] == ["hidden"]
    assert len(result.mapping.core_of_neuron) == 40
    expected = brute_force(view, result.activity, result.mapping)
    for kind in EVENT_KINDS:
        assert result.counts.per_core[kind].tolist() == expected[kind].tolist(), kind
    assert int(result.counts.per_core["neuron_update"].sum()) == 40 * result.activity.n_steps
    assert int(result.counts.per_core["input_event"].sum()) > 0
    trace = read_trace(write_trace(tmp_path / "host.h5", result))
    assert not trace.network.population("retina").on_chip
    assert trace.layers.to_dict() == result.layers.to_dict()


# ---- chips that time no event: totals without per-step matrices ------------------------------

UNTIMED_CHIP_YAML = TINY_CHIP_YAML.replace(
    "    synaptic_event: {value: 3, source: test}\n    message: {value: 2, source: test}\nenergy:",
    "energy:",
)


def test_untimed_chip_counts_totals_only_and_equal_brute_force():
    """A chip whose only per-event time is the neuron update has the same step work every step,
    so counting keeps totals only (no per-step products); they still equal the brute force, for
    spikes delivered through several delays, the last of them after the run's end."""
    chip = parse_chip(UNTIMED_CHIP_YAML, "untimed.yaml")
    assert chip.work_ns("value") == {"neuron_update": 5}
    assert not counting._times_events(chip)
    assert counting._times_events(parse_chip(TINY_CHIP_YAML, "tiny.yaml"))
    for seed in (0, 1, 2):
        counts, network, mapping, activity = counts_against_brute_force(chip, seed, n_steps=25)
        assert counts.per_core["synaptic_event"].sum() > 0
        busiest = 5.0 * np.bincount(mapping.core_of_neuron).max()
        np.testing.assert_array_equal(counts.step_work_ns, np.full(25, busiest))
        # asking for windows keeps the per-step path; both give the same totals
        windowed = count_events(network, activity, mapping, window_ms=5.0)
        for kind in EVENT_KINDS:
            np.testing.assert_array_equal(windowed.per_core[kind], counts.per_core[kind])
        np.testing.assert_array_equal(windowed.step_work_ns, counts.step_work_ns)


@pytest.mark.parametrize("seed", [0, 1])
def test_totals_only_detail_counts_equal_the_per_step_ones(seed, monkeypatch):
    """The finer counts (changed neurons, packets in, hops by direction) and input events come
    out the same with and without per-step matrices."""
    network, mapping, activity = detailed_case(parse_chip(DETAILED_CHIP_YAML, "d.yaml"), seed + 2)
    stepped = count_events(network, activity, mapping)
    monkeypatch.setattr(counting, "_times_events", lambda chip: False)
    totals = count_events(network, activity, mapping)
    for kind in EVENT_KINDS:
        np.testing.assert_array_equal(totals.per_core[kind], stepped.per_core[kind], kind)
    assert totals.detail_per_core.keys() == stepped.detail_per_core.keys()
    for kind, values in stepped.detail_per_core.items():
        np.testing.assert_array_equal(totals.detail_per_core[kind], values, kind)
    assert sum(int(v.sum()) for v in totals.detail_per_core.values()) > 0


@pytest.mark.parametrize("rate", [0.01, 0.5])
def test_counts_equal_brute_force_with_silent_and_busy_sources(
    two_chip, rate, accumulation, monkeypatch
):
    """Sources whose neurons seldom spike (most silent: the fan-out leaves their rows out and
    keeps repeated cells apart) and sources whose neurons spike often (repeats summed), built
    in blocks of a few neurons: the counts equal the brute force."""
    monkeypatch.setattr(counting, "_BLOCK_SYNAPSES", 50)
    network = plastic_network(5)
    mapping = manual_mapping(network, two_chip, np.arange(network.n_neurons) % 8, n_chips=2)
    rng = np.random.default_rng(5)
    n_steps = 40
    spikes = {}
    for group in (*network.populations, *network.inputs):
        fired = np.argwhere(rng.random((n_steps, group.size)) < rate)
        spikes[group.name] = Spikes(fired[:, 1], fired[:, 0])
    activity = Activity(dt_ms=1.0, n_steps=n_steps, spikes=spikes, seed=5, device="synthetic")
    silent = [np.setdiff1d(np.arange(p.size), spikes[p.name].neuron) for p in network.populations]
    assert any(len(s) for s in silent) == (rate < 0.1)
    counts = count_events(network, activity, mapping)
    expected = brute_force(network, activity, mapping)
    for kind in EVENT_KINDS:
        np.testing.assert_array_equal(counts.per_core[kind], expected[kind], err_msg=kind)
    assert counts.per_core["synaptic_event"].sum() > 0
