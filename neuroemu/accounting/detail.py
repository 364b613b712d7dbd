"""What the finer counts of the architecture simulators' chip models need, per neuron.

SANA-FE's chip models charge some work more finely than neuroemu's event kinds: the update of a
neuron only when its state changed (apart from the access every neuron pays), a packet to the
neuron's own core as to any other, hops by direction, and the receiving core's work per packet.
A descriptor asks for these (:meth:`~neuroemu.spec.chip.ChipSpec.detail_kinds`); this module
computes, from the mapping and the engine's record, the per-neuron tables and events that
:func:`~neuroemu.accounting.counting.count_events` multiplies by spikes. Like every count, they
are exact: the packets of a neuron's spike are its distinct destination cores, read from the
synapses; a hop is one tile step of dimension-order routing, split by the axis it runs along.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neuroemu.activity import Activity, ChangedCells, Spikes
from neuroemu.errors import NeuroEmuError
from neuroemu.mapping.mapping import Mapping
from neuroemu.network.network import Network


def packet_pattern(mapping: Mapping, own_core: bool) -> sp.csr_matrix:
    """``(n_neurons, n_cores)`` int64 0/1: the cores a spike of each neuron sends a packet to.

    A core receives a packet when it holds at least one target of the neuron; the neuron's own
    core too when ``own_core`` (SANA-FE's axon model), otherwise local targets need none.
    """
    pattern = mapping.dest_synapses.tocsr().copy()
    pattern.data = np.ones(len(pattern.data), dtype=np.int64)
    pattern = pattern.astype(np.int64)
    if not own_core:
        rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
        pattern.data[pattern.indices == mapping.core_of_neuron[rows]] = 0
        pattern.eliminate_zeros()
    return pattern


def packets_per_neuron(mapping: Mapping, own_core: bool) -> dict[str, np.ndarray]:
    """Per neuron: packets one spike sends (``message``) and their hops along x
    (``hop_east_west``) and along y (``hop_north_south``), each an int64 array.

    Hops run on the tile mesh of all chips (as :attr:`Mapping.spike_routing` counts them), so
    ``hop_east_west + hop_north_south`` equals its hop count.
    """
    pattern = packet_pattern(mapping, own_core)
    n_neurons = pattern.shape[0]
    rows = np.repeat(np.arange(n_neurons), np.diff(pattern.indptr))
    cols = pattern.indices
    own = mapping.core_of_neuron[rows]
    xy = mapping.core_xy
    out = {"message": np.bincount(rows, minlength=n_neurons).astype(np.int64)}
    for axis, name in ((0, "hop_east_west"), (1, "hop_north_south")):
        hops = np.abs(xy[cols, axis] - xy[own, axis])
        out[name] = np.bincount(rows, weights=hops, minlength=n_neurons).astype(np.int64)
    return out


def changed_neurons(network: Network, activity: Activity) -> tuple[np.ndarray, np.ndarray]:
    """Global neuron index and step of every (neuron, step) whose state changed, in SANA-FE's
    sense: the engine's record (non-zero potential, input received, or its own dynamics moved
    it, e.g. a bias) united with the neuron's spikes.

    Raises
    ------
    NeuroEmuError
        When the activity carries no such record (the run was not asked to make it).
    """
    _require_changes(network, activity)
    neurons, steps = [], []
    for pop in network.populations:
        records = _change_records(activity, pop.name)
        if not records:
            continue
        seen = _cell_bitmap(records, pop.size, activity.n_steps)
        if seen is None:
            unique = _distinct_keys(records, pop.size, activity.n_steps)
        else:
            unique = np.flatnonzero(seen).astype(np.int64, copy=False)
        step, neuron = np.divmod(unique, pop.size)
        steps.append(step)
        neurons.append(neuron + network.offsets[pop.name])
    if not neurons:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(neurons), np.concatenate(steps)


def changed_per_column(
    network: Network, activity: Activity, column: np.ndarray, n_columns: int
) -> np.ndarray:
    """``(n_steps, n_columns)`` int64: the neurons of :func:`changed_neurons` per step, summed
    over the neurons of each column (``column``: global neuron -> column).

    Equal to counting the pairs that :func:`changed_neurons` returns, without listing them: the
    bitmap of a population's changed cells is summed over runs of neurons sharing a column (a
    record of every neuron at every step is 4 million pairs for COBA, 10x slower to count).
    """
    _require_changes(network, activity)
    n_steps = activity.n_steps
    out = np.zeros((n_steps, n_columns), dtype=np.int64)
    for pop in network.populations:
        records = _change_records(activity, pop.name)
        if not records:
            continue
        offset = network.offsets[pop.name]
        cols = column[offset : offset + pop.size]
        seen = _cell_bitmap(records, pop.size, n_steps)
        if seen is None:
            step, neuron = np.divmod(_distinct_keys(records, pop.size, n_steps), pop.size)
            cells = np.bincount(step * n_columns + cols[neuron], minlength=out.size)
            out += cells.reshape(n_steps, n_columns)
            continue
        cells_by_step = seen.reshape(n_steps, pop.size)
        if np.any(cols[1:] < cols[:-1]):
            by_column = np.argsort(cols, kind="stable")
            cells_by_step, cols = cells_by_step[:, by_column], cols[by_column]
        starts = np.flatnonzero(np.concatenate([[True], cols[1:] != cols[:-1]]))
        out[:, cols[starts]] += np.add.reduceat(cells_by_step, starts, axis=1, dtype=np.int64)
    return out


def _require_changes(network: Network, activity: Activity) -> None:
    if not activity.changed and network.populations:
        raise NeuroEmuError(
            "the chip prices neurons whose state changed (neuron_changed_pj or "
            "neuron_changed_ns), but the run did not record them: simulate with "
            "record_changes=True (the pipeline does so when the chip asks)"
        )


def _change_records(activity: Activity, name: str) -> list[ChangedCells | Spikes]:
    """A population's changed cells, from the engine's record and its spikes."""
    records = (activity.changed.get(name), activity.spikes.get(name))
    return [record for record in records if record is not None and len(record)]


# A bitmap of (step, neuron) cells replaces a sort while it takes at most this many bytes, and
# no more than this many bytes per record (COBA, recorded on Loihi: 4 million records over 4
# million cells, 10x faster than np.unique's hash and sort). The engine's own flag record is
# such a bitmap already: with it, one is always made.
_BITMAP_BYTES = 256 * 2**20
_BITMAP_BYTES_PER_RECORD = 16


def _keys(record: ChangedCells | Spikes, size: int) -> np.ndarray:
    return record.step.astype(np.int64) * size + record.neuron


def _cell_bitmap(
    records: list[ChangedCells | Spikes], size: int, n_steps: int
) -> np.ndarray | None:
    """Flat ``n_steps * size`` bool bitmap of the cells of ``records`` (step-major), or None
    when it would be too large or too sparse (see :data:`_BITMAP_BYTES`)."""
    n_cells = n_steps * size
    flags = [_flags(record, n_steps, size) for record in records]
    if all(f is None for f in flags):
        n_records = sum(len(record) for record in records)
        if n_cells > min(_BITMAP_BYTES, _BITMAP_BYTES_PER_RECORD * n_records):
            return None
    seen = np.zeros(n_cells, dtype=bool)
    cells = seen.reshape(n_steps, size)  # a view: setting it sets seen
    for record, record_flags in zip(records, flags, strict=True):
        if record_flags is not None:
            cells |= record_flags
            continue
        key = _keys(record, size)
        seen[key if int(key.max()) < n_cells else key[key < n_cells]] = True
    return seen


def _flags(record: ChangedCells | Spikes, n_steps: int, size: int) -> np.ndarray | None:
    """The engine's flags of ``record`` where they cover exactly these steps and neurons."""
    if isinstance(record, ChangedCells) and record.flags.shape == (n_steps, size):
        return record.flags
    return None


def _distinct_keys(records: list[ChangedCells | Spikes], size: int, n_steps: int) -> np.ndarray:
    """Sorted distinct keys ``step * size + neuron`` of ``records`` before ``n_steps``."""
    unique = np.unique(np.concatenate([_keys(record, size) for record in records]))
    return unique[: np.searchsorted(unique, n_steps * size)]
