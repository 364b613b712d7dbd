"""Synaptic events of kernel-stored (convolutional) projections at their own price and time.

SANA-FE's Loihi model (arch/loihi.yaml) prices a synaptic event by the synapse unit of its
connection: 24.0 pJ and 3.1 ns for ``loihi_conv_synapse``, 35.5 pJ and 3.8 ns for the dense
unit. chips/loihi-sanafe.yaml carries the conv figures in ``core.shared_encodings.conv``; a
network with a convolution and a dense readout is priced here by hand from per-projection
counts written out plainly, and a chip without the figures must price exactly as before.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from neuroemu.accounting import count_events, estimate_energy
from neuroemu.activity import Activity, Spikes
from neuroemu.errors import DescriptorError
from neuroemu.events import EVENT_KINDS
from neuroemu.mapping.mapping import map_network
from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput
from neuroemu.network.structure import ConvStructure
from neuroemu.spec.chip import ChipSpec, load_chip, parse_chip

CONV_PJ, DENSE_PJ = 24.0, 35.5  # SANA-FE arch/loihi.yaml, loihi_conv_synapse and dense synapse
CONV_NS, DENSE_NS = 3.1, 3.8


def conv_synapses(conv: ConvStructure) -> tuple[np.ndarray, np.ndarray]:
    """Every synapse (pre, post) of a stride-1 unpadded convolution, written as loops."""
    c_in, h_in, w_in = conv.in_shape
    c_out, h_out, w_out = conv.out_shape
    kh, kw = conv.kernel
    pre, post = [], []
    for co in range(c_out):
        for ci in range(c_in):
            for y in range(h_out):
                for x in range(w_out):
                    for ky in range(kh):
                        for kx in range(kw):
                            pre.append(ci * h_in * w_in + (y + ky) * w_in + x + kx)
                            post.append(co * h_out * w_out + y * w_out + x)
    return np.array(pre), np.array(post)


def conv_network() -> Network:
    """An input map, a 3x3 convolution (stored as kernels on Loihi) and a dense readout."""
    conv = ConvStructure((2, 6, 6), (4, 4, 4), (3, 3))
    i, j = conv_synapses(conv)
    source = SpikeTimesInput("pixels", conv.n_in, np.zeros(0, dtype=np.int64), np.zeros(0))
    feature = Population("feature", conv.n_out, "lif")
    readout = Population("readout", 10, "lif")
    dense_i, dense_j = np.divmod(np.arange(conv.n_out * 10), 10)
    projections = (
        Projection("pixels", "feature", i, j, 1.0, name="conv", structure=conv),
        Projection("feature", "readout", dense_i, dense_j, 0.5, name="dense", delay_ms=2.0),
    )
    return Network((feature, readout), projections, (source,), name="convnet")


def random_activity(network: Network, n_steps: int = 40, seed: int = 3) -> Activity:
    rng = np.random.default_rng(seed)
    spikes = {}
    for group in (*network.populations, *network.inputs):
        key = np.unique(rng.integers(0, group.size * n_steps, group.size * n_steps // 5))
        spikes[group.name] = Spikes(key % group.size, key // group.size)
    # the neurons whose state changed (SANA-FE's update charge): here those that spiked
    changed = {pop.name: spikes[pop.name] for pop in network.populations}
    return Activity(
        dt_ms=1.0, n_steps=n_steps, spikes=spikes, seed=seed, device="synthetic", changed=changed
    )


def delivered(network: Network, activity: Activity, name: str) -> int:
    """Synaptic events of one projection: each spike x its neuron's synapses, when it arrives
    before the run ends (delays in whole steps)."""
    proj = next(p for p in network.projections if p.name == name)
    delay = round(float(np.max(proj.delay_ms)) / activity.dt_ms)
    out_degree = np.bincount(proj.i, minlength=int(proj.i.max()) + 1)
    spikes = activity.spikes[proj.pre]
    arrives = spikes.step + delay < activity.n_steps
    return int(out_degree[spikes.neuron[arrives]].sum())


def without_conv_prices(chip: ChipSpec) -> ChipSpec:
    """The same descriptor with the conv section's synaptic_event_pj and _ns removed."""
    data = yaml.safe_load(chip.text)
    conv = data["core"]["shared_encodings"]["conv"]
    del conv["synaptic_event_pj"], conv["synaptic_event_ns"]
    return parse_chip(yaml.safe_dump(data, sort_keys=False), "no-conv-prices.yaml")


@pytest.fixture(scope="module")
def run() -> tuple[Network, Activity]:
    network = conv_network()
    return network, random_activity(network)


def test_descriptor_carries_sanafe_conv_unit() -> None:
    chip = load_chip("loihi-sanafe")
    energy, time = chip.conv_prices()
    assert energy is not None and energy.value == CONV_PJ and energy.source == "sanafe_conv"
    assert time is not None and time.value == CONV_NS and time.source == "sanafe_conv"
    assert chip.energy_pj("synaptic_event") == DENSE_PJ and chip.time_ns("synaptic_event") == 3.8
    assert "synaptic_event_conv" in chip.detail_kinds()
    # Davies 2018 gives no conv-specific figure: Loihi's own descriptor has none
    assert load_chip("loihi").conv_prices() == (None, None)
    assert "synaptic_event_conv" not in load_chip("loihi").detail_kinds()


