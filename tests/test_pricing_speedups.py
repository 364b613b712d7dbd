"""The faster paths of pricing give exactly what the plain ones give.

Changed neurons through a bitmap or through np.unique; counted per column without listing the
pairs; synaptic events through dense or sparse fan-out products; fan-in curves of the packer
against a set per segment; the GPU model's per-step events with one delay for all synapses or the
same delay given per synapse.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import TINY_CHIP_YAML, make_tiny_network, manual_mapping
from test_accounting import brute_force, plastic_network, random_activity, with_changes

from neuroemu.accounting import count_events, counting
from neuroemu.accounting import detail as detail_module
from neuroemu.accounting.detail import changed_neurons, changed_per_column
from neuroemu.activity import Activity, Spikes
from neuroemu.events import EVENT_KINDS
from neuroemu.gpu.model import step_activity
from neuroemu.mapping import placement
from neuroemu.network.network import Network, Projection
from neuroemu.spec.chip import parse_chip
from neuroemu.timesteps import delay_steps


def activity_with_late_changes(seed: int) -> tuple[Network, Activity]:
    """The plastic test network with a record of changes, some past the end of the run."""
    network = plastic_network(seed)
    activity = with_changes(network, random_activity(network, n_steps=30, seed=seed), seed)
    late = {}
    for name, record in activity.changed.items():
        step = np.concatenate([record.step, [activity.n_steps, activity.n_steps + 3]])
        late[name] = Spikes(np.concatenate([record.neuron, [0, 1]]), step)
    return network, replace(activity, changed=late)


@pytest.mark.parametrize("seed", [0, 1])
def test_changed_neurons_bitmap_equals_unique(seed, monkeypatch):
    network, activity = activity_with_late_changes(seed)
    neuron, step = changed_neurons(network, activity)
    monkeypatch.setattr(detail_module, "_BITMAP_BYTES", 0)
    neuron_u, step_u = changed_neurons(network, activity)
    for fast, plain in ((neuron, neuron_u), (step, step_u)):
        assert fast.dtype == plain.dtype == np.int64
        np.testing.assert_array_equal(fast, plain)
    assert step.max() < activity.n_steps


@pytest.mark.parametrize("bitmap", [True, False])
@pytest.mark.parametrize("columns", ["in order", "shuffled"])
def test_changed_per_column_equals_counting_pairs(bitmap, columns, monkeypatch):
    network, activity = activity_with_late_changes(3)
    rng = np.random.default_rng(3)
    n_columns = 5
    column = np.sort(rng.integers(0, n_columns, network.n_neurons))
    if columns == "shuffled":
        column = rng.permutation(column)
    if not bitmap:
        monkeypatch.setattr(detail_module, "_BITMAP_BYTES", 0)
    neuron, step = changed_neurons(network, activity)
    expected = np.zeros((activity.n_steps, n_columns), dtype=np.int64)
    np.add.at(expected, (step, column[neuron]), 1)
    got = changed_per_column(network, activity, column, n_columns)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("product", ["dense", "sparse"])
def test_counts_equal_brute_force_with_either_product(product, monkeypatch):
    """Fan-out products by dense or sparse fan-out (chosen by cost) count the same events."""
    cost = 0 if product == "sparse" else 10**9
    monkeypatch.setattr("neuroemu.accounting.counting._SPARSE_COST", cost)
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    network = plastic_network(4)
    rng = np.random.default_rng(14)
    mapping = manual_mapping(network, chip, rng.integers(0, 8, network.n_neurons), n_chips=2)
    activity = random_activity(network, n_steps=40, seed=4)
    counts = count_events(network, activity, mapping)
    expected = brute_force(network, activity, mapping)
    for kind in EVENT_KINDS:
        np.testing.assert_array_equal(counts.per_core[kind], expected[kind], err_msg=kind)


def distinct_sources(table: placement.SynapseTable, rows: np.ndarray) -> np.ndarray:
    """Fan-in curve by sets: distinct sources onto ``rows[0..k]``, for every k."""
    seen: set[int] = set()
    out = []
    for row in rows:
        seen.update(int(s) for s in table.sources[table.indptr[row] : table.indptr[row + 1]])
        out.append(len(seen))
    return np.asarray(out)


@pytest.mark.parametrize("ordered", [False, True])
@pytest.mark.parametrize("window", [None, 40])
def test_fan_in_curves_equal_sets(ordered, window, monkeypatch):
    if window is not None:  # many small windows of previous entries (where the packer has them)
        monkeypatch.setattr(placement, "_WINDOW_ENTRIES", window, raising=False)
    network = make_tiny_network(5)
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    table = placement.build_synapse_table(network, chip)
    rng = np.random.default_rng(5)
    order = rng.permutation(table.n_neurons) if ordered else None
    segments = placement._Segments(table, order)
    n = table.n_neurons
    a = 0
    for _ in range(60):  # forward runs, as the packer asks, and jumps back
        a = int(rng.integers(0, n - 1)) if rng.random() < 0.3 else min(a + 3, n - 1)
        hi = int(rng.integers(a + 1, n + 1))
        rows = np.arange(a, hi) if order is None else order[a:hi]
        np.testing.assert_array_equal(segments.fan_in_curve(a, hi), distinct_sources(table, rows))


def test_step_activity_one_delay_equals_per_synapse_delays():
    network = make_tiny_network(6, delay_ms=2.0)
    activity = random_activity(network, n_steps=30, seed=6)
    per_synapse = tuple(
        Projection(p.pre, p.post, p.i, p.j, p.weight, np.full(p.n_synapses, 2.0), p.target)
        for p in network.projections
    )
    spread = replace(network, projections=per_synapse)
    one, many = step_activity(network, activity), step_activity(spread, activity)
    for name in ("spikes_out", "input_spikes", "events", "rows", "serial_rows"):
        np.testing.assert_array_equal(getattr(one, name), getattr(many, name), err_msg=name)
    assert one.events.sum() > 0


@pytest.mark.parametrize("batch", [50_000_000, 7])
@pytest.mark.parametrize("wide", [False, True])
def test_delayed_fanout_equals_a_count_per_synapse(batch, wide, monkeypatch):
    """The fan-out matrix built from sorted 32- or 64-bit keys, in one batch or many, counts
    exactly the synapses of each (source neuron, delay) on each column."""
    monkeypatch.setattr(counting, "_FANOUT_BATCH", batch)
    rng = np.random.default_rng(5)
    n_pre = 40
    n_cols = 2**28 if wide else 9  # 40 x 3 delays x 2**28 columns needs 64-bit keys
    members = []
    for delays in ([1, 3], np.asarray(2), [3, 7]):
        n = 60
        steps = np.asarray(delays) if np.ndim(delays) == 0 else rng.choice(delays, n)
        pre = rng.integers(0, n_pre, n)
        col = rng.integers(0, n_cols, n)
        members.append((pre, col, steps))
    delays, fanout = counting._delayed_fanout(members, n_pre, n_cols)
    assert delays.tolist() == [1, 2, 3, 7]
    expected: dict[tuple[int, int], int] = {}
    for pre, col, steps in members:
        for k in range(len(pre)):
            d = int(np.broadcast_to(steps, pre.shape)[k])
            row = int(pre[k]) * len(delays) + delays.tolist().index(d)
            expected[row, int(col[k])] = expected.get((row, int(col[k])), 0) + 1
    coo = fanout.tocoo()
    assert fanout.has_canonical_format and fanout.dtype == np.int64
    cells = zip(coo.row.tolist(), coo.col.tolist(), strict=True)
    assert dict(zip(cells, coo.data.tolist(), strict=True)) == expected


def synapses_in_source_order(seed: int, n_pre: int, n_cols: int) -> list:
    """Three projections of one source: delays of 1 and 3 steps, of 2 (one for all) and of 3
    and 7 (dt 0.5 ms), so the steps 4 to 6 lie within the span but no synapse has them."""
    rng = np.random.default_rng(seed)
    out = []
    for delay in (rng.choice([0.5, 1.5], 70), 1.0, rng.choice([1.5, 3.5], 70)):
        pre = np.sort(rng.integers(0, n_pre, 70)).astype(np.int32)
        post = rng.integers(0, 20, 70).astype(np.int32)
        columns = rng.integers(0, n_cols, 20).astype(np.uint32)
        out.append(counting._Synapses(pre, post, columns, delay, 0.5))
    return out


@pytest.mark.parametrize("block", [1 << 20, 5])
@pytest.mark.parametrize("wide", [False, True])
def test_blocked_fanout_equals_a_count_per_synapse(block, wide, monkeypatch):
    """Built a block of source neurons at a time (one block, or blocks of a few neurons; with
    2**28 columns, blocks of 2 neurons keep keys below 2**32), the fan-out counts exactly the
    synapses of each (source neuron, delay) on each column, over the delays some synapse has."""
    monkeypatch.setattr(counting, "_BLOCK_SYNAPSES", block)
    n_pre, n_cols = 40, 2**28 if wide else 9
    synapses = synapses_in_source_order(6, n_pre, n_cols)
    delays, fanout = counting._blocked_fanout(synapses, n_pre, n_cols)
    assert delays.tolist() == [1, 2, 3, 7]
    expected: dict[tuple[int, int], int] = {}
    for syn in synapses:
        steps = np.broadcast_to(delay_steps(syn.delay_ms, syn.dt_ms), syn.pre.shape)
        for k in range(len(syn.pre)):
            row = int(syn.pre[k]) * len(delays) + delays.tolist().index(int(steps[k]))
            cell = (row, int(syn.post_column[syn.post[k]]))
            expected[cell] = expected.get(cell, 0) + 1
    coo = fanout.tocoo()
    assert fanout.has_canonical_format and fanout.dtype == np.int64
    assert fanout.shape == (n_pre * len(delays), n_cols)
    cells = zip(coo.row.tolist(), coo.col.tolist(), strict=True)
    assert dict(zip(cells, coo.data.tolist(), strict=True)) == expected


def test_blocked_fanout_declines_synapses_out_of_source_order():
    synapses = synapses_in_source_order(7, 40, 9)
    swapped = synapses[1].pre.copy()
    swapped[[0, -1]] = swapped[[-1, 0]]
    synapses[1] = replace(synapses[1], pre=swapped)
    assert counting._blocked_fanout(synapses, 40, 9) is None
    assert counting._blocked_fanout(synapses[:1] + synapses[2:], 40, 9) is not None


@pytest.mark.parametrize("block", [1 << 20, 5])
@pytest.mark.parametrize("spikes", ["seldom", "often"])
def test_blocked_fanout_for_a_product_leaves_out_only_what_multiplies_zero(
    block, spikes, monkeypatch
):
    """Given the spikes each source neuron will be multiplied with, the fan-out leaves the rows
    of silent neurons empty, keeps one entry per synapse where the neurons seldom spike and sums
    repeated cells where they spike often: every other row holds exactly the synapses of its
    (source neuron, delay) on each column, as the full fan-out (checked above) does."""
    monkeypatch.setattr(counting, "_BLOCK_SYNAPSES", block)
    n_pre, n_cols = 40, 3
    synapses = synapses_in_source_order(6, n_pre, n_cols)
    rng = np.random.default_rng(3)
    uses = rng.integers(1, 3 if spikes == "seldom" else 50, n_pre)
    uses[rng.random(n_pre) < 0.4] = 0
    delays, fanout = counting._blocked_fanout(synapses, n_pre, n_cols, uses)
    full_delays, full = counting._blocked_fanout(synapses, n_pre, n_cols)
    assert delays.tolist() == full_delays.tolist() and fanout.dtype == np.int64
    silent = np.repeat(uses == 0, len(delays))
    assert silent.any() and fanout[silent].nnz == 0
    summed = fanout.copy()
    summed.sum_duplicates()
    np.testing.assert_array_equal(summed.toarray()[~silent], full.toarray()[~silent])
    if spikes == "seldom":
        kept = sum(int(np.isin(s.pre, np.flatnonzero(uses)).sum()) for s in synapses)
        assert fanout.nnz == kept > summed.nnz  # one entry per synapse, some cells repeated
    elif block > 5:
        assert fanout.has_canonical_format
