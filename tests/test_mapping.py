"""Tests of map_network: every capacity respected, usage equal to a brute-force recount.

Random networks and random chips (the tiny descriptor with varied limits) are drawn by
hypothesis; the recount is plain Python over every synapse, so it shares no code with the
vectorised mapping.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from conftest import TINY_CHIP_YAML, make_tiny_network
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroemu.errors import CapacityError, NeuroEmuError
from neuroemu.mapping.mapping import RESOURCES, STRATEGIES, map_network
from neuroemu.network.connectivity import all_to_all, fixed_probability
from neuroemu.network.network import Network, PoissonInput, Population, Projection
from neuroemu.spec.chip import ChipSpec, load_chip, parse_chip

CORE_FIELDS = ("neurons", "synapse_memory_bits", "fan_in", "output_axons", "fan_out_cores")


def make_chip(name: str = "tiny", **limits: int | None) -> ChipSpec:
    """The tiny chip with some ``core.*`` limits replaced (None removes the limit)."""
    lines = []
    for line in TINY_CHIP_YAML.splitlines():
        key = line.strip().split(":")[0]
        top_level_of_core = line.startswith("  ") and not line.startswith("   ")
        if top_level_of_core and key in CORE_FIELDS and key in limits:
            continue
        lines.append(line)
        if line == "core:":
            for field, value in limits.items():
                if field in CORE_FIELDS and value is not None:
                    lines.append(f"  {field}: {{value: {value}, source: test}}")
    text = "\n".join(lines) + "\n"
    for field in ("max_chips", "weight_signed", "delay_slots"):
        if field in limits:
            text = _set_field(text, field, limits[field])
    return parse_chip(text.replace("name: tiny", f"name: {name}"), f"{name}.yaml")


def _set_field(text: str, field: str, value: object) -> str:
    out = []
    for line in text.splitlines():
        if line.strip().startswith(f"{field}:"):
            indent = line[: len(line) - len(line.lstrip())]
            if value is None:
                continue
            if isinstance(value, bool):
                line = f"{indent}{field}: {str(value).lower()}"
            else:
                line = f"{indent}{field}: {{value: {value}, source: test}}"
        out.append(line)
    return "\n".join(out) + "\n"


def brute_force(network: Network, chip: ChipSpec, core: np.ndarray, n_cores: int) -> dict:
    """Per-core usage, fan-out and (source, core) counts, recounted synapse by synapse."""
    neurons = [0] * n_cores
    bits = [0] * n_cores
    sources: list[set] = [set() for _ in range(n_cores)]
    dest: dict[tuple[int, int], int] = defaultdict(int)
    inputs: dict[tuple[int, int], int] = defaultdict(int)
    for g in range(network.n_neurons):
        neurons[core[g]] += 1
    for proj in network.projections:
        n_pre = sum(g.size for g in (*network.populations, *network.inputs) if g.name == proj.pre)
        n_post = network.population(proj.post).size
        dense = chip.core.dense_encoding is not None and proj.n_synapses == n_pre * n_post
        encoding = chip.core.dense_encoding if dense else chip.core.default_encoding
        cost = chip.core.bits_per_synapse(encoding)
        is_input = network.is_input(proj.pre)
        for i, j in zip(proj.i.tolist(), proj.j.tolist(), strict=True):
            pre = network.offsets[proj.pre] + i
            target = core[network.offsets[proj.post] + j]
            bits[target] += cost
            sources[target].add(("input" if is_input else "neuron", pre))
            (inputs if is_input else dest)[(pre, target)] += 1
    output_axons = [0] * n_cores
    fan_out = [0] * network.n_neurons
    for pre, target in dest:
        fan_out[pre] += 1
        if target != core[pre]:
            output_axons[core[pre]] += 1
    usage = {
        "neurons": neurons,
        "synapse_memory_bits": bits,
        "fan_in": [len(s) for s in sources],
        "output_axons": output_axons,
    }
    return {"usage": usage, "fan_out": fan_out, "dest": dict(dest), "inputs": dict(inputs)}


def check_mapping(network: Network, chip: ChipSpec, mapping) -> None:
    """Every neuron placed once, every capacity respected, usage equal to the recount."""
    core = mapping.core_of_neuron
    assert core.shape == (network.n_neurons,)
    assert np.issubdtype(core.dtype, np.integer)
    assert core.min() >= 0 and core.max() < mapping.n_cores
    assert mapping.n_cores == mapping.n_chips * chip.cores_per_chip
    assert chip.max_chips is None or mapping.n_chips <= chip.max_chips
    expected = brute_force(network, chip, core, mapping.n_cores)
    for name in RESOURCES:
        assert mapping.usage[name].tolist() == expected["usage"][name], name
        limit = mapping.limits[name]
        if limit is not None:
            assert mapping.usage[name].max() <= limit, name
    fan_out_cap = chip.core.fan_out_cores
    if fan_out_cap is not None:
        assert max(expected["fan_out"], default=0) <= fan_out_cap.value
    dest = mapping.dest_synapses.todok()
    assert {k: int(v) for k, v in dest.items()} == expected["dest"]
    inputs = mapping.input_dest_synapses.todok()
    assert {k: int(v) for k, v in inputs.items()} == expected["inputs"]
    assert mapping.dest_synapses.shape == (network.n_neurons, mapping.n_cores)
    assert mapping.input_dest_synapses.shape == (network.n_input_sources, mapping.n_cores)


@st.composite
def random_networks(draw: st.DrawFn) -> Network:
    sizes = draw(st.lists(st.integers(1, 40), min_size=1, max_size=3))
    pops = [Population(f"p{k}", size) for k, size in enumerate(sizes)]
    input_sizes = draw(st.lists(st.integers(1, 12), max_size=2))
    inputs = [PoissonInput(f"in{k}", size, 10.0) for k, size in enumerate(input_sizes)]
    groups = {g.name: g.size for g in (*pops, *inputs)}
    projections = []
    for k in range(draw(st.integers(0, 4))):
        pre = draw(st.sampled_from(sorted(groups)))
        post = draw(st.sampled_from([p.name for p in pops]))
        kind = draw(st.sampled_from(["probability", "all", "multapses"]))
        seed = draw(st.integers(0, 2**16))
        if kind == "probability":
            p = draw(st.floats(0.0, 0.6))
            i, j = fixed_probability(groups[pre], groups[post], p, seed)
        elif kind == "all":
            i, j = all_to_all(groups[pre], groups[post])
        else:
            rng = np.random.default_rng(seed)
            n = draw(st.integers(0, 200))
            i, j = rng.integers(0, groups[pre], n), rng.integers(0, groups[post], n)
        delay = draw(st.sampled_from([0.0, 1.0, 3.0]))
        projections.append(Projection(pre, post, i, j, 0.5, delay_ms=delay, name=f"proj{k}"))
    return Network(tuple(pops), tuple(projections), tuple(inputs))


@st.composite
def random_chips(draw: st.DrawFn) -> ChipSpec:
    return make_chip(
        neurons=draw(st.integers(1, 40)),
        synapse_memory_bits=draw(st.sampled_from([512, 2048, 65536])),
        fan_in=draw(st.sampled_from([None, 24, 64, 256])),
        output_axons=draw(st.sampled_from([None, 16, 64, 400])),
        fan_out_cores=draw(st.sampled_from([None, 2, 8])),
        max_chips=draw(st.sampled_from([None, 64])),
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=random_networks(), chip=random_chips())
def test_every_mapping_respects_capacities_and_recount(
    strategy: str, network: Network, chip: ChipSpec
) -> None:
    try:
        mapping = map_network(network, chip, strategy)
    except CapacityError as exc:
        # Refusals must name a resource and say what is needed against what limit.
        assert exc.resource and str(exc.limit) and exc.where
        return
    check_mapping(network, chip, mapping)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_tiny_network_maps_with_every_strategy(tiny_chip: ChipSpec, strategy: str) -> None:
    network = make_tiny_network()
    mapping = map_network(network, tiny_chip, strategy)
    check_mapping(network, tiny_chip, mapping)
    assert mapping.strategy == strategy
    assert mapping.n_chips == 1
    if strategy == "balanced":
        assert mapping.n_cores_used == tiny_chip.cores_per_chip  # spread over all cores


def test_balanced_evens_the_load_and_shortens_the_busiest_core(tiny_chip: ChipSpec) -> None:
    network = make_tiny_network(seed=3)
    load = {}
    for strategy in ("fill", "balanced"):
        mapping = map_network(network, tiny_chip, strategy)
        in_degree = np.asarray(mapping.dest_synapses.sum(axis=0)).ravel()
        in_degree += np.asarray(mapping.input_dest_synapses.sum(axis=0)).ravel()
        load[strategy] = mapping.usage["neurons"] + in_degree
    assert load["balanced"].max() < load["fill"].max()
    assert load["balanced"].max() - load["balanced"].min() <= 0.2 * load["balanced"].mean()


def clustered_network(n_clusters: int = 8, size: int = 32, seed: int = 0) -> Network:
    """Dense within clusters (p = 0.5), sparse between (p = 0.01), neuron order shuffled."""
    rng = np.random.default_rng(seed)
    n = n_clusters * size
    cluster = rng.permutation(np.arange(n) // size)
    i, j = fixed_probability(n, n, 0.5, rng)
    same = cluster[i] == cluster[j]
    keep = same | (rng.random(len(i)) < 0.02)
    projection = Projection("cells", "cells", i[keep], j[keep], 0.5)
    return Network((Population("cells", n),), (projection,), name="clustered")


def test_min_traffic_cuts_inter_core_synapses_on_a_clustered_network() -> None:
    chip = make_chip(fan_in=1024)
    network = clustered_network()
    fill = map_network(network, chip, "fill")
    smart = map_network(network, chip, "min-traffic")
    check_mapping(network, chip, smart)
    total = network.n_synapses
    # In-order filling of shuffled clusters sends about 7/8 of the synapses between cores;
    # partitioning keeps each cluster on its core and only the sparse links cross.
    assert fill.inter_core_synapses() > 0.8 * total
    assert smart.inter_core_synapses() < 0.15 * total
    assert smart.inter_core_synapses() * 2 <= fill.inter_core_synapses()
    assert smart.n_cores_used == fill.n_cores_used == 8


def test_tile_numbering_row_or_column_major() -> None:
    """A 2 x 2 mesh of one-core tiles: row-major puts core 1 east of core 0 and core 2 below
    core 0; column-major the other way round (which cores are neighbours, hence hops)."""
    from conftest import TINY_CHIP_YAML

    text = TINY_CHIP_YAML.replace(
        "cores_per_tile: {value: 2,", "cores_per_tile: {value: 1,"
    ).replace("mesh_height_tiles: {value: 1,", "mesh_height_tiles: {value: 2,")
    row = parse_chip(text, "row.yaml")
    column = parse_chip(
        text.replace("  max_chips:", "  tile_numbering: column_major\n  max_chips:"), "col.yaml"
    )
    network = Network((Population("p", 4 * 32),))
    by_row = map_network(network, row).core_xy.tolist()
    by_column = map_network(network, column).core_xy.tolist()
    assert by_row == [[0, 0], [1, 0], [0, 1], [1, 1]]
    assert by_column == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_multi_chip_numbering_and_coordinates(tiny_chip: ChipSpec) -> None:
    network = Network((Population("big", 200),))
    mapping = map_network(network, tiny_chip, "fill")
    assert mapping.n_chips == 2 and mapping.n_cores == 8 and mapping.n_cores_used == 7
    assert mapping.usage["neurons"].tolist() == [32] * 6 + [8, 0]
    assert mapping.chip_of_core.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # Two chips lie side by side (grid 2 x 1); each chip is 2 x 1 tiles of 2 cores.
    x = [0, 0, 1, 1, 2, 2, 3, 3]
    assert mapping.core_xy.tolist() == [[value, 0] for value in x]
    assert mapping.chip_xy[4:].tolist() == [[1, 0]] * 4
    assert mapping.core_of_neuron[-1] == 6
    # "up to n_chips": more chips allowed than needed does not use more.
    assert map_network(network, tiny_chip, "fill", n_chips=5).n_chips == 2
    balanced = map_network(network, tiny_chip, "balanced")
    assert balanced.n_chips == 2 and balanced.n_cores_used == 8
    check_mapping(network, tiny_chip, balanced)


def test_neuron_model_not_on_chip_is_a_warning(tiny_chip: ChipSpec) -> None:
    network = Network((Population("cells", 10, "coba_lif"),))
    mapping = map_network(network, tiny_chip)
    assert len(mapping.warnings) == 1
    assert (
        "'coba_lif'" in mapping.warnings[0] and "not one 'tiny' implements" in mapping.warnings[0]
    )


def test_bundled_loihi_maps_a_small_network() -> None:
    network = make_tiny_network()
    mapping = map_network(network, load_chip("loihi"), "fill")
    assert mapping.n_cores_used == 1 and mapping.n_chips == 1
    assert mapping.summary()["binding_resource"] == "neurons"


def test_dense_encoding_for_all_to_all(tiny_chip: ChipSpec) -> None:
    i, j = all_to_all(10, 10)
    network = Network(
        (Population("a", 10), Population("b", 10)), (Projection("a", "b", i, j, 1.0),)
    )
    mapping = map_network(network, tiny_chip)
    assert mapping.usage["synapse_memory_bits"].sum() == 100 * 8  # dense: 8 bits, not 16


# ---- networks that do not fit -----------------------------------------------------------------


def pair(n_pre: int, n_post: int, i, j, weight=1.0, delay_ms=0.0) -> Network:
    projection = Projection("a", "b", i, j, weight, delay_ms=delay_ms)
    return Network((Population("a", n_pre), Population("b", n_post)), (projection,))


def test_too_many_neurons_for_max_chips(tiny_chip: ChipSpec) -> None:
    network = Network((Population("huge", 2100),))
    with pytest.raises(CapacityError) as info:
        map_network(network, tiny_chip)
    message = str(info.value)
    assert "needs 66 cores of 'tiny'" in message and "17 chips of 4 cores" in message
    assert "'tiny' scales to at most 16 chips (tiny.yaml: topology.max_chips)" in message
    assert "cores of 'tiny' hold 32 neurons (tiny.yaml: core.neurons)" in message
    assert info.value.resource == "neurons" and info.value.needed == 17 and info.value.limit == 16


def test_more_chips_than_allowed_by_the_option(tiny_chip: ChipSpec) -> None:
    network = Network((Population("big", 200),))
    with pytest.raises(
        CapacityError, match=r"only 1 chip\(s\) are allowed \(--max-chips 1\)"
    ) as info:
        map_network(network, tiny_chip, n_chips=1)
    assert info.value.remedy == "Use --max-chips 2."
    with pytest.raises(CapacityError, match="17 chips requested, but 'tiny' scales to at most 16"):
        map_network(network, tiny_chip, n_chips=17)


def test_synapse_memory_of_one_neuron(tiny_chip: ChipSpec) -> None:
    rng = np.random.default_rng(0)
    i = rng.integers(0, 200, 5000)  # 5000 synapses (multapses) onto neuron 3 from 200 sources
    network = pair(200, 5, i, np.full(5000, 3))
    with pytest.raises(CapacityError) as info:
        map_network(network, tiny_chip, "min-traffic")
    assert str(info.value).startswith(
        "neuron 3 of population 'b' has 5000 in-synapses taking 80000 bits of synapse memory; "
        "cores of 'tiny' hold 65536 bits of synapse memory (tiny.yaml: core.synapse_memory_bits)."
        " No strategy can place it"
    )
    assert info.value.resource == "synapse_memory_bits"


def test_fan_in_truenorth_like() -> None:
    chip = make_chip("truenorth-like", neurons=256, fan_in=256)
    i, j = all_to_all(3000, 4)
    with pytest.raises(CapacityError) as info:
        map_network(pair(3000, 4, i, j), chip)
    message = str(info.value)
    assert message.startswith(
        "neuron 0 of population 'b' receives synapses from 3000 distinct sources; cores of "
        "'truenorth-like' accept 256 input axons (truenorth-like.yaml: core.fan_in). "
        "No strategy can place it."
    )
    assert "at most 256 distinct sources" in info.value.remedy
    assert (info.value.needed, info.value.limit) == (3000, 256)


def test_synapses_per_neuron_dynapse2() -> None:
    chip = load_chip("dynapse2")  # 64 CAM entries per neuron (core.fan_in_per_neuron)
    i, j = all_to_all(64, 2)
    assert map_network(pair(64, 2, i, j), chip).n_cores_used >= 1
    i, j = all_to_all(65, 2)
    with pytest.raises(CapacityError) as info:
        map_network(pair(65, 2, i, j), chip)
    assert str(info.value).startswith(
        "neuron 0 of population 'b' has 65 in-synapses; a neuron of 'dynapse2' accepts at most "
        "64 (chips/dynapse2.yaml: core.fan_in_per_neuron). No strategy can place it"
    )
    assert info.value.resource == "fan_in_per_neuron"
    assert (info.value.needed, info.value.limit) == (65, 64)


def test_fan_out_cores() -> None:
    chip = make_chip(fan_out_cores=1)
    i, j = all_to_all(1, 64)
    with pytest.raises(CapacityError) as info:
        map_network(pair(1, 64, i, j), chip)
    message = str(info.value)
    assert message.startswith(
        "neuron 0 of population 'a' sends spikes to 3 cores; neurons of 'tiny' reach at most "
        "1 core(s) (tiny.yaml: core.fan_out_cores)."
    )
    assert "No strategy can place it: its targets fill at least 2 cores" in message


def test_delay_slots(tiny_chip: ChipSpec) -> None:
    i, j = all_to_all(4, 4)
    with pytest.raises(CapacityError) as info:
        map_network(pair(4, 4, i, j, delay_ms=20.0), tiny_chip)
    assert str(info.value).startswith(
        "projection 'a_to_b' has delays up to 20 ms = 20 steps of 1 ms; cores of 'tiny' have 16 "
        "delay slots (tiny.yaml: core.delay_slots)."
    )
    assert info.value.resource == "delay_slots"


def test_signed_weights_on_unsigned_chip() -> None:
    chip = make_chip(weight_signed=False)
    i, j = all_to_all(4, 4)
    with pytest.raises(CapacityError) as info:
        map_network(pair(4, 4, i, j, weight=-0.5), chip)
    assert str(info.value).startswith(
        "projection 'a_to_b' has 16 negative weight(s) (down to -0.5); 'tiny' stores unsigned "
        "weights (tiny.yaml: core.weight_signed)."
    )
    assert "target='inh'" in info.value.remedy


def test_output_axons_of_one_neuron() -> None:
    chip = make_chip(output_axons=4)
    i, j = all_to_all(64, 64)
    with pytest.raises(CapacityError) as info:
        map_network(pair(64, 64, i, j), chip)
    assert info.value.resource == "output_axons"
    assert "cores of 'tiny' have 4 output axons (tiny.yaml: core.output_axons)" in str(info.value)


def test_output_axons_repacked_until_they_fit() -> None:
    chip = make_chip(output_axons=40)
    network = pair(64, 64, *fixed_probability(64, 64, 0.1, 1))
    for strategy in STRATEGIES:
        mapping = map_network(network, chip, strategy)
        check_mapping(network, chip, mapping)


def test_unknown_strategy(tiny_chip: ChipSpec) -> None:
    with pytest.raises(NeuroEmuError, match="unknown mapping strategy 'random'"):
        map_network(make_tiny_network(), tiny_chip, "random")


def test_balanced_bisects_a_load_cap_when_capacities_bind() -> None:
    # All synapses land on the first population; an equal split of the load would leave the
    # second population's 52 neurons to the last core, over its 8-neuron capacity.
    chip = make_chip(neurons=8, max_chips=None)
    rng = np.random.default_rng(2)
    i, j = rng.integers(0, 19, 600), rng.integers(0, 19, 600)
    network = Network(
        (Population("a", 19), Population("b", 52)), (Projection("a", "a", i, j, 1.0),)
    )
    fill = map_network(network, chip, "fill")
    balanced = map_network(network, chip, "balanced")
    check_mapping(network, chip, balanced)
    assert balanced.n_chips == fill.n_chips == 3
    busiest = {
        m.strategy: (m.usage["neurons"] + m.usage["synapse_memory_bits"] // 16).max()
        for m in (fill, balanced)
    }
    assert busiest["balanced"] < busiest["fill"]


def _conv_layer(c_in: int, c_out: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """3 x 3 convolution, padding 1, neurons in (channel, y, x) order as NIR and PyTorch store."""
    i, j = [], []
    for co in range(c_out):
        for y in range(size):
            for x in range(size):
                post = (co * size + y) * size + x
                for ci in range(c_in):
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            if 0 <= y + dy < size and 0 <= x + dx < size:
                                i.append((ci * size + y + dy) * size + x + dx)
                                j.append(post)
    return np.array(i), np.array(j)


def test_fill_packs_a_channel_major_conv_layer_by_its_inputs(tiny_chip: ChipSpec) -> None:
    """8 input maps of 8 x 8, 16 output maps. In network order a core of conv neurons sees
    every input map over the rows its neurons span, so fan-in (256 on the tiny chip) binds and
    fill needs 64 cores; ordered by their inputs, a core holds a few positions x 16 maps and
    fill needs 48, the least that neurons need."""
    i, j = _conv_layer(8, 16, 8)
    network = Network(
        (Population("image", 512), Population("conv", 1024)),
        (Projection("image", "conv", i, j, 0.1),),
    )
    mapping = map_network(network, tiny_chip, "fill")
    check_mapping(network, tiny_chip, mapping)
    assert mapping.n_cores_used == 48  # network order: 64
    assert any("needed 64 cores" in w and "order of their inputs" in w for w in mapping.warnings)
    # Populations are never interleaved: image neurons first, then conv.
    assert mapping.core_of_neuron[:512].max() < mapping.core_of_neuron[512:].min()


def test_the_summary_names_what_forced_the_spread(tiny_chip: ChipSpec, monkeypatch) -> None:
    """Kept in network order, the conv layer's cores close on fan-in: the summary says fan-in
    forced the spread, counted core by core."""
    import neuroemu.mapping.mapping as mapping_module

    monkeypatch.setattr(mapping_module, "SPREAD_FACTOR", 100.0)  # keep network order
    i, j = _conv_layer(8, 16, 8)
    network = Network(
        (Population("image", 512), Population("conv", 1024)),
        (Projection("image", "conv", i, j, 0.1),),
    )
    mapping = map_network(network, tiny_chip, "fill")
    summary = mapping.summary()
    assert mapping.n_cores_used == 64
    assert summary["spread_by"] == "fan_in"
    assert summary["cores_closed_by"]["fan_in"] >= 32
    assert sum(summary["cores_closed_by"].values()) == mapping.n_cores_used


@pytest.mark.parametrize("path", ["packed", "unpacked", "per synapse"])
@pytest.mark.parametrize("seed", [0, 1])
def test_spike_routing_equals_a_walk_over_every_destination(path, seed, monkeypatch):
    """Remote destinations, hops and chip crossings per neuron, from a table over core pairs
    (its counts packed in one integer, or not) or entry by entry, equal a plain walk over each
    neuron's destination cores on several chips, with neurons spread at random."""
    from conftest import manual_mapping

    import neuroemu.mapping.mapping as mapping_module

    if path == "unpacked":
        monkeypatch.setattr(mapping_module, "_FIELD_BITS", 2)
    if path == "per synapse":
        monkeypatch.setattr(mapping_module, "_ROUTING_TABLE_CELLS", 0)
    network = make_tiny_network(seed)
    chip = make_chip()
    rng = np.random.default_rng(seed)
    n_chips = 6
    core = rng.integers(0, n_chips * chip.cores_per_chip, network.n_neurons)
    mapping = manual_mapping(network, chip, core, n_chips=n_chips)
    xy, chip_xy = mapping.core_xy, mapping.chip_xy
    expected = np.zeros((3, network.n_neurons), dtype=np.int64)
    pattern = mapping.dest_synapses.tocsr()
    for neuron in range(network.n_neurons):
        own = int(core[neuron])
        for dest in pattern.indices[pattern.indptr[neuron] : pattern.indptr[neuron + 1]]:
            if dest != own:
                expected[0, neuron] += 1
                expected[1, neuron] += sum(abs(int(xy[dest, a] - xy[own, a])) for a in (0, 1))
                expected[2, neuron] += sum(
                    abs(int(chip_xy[dest, a] - chip_xy[own, a])) for a in (0, 1)
                )
    assert expected[1].any() and expected[2].any()  # packets cross tiles and chips
    routing = mapping.spike_routing
    for got, want in zip(routing, expected, strict=True):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)