def test_conv_events_priced_by_hand(run: tuple[Network, Activity]) -> None:
    network, activity = run
    chip = load_chip("loihi-sanafe")
    mapping = map_network(network, chip)
    stored = {e.projection: e.encoding for e in mapping.encodings}
    assert stored["conv"] == "conv" and stored["dense"] != "conv"
    counts = count_events(network, activity, mapping)
    conv_events = delivered(network, activity, "conv")
    dense_events = delivered(network, activity, "dense")
    assert conv_events > 0 and dense_events > 0
    assert counts.totals()["synaptic_event"] == conv_events + dense_events
    assert int(counts.detail_per_core["synaptic_event_conv"].sum()) == conv_events
    conv = counts.detail_per_core["synaptic_event_conv"]
    assert (conv <= counts.per_core["synaptic_event"]).all()

    report = estimate_energy(counts, chip)
    by_hand = conv_events * CONV_PJ + dense_events * DENSE_PJ
    assert report.dynamic_pj["synaptic_event"] == pytest.approx(by_hand, rel=1e-12)
    # the other kinds are priced as the chip without conv prices prices them
    plain = estimate_energy(counts, without_conv_prices(chip))
    for kind in EVENT_KINDS:
        if kind != "synaptic_event":
            assert report.dynamic_pj[kind] == plain.dynamic_pj[kind], kind
    assert plain.dynamic_pj["synaptic_event"] == (conv_events + dense_events) * DENSE_PJ


def test_totals_equal_sum_of_parts(run: tuple[Network, Activity]) -> None:
    network, activity = run
    chip = load_chip("loihi-sanafe")
    counts = count_events(network, activity, map_network(network, chip))
    report = estimate_energy(counts, chip)
    for priced in (report, report.low, report.high):
        assert priced is not None and priced.per_core_pj is not None
        parts = sum(v for v in priced.dynamic_pj.values() if v is not None)
        assert priced.dynamic_total_pj == pytest.approx(parts, rel=1e-12)
        assert float(priced.per_core_pj.sum()) == pytest.approx(parts, rel=1e-12)
        assert (priced.per_core_pj >= 0).all()
    # per core: explicit events at the dense price, conv events at the conv price
    conv = counts.detail_per_core["synaptic_event_conv"]
    explicit = counts.per_core["synaptic_event"] - conv
    synaptic = explicit * DENSE_PJ + conv * CONV_PJ
    assert report.dynamic_pj["synaptic_event"] == pytest.approx(float(synaptic.sum()), rel=1e-12)


def test_chip_without_conv_prices_is_bit_identical(run: tuple[Network, Activity]) -> None:
    network, activity = run
    chip = load_chip("loihi-sanafe")
    plain_chip = without_conv_prices(chip)
    assert "synaptic_event_conv" not in plain_chip.detail_kinds()
    with_split = count_events(network, activity, map_network(network, chip))
    plain = count_events(network, activity, map_network(network, plain_chip))
    assert "synaptic_event_conv" not in plain.detail_per_core
    for kind in EVENT_KINDS:  # the split leaves every existing count as it was
        assert np.array_equal(with_split.per_core[kind], plain.per_core[kind]), kind
    for kind, values in plain.detail_per_core.items():
        assert np.array_equal(with_split.detail_per_core[kind], values), kind
    report = estimate_energy(plain, plain_chip)
    total = float(plain.per_core["synaptic_event"].sum())
    assert report.dynamic_pj["synaptic_event"] == total * DENSE_PJ  # exact, no conv term
    # Loihi (Davies 2018): every synaptic event at its one figure, as before
    loihi = load_chip("loihi")
    counts = count_events(network, activity, map_network(network, loihi))
    assert counts.detail_per_core == {}
    priced = estimate_energy(counts, loihi)
    assert priced.dynamic_pj["synaptic_event"] == float(counts.totals()["synaptic_event"]) * 23.6


def brute_step_work(network: Network, activity: Activity, mapping, times: dict) -> np.ndarray:
    """Per step, the busiest core's synaptic work, each delivery written out one by one."""
    work = np.zeros((activity.n_steps, mapping.n_cores))
    for proj in network.projections:
        delay = round(float(np.max(proj.delay_ms)) / activity.dt_ms)
        post_core = mapping.core_of_neuron[network.global_post(proj)]
        spikes = activity.spikes[proj.pre]
        for neuron, step in zip(spikes.neuron, spikes.step, strict=True):
            if step + delay >= activity.n_steps:
                continue
            for core in post_core[proj.i == neuron]:
                work[step + delay, core] += times[proj.name]
    return work.max(axis=1)


