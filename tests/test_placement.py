"""Tests of the packer's fast paths against the plain ones they replace.

Block-measured fan-in ends, fan-in ends kept across packings, the dense count of synapses per
(source, core), and the proof that ends ``fill`` early on a chip whose neurons reach one core:
each must give exactly what the slower path gives.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import TINY_CHIP_YAML, make_tiny_network
from test_mapping import make_chip

from neuroemu.errors import CapacityError
from neuroemu.mapping import mapping as mapping_module
from neuroemu.mapping import placement
from neuroemu.mapping.mapping import map_network
from neuroemu.network.network import Network, PoissonInput, Population, Projection
from neuroemu.spec.chip import parse_chip


def random_table(seed: int, n: int = 300, k: int = 12) -> placement.SynapseTable:
    """``n`` neurons with ``k`` random sources each among few (so that sources are shared)."""
    rng = np.random.default_rng(seed)
    pre = rng.integers(0, n // 4, size=n * k)
    post = rng.integers(0, n, size=n * k)
    network = Network(
        (Population("cells", n, "lif"),), (Projection("cells", "cells", pre, post, 0.5),)
    )
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    return placement.build_synapse_table(network, chip)


def distinct(table: placement.SynapseTable, rows: np.ndarray) -> int:
    parts = [table.sources[table.indptr[r] : table.indptr[r + 1]] for r in rows]
    return len(np.unique(np.concatenate(parts))) if parts else 0


@pytest.mark.parametrize("ordered", [False, True])
@pytest.mark.parametrize("window", [None, 200])
@pytest.mark.parametrize("lengths", [4, 16])
def test_fit_lengths_equal_sets(ordered, window, lengths, monkeypatch):
    if window is not None:  # small windows: blocks that start inside a window and past it
        monkeypatch.setattr(placement, "_WINDOW_ENTRIES", window)
    table = random_table(1)
    n, cap = table.n_neurons, 30
    order = np.random.default_rng(2).permutation(n) if ordered else None
    segments = placement._Segments(table, order)
    for a, hi in [(0, 40), (35, 90), (10, 30), (250, n), (n - 3, n)]:
        fit = segments.fit_lengths(a, hi, lengths, cap)
        assert len(fit) == (hi - a - lengths + 1 if hi < n else hi - a)
        for i, got in enumerate(fit.tolist()):
            s = a + i
            rows = np.arange(n) if order is None else order
            fits = [k for k in range(1, lengths + 1) if distinct(table, rows[s : s + k]) <= cap]
            # Past the end of the stream nothing is added: the fit then counts to ``lengths``.
            assert got == (max(fits, default=0) if s + lengths <= n else len(fits)), (a, s)


@pytest.mark.parametrize("ordered", [False, True])
@pytest.mark.parametrize("cap", [20, 45, 400])
def test_packing_with_blocks_equals_packing_without(ordered, cap, monkeypatch):
    table = random_table(3)
    order = np.random.default_rng(4).permutation(table.n_neurons) if ordered else None
    caps = placement.CoreCaps(40, 10**9, cap, None)
    estimate = np.random.default_rng(5).integers(0, 5, table.n_neurons)
    kept = placement.FanInEnds(table, order, cap)
    runs = [
        {"order": order},
        {"order": order, "load_cap": 200},
        {"order": order, "spread": 12},
        {"order": order, "axon_estimate": estimate},
    ]
    fast = [placement.pack_cores(table, caps, fan_in=kept, **run) for run in runs]
    monkeypatch.setattr(placement.FanInEnds, "_block", lambda self, a: None)  # measured alone
    plain = [placement.pack_cores(table, caps, **run) for run in runs]
    for one, other in zip(fast, plain, strict=True):
        np.testing.assert_array_equal(one.ends, other.ends)
        assert one.limited_by == other.limited_by and one.stuck == other.stuck
    assert "fan_in" in fast[0].limited_by or cap == 400


def test_fan_in_ends_of_another_order_are_refused():
    table = random_table(6)
    caps = placement.CoreCaps(40, 10**9, 30, None)
    other = placement.FanInEnds(table, np.arange(table.n_neurons), 30)
    with pytest.raises(ValueError, match="another order"):
        placement.pack_cores(table, caps, fan_in=other)


def sorted_pairs(table: placement.SynapseTable, core: np.ndarray, n_cores: int) -> sp.csr_matrix:
    col = np.repeat(core, np.diff(table.indptr))
    data = np.ones(len(col)) if table.counts is None else table.counts
    pairs = sp.csr_matrix((data, (table.sources, col)), shape=(table.n_sources, n_cores))
    pairs.sum_duplicates()
    return pairs


@pytest.mark.parametrize("seed", [0, 1])
def test_dense_and_reordered_pairs_equal_plain_counts(seed):
    network = make_tiny_network(seed)  # inputs, multapses merged into counts
    table = placement.build_synapse_table(network, parse_chip(TINY_CHIP_YAML, "tiny.yaml"))
    n = table.n_neurons
    in_order = np.sort(np.random.default_rng(seed).integers(0, 7, n)).astype(np.int32)
    shuffled = np.random.default_rng(seed + 1).permutation(in_order).astype(np.int32)
    dtype = np.dtype(np.uint16)
    dense = placement._dense_pairs(table, in_order, 8, dtype)
    for got, core in [
        (dense, in_order),
        (placement._source_core_pairs(table, shuffled, 8), shuffled),
    ]:
        expected = sorted_pairs(table, core, 8)
        assert got.has_canonical_format
        np.testing.assert_array_equal(got.indptr, expected.indptr)
        np.testing.assert_array_equal(got.indices, expected.indices)
        np.testing.assert_array_equal(got.data, expected.data)
    assert dense.dtype == dtype


def fan_out_network(n_groups: int, size: int) -> Network:
    """``n_groups`` groups of ``size`` neurons; one neuron of each group feeds the whole group,
    and a chain of neurons links consecutive ones pairwise."""
    pre, post = [], []
    for g in range(n_groups):
        members = np.arange(g * size, (g + 1) * size)
        pre += [members[0]] * size
        post += members.tolist()
    n = n_groups * size
    projection = Projection("cells", "cells", np.asarray(pre), np.asarray(post), 0.5)
    return Network((Population("cells", n, "lif"),), (projection,))


@pytest.mark.parametrize(("n_groups", "size", "proof"), [(4, 8, False), (2, 40, True)])
def test_fan_out_proof_ends_fill_exactly_where_nothing_fits(n_groups, size, proof, monkeypatch):
    chip = make_chip(fan_out_cores=1)  # 32 neurons per core
    network = fan_out_network(n_groups, size)
    mapper = mapping_module._Mapper(network, chip, "fill", None)
    assert mapper._fan_out_groups_overflow() is proof
    if not proof:
        map_network(network, chip)  # groups of 8 fit: the proof must not refuse them
        return
    with pytest.raises(CapacityError) as fast:
        map_network(network, chip)
    # One neuron's 40 targets overflow a core: that neuron is named (its own refusal says
    # more than the group's); without the proof fill also tries the input order, and fails.
    assert str(fast.value).startswith("neuron 0 of population 'cells' sends spikes to 2 cores")
    monkeypatch.setattr(mapping_module._Mapper, "_fan_out_groups_overflow", lambda self: False)
    with pytest.raises(CapacityError) as slow:
        map_network(network, chip)
    assert fast.value.resource == slow.value.resource == "fan_out_cores"


def test_fan_out_proof_links_neurons_through_shared_presynaptic_neurons():
    # Neuron k feeds neurons k+1 and k+2 of a 40-neuron chain: its targets 1..39 form one
    # group of 39 > 32 per core (neuron 0 is no target, so it is in no group).
    n = 40
    pre = np.repeat(np.arange(n - 2), 2)
    post = np.stack([np.arange(1, n - 1), np.arange(2, n)], axis=1).ravel()
    network = Network(
        (Population("cells", n, "lif"),), (Projection("cells", "cells", pre, post, 0.5),)
    )
    mapper = mapping_module._Mapper(network, make_chip(fan_out_cores=1), "fill", None)
    assert mapper._fan_out_groups_overflow()
    assert not mapping_module._Mapper(network, make_chip(), "fill", None)._fan_out_groups_overflow()
    # No neuron has more than 2 targets, so the group is what refuses, before any packing.
    with pytest.raises(CapacityError) as info:
        map_network(network, make_chip(fan_out_cores=1))
    message = str(info.value)
    assert message.startswith("no placement fits: neurons of 'tiny' reach at most 1 core")
    assert "39 neurons of population 'cells' form one such group" in message
    assert "more than the 32 neurons a core holds" in message
    assert (info.value.resource, info.value.needed, info.value.limit) == ("fan_out_cores", 39, 32)


def held_network(seed: int, layout: str) -> Network:
    """Two populations and an input; projections with multapses, laid out ``pre`` (sorted by
    presynaptic neuron, posts random: the microcircuit), ``post`` (post-major, as fixed_indegree
    lays out one projection per post population), ``post-each`` (each projection post-major,
    not all together) or ``random``; one projection has no synapses."""
    rng = np.random.default_rng(seed)
    exc, inh = Population("exc", 50, "lif"), Population("inh", 30, "lif")
    noise = PoissonInput("noise", 12, rate_hz=10.0)
    specs = [
        ("noise", "exc", 12, 50, 300),
        ("exc", "exc", 50, 50, 900),
        ("inh", "inh", 30, 30, 0),
        ("exc", "inh", 50, 30, 700),
        ("inh", "inh", 30, 30, 400),
    ]
    if layout == "post":  # a second projection onto a population starts its posts again
        specs = specs[0:1] + specs[2:4]
    projections = []
    for pre, post, n_pre, n_post, n_syn in specs:
        i = rng.integers(0, n_pre, n_syn)
        j = rng.integers(0, n_post, n_syn)
        if layout == "pre":
            i = np.sort(i)
        elif layout in ("post", "post-each"):
            j = np.sort(j)
        projections.append(Projection(pre, post, i, j, 0.5, name=f"{pre}_{post}_{n_syn}"))
    return Network((exc, inh), tuple(projections), (noise,))


def brute_pairs(network: Network, core: np.ndarray) -> dict[tuple[int, int], int]:
    """(source, core) -> synapses, one synapse at a time (sources: neurons, then inputs)."""
    counts: dict[tuple[int, int], int] = {}
    for proj in network.projections:
        base = network.offsets[proj.pre] + (network.n_neurons if network.is_input(proj.pre) else 0)
        for i, j in zip(proj.i.tolist(), proj.j.tolist(), strict=True):
            key = (base + i, int(core[network.offsets[proj.post] + j]))
            counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.parametrize("index", [[], [3], [5, 5, 2, 9, 0, 9]])
def test_counts_per_index_count_every_value(index):
    got = placement._counts_per_index(np.asarray(index, dtype=np.int32), 10)
    assert got.tolist() == [index.count(v) for v in range(10)]


@pytest.mark.parametrize("ordered", [False, True])
def test_counts_per_index_in_chunks_equal_unique_counts(ordered):
    index = np.random.default_rng(7).integers(0, 1000, 700_000).astype(np.int32)  # 3 chunks
    index = np.sort(index) if ordered else index
    values, counts = np.unique(index, return_counts=True)
    expected = np.zeros(1000, dtype=np.int64)
    expected[values] = counts
    np.testing.assert_array_equal(placement._counts_per_index(index, 1000), expected)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_is_sorted_in_chunks_equals_pairwise_comparison(chunk):
    base = list(range(20))
    cases = [[], [4], base, [*base[:9], 3, *base[9:]], [*base, 0], [1, 0, *base], [2, 2, 2]]
    for values in cases:
        expected = all(a <= b for a, b in itertools.pairwise(values))
        assert placement._is_sorted(np.asarray(values), chunk) is expected, values


@pytest.mark.parametrize("layout", ["pre", "post", "post-each", "random"])
def test_grouping_waits_until_read_and_equals_synapse_by_synapse(layout):
    network = held_network(1, layout)
    table = placement.build_synapse_table(network, parse_chip(TINY_CHIP_YAML, "tiny.yaml"))
    assert table.grouping.csr is None  # nothing grouped until a step reads it
    posts = np.concatenate([network.global_post(p) for p in network.projections])
    assert table.post_major is bool(np.all(np.diff(posts) >= 0)) is (layout == "post")
    expected: list[list[int]] = [[] for _ in range(table.n_neurons)]
    for proj in network.projections:
        base = network.offsets[proj.pre] + (network.n_neurons if network.is_input(proj.pre) else 0)
        for i, j in zip(proj.i.tolist(), proj.j.tolist(), strict=True):
            expected[network.offsets[proj.post] + j].append(base + i)
    counts = np.ones(len(table.sources), dtype=np.int64) if table.counts is None else table.counts
    for n in range(table.n_neurons):
        entries = slice(table.indptr[n], table.indptr[n + 1])
        got = np.repeat(table.sources[entries], counts[entries]).tolist()
        assert sorted(got) == sorted(expected[n]), n
        assert table.in_degree[n] == len(expected[n])
    assert (table.counts is None) is (layout == "post")


# Post-major synapses are counted by runs of cores in order (the only placements counted densely);
# the count by projection holds for any placement.
@pytest.mark.parametrize(
    ("layout", "in_order"),
    [
        ("pre", True),
        ("pre", False),
        ("random", True),
        ("random", False),
        ("post-each", True),
        ("post", True),
    ],
)
@pytest.mark.parametrize("block", [5, 1 << 18])
def test_dense_pairs_equal_synapse_by_synapse_counts(layout, block, in_order, monkeypatch):
    monkeypatch.setattr(placement, "_BLOCK_SYNAPSES", block)  # 5: many blocks per projection
    network = held_network(2, layout)
    table = placement.build_synapse_table(network, parse_chip(TINY_CHIP_YAML, "tiny.yaml"))
    core = np.sort(np.random.default_rng(3).integers(0, 6, table.n_neurons)).astype(np.int32)
    if not in_order:
        core = np.random.default_rng(4).permutation(core)
    dtype = np.dtype(np.uint16)
    got = placement._dense_pairs(table, core, 6, dtype)
    assert (table.grouping.csr is None) is (layout != "post")  # counted without grouping
    assert csr_counts(got) == brute_pairs(network, core)
    assert got.has_canonical_format and got.dtype == dtype and got.shape == (table.n_sources, 6)


def test_fill_without_fan_in_limits_never_groups_the_synapses():
    network = held_network(3, "pre")
    chip = make_chip(fan_in=None, neurons=16)
    mapper = mapping_module._Mapper(network, chip, "fill", None)
    mapping = mapper.fill()
    assert mapper.table.grouping.csr is None
    counts = csr_counts(mapping.dest_synapses)
    counts.update(csr_counts(mapping.input_dest_synapses, network.n_neurons))
    assert counts == brute_pairs(network, mapping.core_of_neuron)


def csr_counts(matrix: sp.csr_matrix, offset: int = 0) -> dict[tuple[int, int], int]:
    """(row + offset, column) -> value of every stored cell."""
    coo = matrix.tocoo()
    cells = zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    return {(offset + row, col): value for row, col, value in cells}
