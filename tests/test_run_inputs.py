"""The files a compiled cpp_standalone binary reads at start (no Brian2 needed here)."""

from __future__ import annotations

import numpy as np
import pytest

from neuroemu.engine import run_inputs
from neuroemu.engine.run_inputs import INPUTS_DIR, Connections, RunInputs
from neuroemu.errors import SimulationError


def created_pairs(table: Connections) -> list[tuple[int, int]]:
    """The synapses in the order Brian2's generator creates them: source by source, and each
    source's targets as the table lists them."""
    return [
        (source, int(table.targets[k]))
        for source in range(len(table.starts) - 1)
        for k in range(table.starts[source], table.starts[source + 1])
    ]


@pytest.mark.parametrize("seed", range(4))
def test_table_creates_each_synapse_once_keeping_each_sources_order(seed):
    rng = np.random.default_rng(seed)
    n_sources, n = 7, 60
    i = rng.integers(0, n_sources, n).astype(np.int32)
    j = rng.integers(0, 9, n).astype(np.int32)
    table = Connections.from_pairs("s", i, j, n_sources)
    assert table.starts.dtype == np.int64 and table.targets.dtype == np.int32
    assert table.order is not None
    created = created_pairs(table)
    # synapse k of the creation is synapse order[k] of the network
    assert created == [(int(i[k]), int(j[k])) for k in table.order]
    for source in range(n_sources):  # each source's synapses keep the network's order
        mine = [k for k in table.order if i[k] == source]
        assert mine == sorted(mine)
    values = rng.random(n)
    there = table.in_creation_order(values)
    assert [there[m] for m in range(n)] == [values[k] for k in table.order]
    np.testing.assert_array_equal(table.in_network_order(there), values)


def test_sorted_synapses_keep_their_order_and_empty_sources_are_rows_too():
    i = np.array([0, 0, 2, 2, 2, 5], dtype=np.int32)
    j = np.array([1, 0, 3, 1, 1, 2], dtype=np.int32)
    table = Connections.from_pairs("s", i, j, 7)
    assert table.order is None
    np.testing.assert_array_equal(table.starts, [0, 2, 2, 5, 5, 5, 6, 6])
    assert created_pairs(table) == list(zip(i.tolist(), j.tolist(), strict=True))
    values = np.arange(6.0)
    assert table.in_creation_order(values) is values and table.in_network_order(values) is values
    empty = Connections.from_pairs("e", i[:0], j[:0], 3)
    np.testing.assert_array_equal(empty.starts, [0, 0, 0, 0])


def test_too_many_synapses_for_brian2_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(run_inputs, "_MAX_SYNAPSES", 3)
    with pytest.raises(SimulationError, match="'big': 4 synapses, more than Brian2's int32"):
        Connections.from_pairs("big", np.zeros(4, np.int32), np.zeros(4, np.int32), 1)


def test_written_files_are_what_the_binary_reads(tmp_path):
    table = Connections.from_pairs(
        "syn", np.array([1, 0, 1], np.int32), np.array([4, 5, 6], np.int32), 3
    )
    inputs = RunInputs(seed=-12, connections={"syn": table})
    inputs.set_value("syn", "w", np.dtype(np.float64), np.array([0.5, 1, 2]))
    inputs.set_value("grp", "flag", np.dtype(np.int32), np.array([1.0, 0.0]))
    inputs.set_value("none", "w", np.dtype(np.float64), np.zeros(0))
    stale = tmp_path / INPUTS_DIR / "old.dat"
    stale.parent.mkdir()
    stale.write_bytes(b"x")
    run_args = inputs.write(tmp_path)
    folder = tmp_path / INPUTS_DIR
    assert not stale.exists()  # a previous run's file is never read by mistake
    assert run_args == [f"syn.w={INPUTS_DIR}/syn.w.dat", f"grp.flag={INPUTS_DIR}/grp.flag.dat"]
    assert (folder / "seed").read_text() == "-12\n"
    raw = (folder / "syn.csr").read_bytes()
    head = np.frombuffer(raw[:16], np.int64)
    starts = np.frombuffer(raw[16 : 16 + 8 * (head[0] + 1)], np.int64)
    targets = np.frombuffer(raw[16 + 8 * (head[0] + 1) :], np.int32)
    assert head.tolist() == [3, 3] and starts.tolist() == [0, 1, 3, 3]
    assert targets.tolist() == [5, 4, 6]
    np.testing.assert_array_equal(np.fromfile(folder / "syn.w.dat"), [0.5, 1, 2])
    np.testing.assert_array_equal(np.fromfile(folder / "grp.flag.dat", np.int32), [1, 0])