def test_conv_events_timed_by_hand(run: tuple[Network, Activity]) -> None:
    network, activity = run
    data = yaml.safe_load(load_chip("loihi-sanafe").text)
    timing = data["timing"]  # synaptic events are the only work, summed per core
    timing["per_event_ns"] = {"synaptic_event": timing["per_event_ns"]["synaptic_event"]}
    for name in ("neuron_changed_ns", "message_in_ns", "barrier_ns_by_tiles"):
        del timing[name]
    timing["core_work"] = "sum"
    chip = parse_chip(yaml.safe_dump(data, sort_keys=False), "synaptic-work.yaml")
    mapping = map_network(network, chip)
    counts = count_events(network, activity, mapping)
    expected = brute_step_work(network, activity, mapping, {"conv": CONV_NS, "dense": DENSE_NS})
    assert counts.step_work_ns == pytest.approx(expected, rel=1e-12, abs=1e-9)
    plain = count_events(network, activity, map_network(network, without_conv_prices(chip)))
    dense = brute_step_work(network, activity, mapping, {"conv": DENSE_NS, "dense": DENSE_NS})
    assert plain.step_work_ns == pytest.approx(dense, rel=1e-12, abs=1e-9)
    assert (counts.step_work_ns <= plain.step_work_ns + 1e-9).all()
    assert (counts.step_work_ns < plain.step_work_ns).any()


def test_unknown_conv_energy_leaves_synaptic_events_unpriced(
    run: tuple[Network, Activity],
) -> None:
    network, activity = run
    data = yaml.safe_load(load_chip("loihi-sanafe").text)
    data["core"]["shared_encodings"]["conv"]["synaptic_event_pj"] = {
        "unknown": True,
        "note": "not published",
    }
    chip = parse_chip(yaml.safe_dump(data, sort_keys=False), "unknown-conv.yaml")
    counts = count_events(network, activity, map_network(network, chip))
    report = estimate_energy(counts, chip)
    assert report.dynamic_pj["synaptic_event"] is None
    assert "synaptic_event" in report.unpriced and report.dynamic_total_pj is None


@pytest.mark.parametrize(
    ("field", "entry", "message"),
    [
        ("synaptic_event_pj", {"value": -1.0, "source": "sanafe_conv"}, "synaptic_event_pj"),
        ("synaptic_event_pj", {"value": 1e12, "source": "sanafe_conv"}, r"1e\+12 pJ is outside"),
        ("synaptic_event_ns", {"unknown": True, "note": "?"}, "cannot be unknown"),
        ("synaptic_event_ns", {"value": 3.1}, "source"),
    ],
)
def test_conv_prices_validated(field: str, entry: dict, message: str) -> None:
    data = yaml.safe_load(load_chip("loihi-sanafe").text)
    data["core"]["shared_encodings"]["conv"][field] = entry
    with pytest.raises(DescriptorError, match=message):
        parse_chip(yaml.safe_dump(data, sort_keys=False), "bad.yaml")


def test_conv_price_of_zero_is_plausible() -> None:
    # kernel capacities are at least 1; an event's price may be 0 (SANA-FE's message_in is)
    data = yaml.safe_load(load_chip("loihi-sanafe").text)
    data["core"]["shared_encodings"]["conv"]["synaptic_event_pj"]["value"] = 0.0
    chip = parse_chip(yaml.safe_dump(data, sort_keys=False), "zero.yaml")
    assert chip.detail_energy_pj("synaptic_event_conv") == -DENSE_PJ


def test_layers_price_conv_events_at_their_own_price(run: tuple[Network, Activity]) -> None:
    """Per-layer rows count a kernel-stored projection's deliveries apart and price them at
    the conv price, so the rows sum to the report and the conv projection's row is by hand."""
    from neuroemu.accounting.layers import count_by_layer, price_by_layer

    network, activity = run
    chip = load_chip("loihi-sanafe")
    mapping = map_network(network, chip)
    counts = count_events(network, activity, mapping)
    layers = count_by_layer(network, activity, mapping, counts)  # checks every sum
    conv_events = delivered(network, activity, "conv")
    dense_events = delivered(network, activity, "dense")
    names = list(layers.projections)
    conv_row = layers.detail_per_projection["synaptic_event_conv"]
    assert conv_row[names.index("conv")] == conv_events and conv_row[names.index("dense")] == 0
    feature = list(layers.groups).index("feature")
    assert layers.detail_per_group["synaptic_event_conv"][feature] == conv_events

    energy = price_by_layer(layers, chip)
    per_projection = energy.projection_dynamic_pj["synaptic_event"]
    assert per_projection is not None
    assert per_projection[names.index("conv")] == pytest.approx(conv_events * CONV_PJ, rel=1e-12)
    assert per_projection[names.index("dense")] == pytest.approx(dense_events * DENSE_PJ, rel=1e-12)
    report = estimate_energy(counts, chip)
    rows = energy.dynamic_pj["synaptic_event"]
    assert rows is not None
    assert rows.sum() == pytest.approx(report.dynamic_pj["synaptic_event"], rel=1e-12)
    assert energy.projection_work_ns[names.index("conv")] == pytest.approx(
        conv_events * CONV_NS, rel=1e-12
    )
