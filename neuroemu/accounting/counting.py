"""Exact per-core event counts (:func:`count_events`); pricing lives in
:mod:`neuroemu.accounting.pricing`.

Counting never monitors synapses: it multiplies spikes by each neuron's per-core fan-out with
sparse products (spikes x synapses-per-destination-core), which equals a per-synapse count
exactly. The conventions, one per event kind, are in :mod:`neuroemu.events`. The one that needs a
decision is **delayed delivery**: a synaptic event counts at the step it is delivered, so a spike
whose delayed delivery would fall at or after the end of the run adds no ``synaptic_event`` (nor
the ``learning_update`` of its arrival) — exactly what Brian2 executes, since those spikes are
still in the spike queue when the run ends. Its ``spike_out``, ``message``, ``hop`` and
``chip_crossing`` are counted, because the packet left the core when the neuron fired.

The per-step work of the busiest core (events x time per event) is counted here too, since it
needs the per-step matrices that only exist while counting. Where the chip asks for finer counts
(:meth:`~neuroemu.spec.chip.ChipSpec.detail_kinds`: neurons that changed, packets in, hops by
direction, the synaptic events of projections stored as kernels where the chip prices them
apart; see :mod:`neuroemu.accounting.detail`), they are counted in the same pass, just as
exactly, and kept apart in ``EventCounts.detail_per_core``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neuroemu.accounting.detail import (
    changed_neurons,
    changed_per_column,
    packet_pattern,
    packets_per_neuron,
)
from neuroemu.activity import Activity, Spikes, in_step_order
from neuroemu.events import EVENT_KINDS
from neuroemu.mapping.mapping import Mapping
from neuroemu.network.network import Network, Projection
from neuroemu.spec.chip import RECEIVE_KINDS, ChipSpec
from neuroemu.spec.descriptor import Bound
from neuroemu.timesteps import delay_steps, whole_steps

_STEP_CHUNK = 8192
# Below this many (step, core) cells per event kind, counts accumulate in dense arrays (32 MB).
_DENSE_CELLS = 4_000_000
# Synapses whose (row, column) pairs one sparse build of a fan-out matrix groups at once.
_FANOUT_BATCH = 50_000_000
# Cost of a sparse product per stored entry, relative to a dense product per column.
_SPARSE_COST = 4
# Synapses whose keys one block of _blocked_fanout sorts at once (in cache), and the chunk in
# which synapses are checked to be in source order.
_BLOCK_SYNAPSES = 1 << 18
_SORTED_CHECK = 1 << 22
# _blocked_fanout leaves the rows of silent source neurons empty in a block where fewer than
# this fraction of its neurons spike.
_SPIKING_KEPT = 0.9
# Largest span of delays (in steps) that _blocked_fanout lays rows out over before dropping the
# steps no synapse has.
_DELAY_SPAN = 1 << 16
# Spikes x delays expanded at once when a source has several delays (bounds the memory: ~100 MB).
_EXPANDED_SPIKES = 4_000_000


@dataclass(frozen=True, eq=False)
class EventCounts:
    """Events per core and kind, in total, per time window and (optionally) per step.

    Attributes
    ----------
    per_core : dict
        Event kind -> int64 array of length ``n_cores`` (all cores of the chips used).
    step_work_ns : ndarray
        Per step, the work of the busiest core in ns under the mapped chip's timing.
    step_work_bounds_ns : dict
        ``'low'`` and ``'high'`` -> the same at the ends of the per-event times' ranges (empty
        when the chip gives no time ranges: the bounds equal ``step_work_ns``).
    n_steps, dt_ms : int, float
        The run's length and timestep.
    n_chips, n_cores_used : int
        From the mapping, for static power.
    chip_name : str
        The chip the counts were made for (its topology decides messages and hops).
    inference_ms : float or None
        From the network, for energy per inference.
    window_ms : float or None
        Window length of ``windows`` (None when not asked for).
    windows : dict
        Event kind -> ``(n_windows, n_cores)`` int64 array (empty when not asked for).
    per_step : dict
        Event kind -> ``(n_steps, n_cores)`` sparse matrix, kept only when asked for
        (``neuron_update`` is the same every step and is not stored).
    detail_per_core : dict
        Finer count (:data:`~neuroemu.spec.chip.DETAIL_KINDS`: ``neuron_changed``,
        ``message_in``, ``hop_east_west``, ``hop_north_south``, ``synaptic_event_conv``) ->
        int64 array of length ``n_cores``; only those the chip prices (empty for most chips).
        ``synaptic_event_conv`` is the part of ``synaptic_event`` delivered through
        projections the mapping stores as kernels (``Mapping.encodings``).
    n_tiles_used : int or None
        Tiles holding at least one neuron; only for a chip whose barrier depends on it
        (``timing.barrier_ns_by_tiles``), else None.
    """

    per_core: dict[str, np.ndarray]
    step_work_ns: np.ndarray
    n_steps: int
    dt_ms: float
    n_chips: int
    n_cores_used: int
    chip_name: str
    inference_ms: float | None = None
    window_ms: float | None = None
    windows: dict[str, np.ndarray] = field(default_factory=dict)
    per_step: dict[str, sp.csr_matrix] = field(default_factory=dict)
    step_work_bounds_ns: dict[str, np.ndarray] = field(default_factory=dict)
    detail_per_core: dict[str, np.ndarray] = field(default_factory=dict)
    n_tiles_used: int | None = None

    def __repr__(self) -> str:
        # The default repr printed every per-core and per-step array.
        totals = self.totals()
        busiest = ", ".join(f"{k} {v:,}" for k, v in totals.items() if v)
        return (
            f"<EventCounts on {self.chip_name}: {self.n_steps:,} steps on {self.n_cores_used} "
            f"cores; {busiest or 'no events'}>"
        )

    def _repr_html_(self) -> str:
        """A short HTML table for notebooks (Jupyter shows it in place of the repr)."""
        from neuroemu.notebook import event_counts_html

        return event_counts_html(self)

    def to_dataframe(self) -> Any:
        """Events per core (rows: the cores' global numbers) and kind (columns) as a pandas
        DataFrame; pandas is imported only here."""
        from neuroemu.dataframes import to_dataframe

        n_cores = len(next(iter(self.per_core.values()))) if self.per_core else 0
        rows = [
            {"core": core, **{kind: int(v[core]) for kind, v in self.per_core.items()}}
            for core in range(n_cores)
        ]
        return to_dataframe(rows, index="core")

    def step_work_at(self, bound: Bound) -> np.ndarray:
        """Per-step work of the busiest core in ns at ``bound`` of the per-event times."""
        return self.step_work_bounds_ns.get(bound, self.step_work_ns)

    @property
    def n_cores(self) -> int:
        return len(self.per_core["neuron_update"])

    @property
    def simulated_ms(self) -> float:
        return self.n_steps * self.dt_ms

    def totals(self) -> dict[str, int]:
        """Event kind -> total over all cores."""
        return {kind: int(self.per_core[kind].sum()) for kind in EVENT_KINDS}


def _spike_matrix(neuron: np.ndarray, step: np.ndarray, n_steps: int, size: int) -> sp.csr_matrix:
    """``(n_steps, size)`` spike counts, built row by row (no sort when steps are in order)."""
    neuron, step = in_step_order(neuron, step)
    indptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(step, minlength=n_steps), out=indptr[1:])
    data = np.ones(len(neuron), dtype=np.int64)
    return sp.csr_matrix((data, neuron.astype(np.int64), indptr), shape=(n_steps, size))


def _delayed_fanout(
    members: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_pre: int, n_cols: int
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Fan-out of one source's projections, one row per (source neuron, delay).

    ``members`` holds ``(i, post column, delay steps)`` per projection. Returns the distinct
    delays (sorted) and a ``(n_pre * n_delays, n_cols)`` matrix whose row ``n * n_delays + k``
    counts the synapses of neuron ``n`` with delay ``delays[k]`` on each column. One product
    with the spikes expanded over the delays then delivers every spike through every delay,
    instead of one product (and one dense output) per distinct delay.
    """
    delays = _distinct_delays([steps for _, _, steps in members])
    n_delays = len(delays)
    n_rows = n_pre * n_delays
    index_of_delay = np.zeros(int(delays[-1] - delays[0]) + 1, dtype=np.int64)
    index_of_delay[delays - delays[0]] = np.arange(n_delays)
    # Each synapse becomes one integer key, row * n_cols + column, built in place in the
    # narrowest unsigned type that holds every key; a batch of up to _FANOUT_BATCH keys is
    # sorted (numpy's vectorised sort: 32-bit keys sort several times faster than scipy's COO to
    # CSR conversion, per-row sort and duplicate sum, 17 of the 56 s of counting the full
    # microcircuit) and its runs of equal keys are the matrix's entries and their counts.
    key_type = np.uint32 if n_rows * n_cols <= 2**32 else np.uint64
    index_of_delay = index_of_delay.astype(key_type)
    parts: list[sp.csr_matrix] = []
    keys: list[np.ndarray] = []
    pending = 0
    for pre, post_col, steps in members:
        key: Any = np.asarray(pre).astype(key_type)  # key_type: np.uint32 or np.uint64
        if n_delays > 1:
            key *= key_type(n_delays)
            key += index_of_delay[steps - delays[0]]
        key *= key_type(n_cols)
        key += np.asarray(post_col).astype(key_type, copy=False)
        keys.append(key)
        pending += len(key)
        if pending >= _FANOUT_BATCH:
            parts.append(_count_keys(np.concatenate(keys), n_rows, n_cols))
            keys, pending = [], 0
    if keys or not parts:
        parts.append(_count_keys(np.concatenate(keys), n_rows, n_cols))
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return delays, total.tocsr()


@dataclass(frozen=True)
class _Synapses:
    """One projection's synapses as :func:`_blocked_fanout` reads them, a slice at a time: the
    post column and the delay in steps are looked up per slice, never for all synapses at once
    (the full microcircuit's 3e8 synapses made 2.4 GB int64 arrays of each)."""

    pre: np.ndarray
    post: np.ndarray
    post_column: np.ndarray  # uint32: the column of each neuron of the post population
    delay_ms: np.ndarray | float
    dt_ms: float

    def steps(self, start: int, stop: int) -> np.ndarray:
        delay = np.asarray(self.delay_ms)
        return delay_steps(delay if delay.ndim == 0 else delay[start:stop], self.dt_ms)

    def step_range(self) -> tuple[int, int]:
        """The smallest and largest delay in steps (rounding is monotone: the ends' steps)."""
        delay = np.asarray(self.delay_ms)
        if delay.ndim == 0:
            return int(delay_steps(delay, self.dt_ms)), int(delay_steps(delay, self.dt_ms))
        return int(delay_steps(delay.min(), self.dt_ms)), int(delay_steps(delay.max(), self.dt_ms))

    def first_of_pre(self, n_pre: int) -> np.ndarray | None:
        """Per source neuron, the index of its first synapse (``n_pre + 1`` entries) when the
        synapses are in source order, else None."""
        pre = self.pre
        for start in range(0, len(pre), _SORTED_CHECK):
            chunk = pre[start : start + _SORTED_CHECK + 1]
            if np.any(chunk[1:] < chunk[:-1]):
                return None
        if len(pre) and (int(pre[0]) < 0 or int(pre[-1]) >= n_pre):
            return None
        firsts = np.arange(n_pre + 1).astype(np.promote_types(pre.dtype, np.min_scalar_type(n_pre)))
        return np.searchsorted(pre, firsts).astype(np.int64)


def _blocked_fanout(
    synapses: list[_Synapses], n_pre: int, n_cols: int, uses: np.ndarray | None = None
) -> tuple[np.ndarray, sp.csr_matrix] | None:
    """:func:`_delayed_fanout` for projections whose synapses are in source order, built a
    block of source neurons at a time; None when some are not in order (or the delays span
    too many steps), for :func:`_delayed_fanout` to build.

    A block's keys sort in cache and give the matrix's rows of that block, in order, so the
    blocks are concatenated instead of summed. The rows are laid out first over every step
    from the smallest delay to the largest; the steps no synapse has are rows without entries,
    dropped at the end, which leaves :func:`_delayed_fanout`'s matrix.

    ``uses`` (per source neuron, the spikes the matrix will be multiplied with) lets a product
    get a cheaper matrix that multiplies the same: the rows of neurons that never spike are
    left empty (a third of L2/3E's and L6E's neurons in 1 s of the full microcircuit at the
    published rates), and where the neurons spike so seldom that summing a block's repeated
    cells costs more than the products pay for the repeats, the cells are kept one entry per
    synapse (a row's columns in order, repeated; the matrix is then not canonical, its
    products and dense form are the same). Without ``uses``, every row is filled and the
    matrix is canonical.
    """
    if not synapses or not sum(len(s.pre) for s in synapses):
        return None
    ranges = [s.step_range() for s in synapses]
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    n_range = hi - lo + 1
    # a key is (row << shift) | column: the column is its low bits, read with a mask
    shift = max(0, n_cols - 1).bit_length()
    if n_range > _DELAY_SPAN or n_range << shift > 2**32:
        return None
    firsts = [s.first_of_pre(n_pre) for s in synapses]
    if any(first is None for first in firsts):
        return None
    starts = [first for first in firsts if first is not None]
    # source-neuron blocks of about _BLOCK_SYNAPSES synapses, and of at most 2**32 keys
    per_pre = np.sum(starts, axis=0)  # synapses of all projections before each source neuron
    edges = np.searchsorted(per_pre, np.arange(0, int(per_pre[-1]), _BLOCK_SYNAPSES), "right")
    max_rows = max(1, 2**32 // (n_range << shift))
    edges = np.unique(np.concatenate([edges - 1, np.arange(0, n_pre, max_rows), [n_pre]]))
    # the entries are written in place, in arrays for one per synapse (few are summed)
    n_synapses = int(per_pre[-1])
    index = np.int32 if max(n_pre * n_range, n_cols, n_synapses) < 2**31 else np.int64
    data = np.empty(n_synapses, dtype=np.int64)
    indices = np.empty(n_synapses, dtype=index)
    indptr_parts = [np.zeros(1, dtype=np.int64)]
    nnz = 0
    for p0, p1 in itertools.pairwise(edges.tolist()):
        spans = [
            (syn, first, int(first[p0]), int(first[p1]))
            for syn, first in zip(synapses, starts, strict=True)
        ]
        spans = [span for span in spans if span[2] < span[3]]
        n_rows = (p1 - p0) * n_range
        if not spans:
            indptr_parts.append(np.full(n_rows, nnz, dtype=np.int64))
            continue
        key = np.empty(sum(b - a for _, _, a, b in spans), dtype=np.uint32)
        end = 0
        for syn, _, a, b in spans:
            # (((pre - p0) * n_range + step - lo) << shift) | column, in uint32 arithmetic
            # modulo 2**32: exact, since the key itself is below 2**32
            part = key[end : end + b - a]
            end += b - a
            np.copyto(part, syn.pre[a:b], casting="unsafe")
            if n_range > 1:
                part *= np.uint32(n_range)
                np.add(part, syn.steps(a, b), out=part, casting="unsafe")
            part -= np.uint32((p0 * n_range + (lo if n_range > 1 else 0)) % 2**32)
            part <<= np.uint32(shift)
            part |= np.take(syn.post_column, syn.post[a:b])  # faster than [] with int32 indices
        repeats_paid = np.inf  # summing repeats pays, unless the neurons seldom spike
        if uses is not None:
            spiking = uses[p0:p1] > 0
            n_spiking = int(np.count_nonzero(spiking))
            repeats_paid = int(uses[p0:p1].sum()) / max(1, n_spiking)
            if n_spiking < (p1 - p0) * _SPIKING_KEPT:  # drop the silent neurons' synapses
                keep = [np.repeat(spiking, np.diff(first[p0 : p1 + 1])) for _, first, _, _ in spans]
                key = key[np.concatenate(keep)]
        ends = _sorted_keys_to_rows(key, n_rows, shift, repeats_paid, data[nnz:], indices[nnz:])
        indptr_parts.append(ends + nnz)
        nnz += int(ends[-1])
    indptr = np.concatenate(indptr_parts)
    # keep the steps some synapse has: the other rows are empty, their ends repeat
    row_nnz = np.diff(indptr).reshape(n_pre, n_range)
    present = np.flatnonzero(row_nnz.any(axis=0))
    kept_ends = indptr[1:].reshape(n_pre, n_range)[:, present].ravel()
    fanout = sp.csr_matrix(
        (data[:nnz], indices[:nnz], np.concatenate([[0], kept_ends]).astype(index)),
        shape=(n_pre * len(present), n_cols),
    )
    return (present + lo).astype(np.int64), fanout


def _sorted_keys_to_rows(
    key: np.ndarray,
    n_rows: int,
    shift: int,
    repeats_paid: float,
    counts: np.ndarray,
    columns: np.ndarray,
) -> np.ndarray:
    """The entries of the ``n_rows`` rows counting the uint32 keys ``(row << shift) | column``
    (``key`` is sorted in place), written to the start of ``counts`` and ``columns``; returns
    each row's end (int64).

    Equal keys are summed into one entry where the repeats times ``repeats_paid`` (the spikes
    per row that each repeat would cost a product) reach the keys: summing costs about as much
    per key as a product per repeat (see :func:`_blocked_fanout`). Else one entry per key."""
    key.sort()
    starts = np.empty(len(key), dtype=bool)
    starts[:1] = True
    np.not_equal(key[1:], key[:-1], out=starts[1:])
    n_repeats = len(key) - int(np.count_nonzero(starts))
    if n_repeats and n_repeats * repeats_paid >= len(key):
        first = np.flatnonzero(starts)
        np.subtract(first[1:], first[:-1], out=counts[: len(first) - 1])
        counts[len(first) - 1] = len(key) - first[-1]
        key = key[first]
    else:
        counts[: len(key)] = 1
    np.bitwise_and(key, (1 << shift) - 1, out=columns[: len(key)], casting="unsafe")
    # rows come sorted: each row's first entry by bisection instead of a count per row
    ends = np.empty(n_rows, dtype=np.int64)
    row_starts = np.arange(1, n_rows, dtype=np.uint64) << np.uint64(shift)
    ends[:-1] = np.searchsorted(key, row_starts.astype(key.dtype))
    ends[-1] = len(key)
    return ends


def _distinct_delays(steps: list[np.ndarray]) -> np.ndarray:
    """Sorted distinct values of the int64 arrays ``steps`` (delays span few steps: a bitmap
    of their range instead of a hash of every synapse's delay)."""
    sized = [s for s in steps if s.size]
    lo = min((int(s.min()) for s in sized), default=0)
    hi = max((int(s.max()) for s in sized), default=_FANOUT_BATCH + 1)
    if hi - lo > _FANOUT_BATCH:
        return np.unique(np.concatenate([np.unique(s) for s in steps]))
    present = np.zeros(hi - lo + 1, dtype=bool)
    for s in steps:
        if s.ndim == 0:
            present[int(s) - lo] = True
        elif s.size:
            present[np.flatnonzero(np.bincount((s - lo).ravel(), minlength=hi - lo + 1))] = True
    return (np.flatnonzero(present) + lo).astype(np.int64)


def _add_deliveries(
    counts: _StepCoreCounts | _CoreTotals,
    kind: str,
    spikes: Spikes,
    delays: np.ndarray,
    fanout: sp.csr_matrix,
    n_steps: int,
) -> None:
    """Add the events of ``spikes`` delivered through ``fanout`` (see :func:`_delayed_fanout`)."""
    n_delays = len(delays)
    size = fanout.shape[0] // n_delays
    if isinstance(counts, _CoreTotals):
        delivered = _delivered_per_row(spikes, delays, n_steps, size)
        counts.add_totals(kind, fanout.T @ delivered)
        return
    if n_delays == 1:
        arrive = spikes.step.astype(np.int64) + int(delays[0])
        keep = arrive < n_steps
        shifted = _spike_matrix(spikes.neuron[keep], arrive[keep], n_steps, size)
        counts.add_product(kind, shifted, fanout)
        return
    chunk = max(1, _EXPANDED_SPIKES // n_delays)
    neuron, step = in_step_order(spikes.neuron.astype(np.int64), spikes.step.astype(np.int64))
    for start in range(0, len(step), chunk):
        expanded = _expanded_spikes(
            neuron[start : start + chunk], step[start : start + chunk], delays, n_steps, size
        )
        counts.add_product(kind, expanded, fanout)


def _delivered_per_row(spikes: Spikes, delays: np.ndarray, n_steps: int, size: int) -> np.ndarray:
    """Per row ``n * n_delays + k`` of a delayed fan-out: the spikes of neuron ``n`` that arrive
    through delay ``delays[k]`` before the run ends (emitted before step ``n_steps - delay``).

    All of a neuron's spikes, less those too late for each delay; only spikes in the last
    ``max(delays)`` steps can be too late, so each delay looks at those few.
    """
    neuron = spikes.neuron.astype(np.int64)
    step = spikes.step.astype(np.int64)
    delivered = np.repeat(np.bincount(neuron, minlength=size)[:, None], len(delays), axis=1)
    late = step >= n_steps - int(delays.max())
    late_neuron, late_step = neuron[late], step[late]
    for k, delay in enumerate(delays):
        if delay > 0:
            too_late = late_neuron[late_step >= n_steps - int(delay)]
            delivered[:, k] -= np.bincount(too_late, minlength=size)
    return delivered.ravel()


def _expanded_spikes(
    neuron: np.ndarray, step: np.ndarray, delays: np.ndarray, n_steps: int, size: int
) -> sp.csr_matrix:
    """``(n_steps, size * n_delays)``: spike ``j`` through delay ``k`` arrives at step
    ``step[j] + delays[k]`` in column ``neuron[j] * n_delays + k``.

    Built directly in row order from spikes sorted by step, without the sort scipy would do
    (for 10^6 spikes and 16 delays that sort was a third of the counting time): the entries of
    one arrival step come from the spikes ``delays[k]`` steps earlier, for each ``k`` in turn.
    """
    n_delays = len(delays)
    arrive = step[:, None] + delays[None, :]
    keep = arrive < n_steps
    if n_delays * n_steps > _EXPANDED_SPIKES:  # the (delays x steps) table would be large
        row = neuron[:, None] * n_delays + np.arange(n_delays)[None, :]
        data = np.ones(int(keep.sum()), dtype=np.int64)
        return sp.csr_matrix((data, (arrive[keep], row[keep])), shape=(n_steps, size * n_delays))
    per_step = np.bincount(step, minlength=n_steps)[:n_steps]
    first_of_step = np.cumsum(per_step) - per_step
    # before[k, t]: entries of arrival step t that come through delays 0..k-1
    before = np.zeros((n_delays, n_steps), dtype=np.int64)
    row_length = np.zeros(n_steps, dtype=np.int64)
    for k, delay in enumerate(delays):
        before[k] = row_length
        if delay < n_steps:
            row_length[delay:] += per_step[: n_steps - delay]
    indptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(row_length, out=indptr[1:])
    k = np.broadcast_to(np.arange(n_delays), arrive.shape)[keep]
    rank = np.broadcast_to((np.arange(len(step)) - first_of_step[step])[:, None], arrive.shape)
    t = arrive[keep]
    position = indptr[t] + before[k, t] + rank[keep]
    indices = np.empty(int(indptr[-1]), dtype=np.int64)
    indices[position] = (neuron[:, None] * n_delays + np.arange(n_delays)[None, :])[keep]
    data = np.ones(len(indices), dtype=np.int64)
    return sp.csr_matrix((data, indices, indptr), shape=(n_steps, size * n_delays))


def _count_keys(key: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """``(n_rows, n_cols)`` int64 CSR counting the keys ``row * n_cols + column`` (``key`` is
    sorted in place): canonical, its columns sorted within each row and duplicates summed."""
    key.sort()
    if len(key) == 0:
        return sp.csr_matrix((n_rows, n_cols), dtype=np.int64)
    starts = np.empty(len(key), dtype=bool)
    starts[0] = True
    np.not_equal(key[1:], key[:-1], out=starts[1:])
    first = np.flatnonzero(starts)
    counts = np.empty(len(first), dtype=np.int64)
    np.subtract(first[1:], first[:-1], out=counts[:-1])
    counts[-1] = len(key) - first[-1]
    distinct = key[first]
    kt = key.dtype.type
    row = distinct // kt(n_cols)  # numpy divides by a scalar fast; its remainder is slower
    distinct -= row * kt(n_cols)
    index = np.int32 if max(n_rows, n_cols) < 2**31 else np.int64
    col = distinct.astype(index)
    # rows come sorted: each row's first entry by bisection instead of a count per row
    firsts = np.arange(n_rows + 1).astype(np.promote_types(row.dtype, np.min_scalar_type(n_rows)))
    indptr = np.searchsorted(row, firsts).astype(index)
    return sp.csr_matrix((counts, col, indptr), shape=(n_rows, n_cols))


class _StepCoreCounts:
    """Events per (step, core holding neurons), per kind, accumulated exactly in int64.

    Only cores that hold neurons can have events, so columns are those cores (``used``), not
    every core of the chips. When ``n_steps x n_used`` is small (a few million cells) the counts
    are dense arrays, filled with ``bincount`` and sparse-times-dense products, which is several
    times faster than summing sparse matrices; otherwise they are sums of sparse matrices, whose
    memory grows with the events instead of with steps x cores.
    """

    def __init__(self, n_steps: int, n_used: int) -> None:
        self.n_steps = n_steps
        self.n_used = n_used
        self.dense = n_steps * n_used <= _DENSE_CELLS
        self._dense: dict[str, np.ndarray] = {}
        self._parts: dict[str, list[sp.csr_matrix]] = {}

    def totals(self, kind: str) -> np.ndarray:
        """Per column, the events of one kind over the whole run (int64)."""
        return np.asarray(self.matrix(kind).sum(axis=0), dtype=np.int64).ravel()

    def add_events(self, step: np.ndarray, col: np.ndarray, kinds: dict[str, Any]) -> None:
        """Events at each (step, column): ``kinds`` maps a kind to None (one event each) or to
        per-entry weights (that many events)."""
        if self.dense:
            # column-major cells: per-core sums and the per-step maximum over cores then run
            # over contiguous memory (3-4x faster than over rows of a few cores each)
            flat = col * self.n_steps + step.astype(np.int64)
            cells = self.n_steps * self.n_used
            for kind, weights in kinds.items():
                if weights is None:
                    counts = np.bincount(flat, minlength=cells)
                else:
                    counts = np.bincount(flat, weights=weights, minlength=cells).astype(np.int64)
                self.add_dense(kind, counts.reshape(self.n_used, self.n_steps).T)
            return
        shape = (self.n_steps, self.n_used)
        for kind, weights in kinds.items():
            values = np.ones(len(step), np.int64) if weights is None else weights.astype(np.int64)
            self._parts.setdefault(kind, []).append(
                sp.csr_matrix((values, (step, col)), shape=shape, dtype=np.int64)
            )

    def add_product(self, kind: str, spikes: sp.csr_matrix, fanout: sp.csr_matrix) -> None:
        """Events of ``spikes`` (steps x sources) times ``fanout`` (sources x columns)."""
        # A dense fanout costs every column for each spike, a sparse one about four times as
        # much per stored entry (measured): dense wins unless rows reach few of the columns
        # (COBA on Tianjic's 1,441 cores: 79 per row, 5x faster sparse).
        entries_per_row = fanout.nnz / max(1, fanout.shape[0])
        few_columns = self.n_used <= _SPARSE_COST * entries_per_row
        if self.dense and few_columns and fanout.shape[0] * self.n_used <= _DENSE_CELLS:
            self.add_dense(kind, spikes @ fanout.toarray())
        elif self.dense:
            self.add_dense(kind, (spikes @ fanout).toarray())
        else:
            self._parts.setdefault(kind, []).append((spikes @ fanout).tocsr())

    def add_dense(self, kind: str, values: np.ndarray) -> None:
        """Add ``(n_steps, n_used)`` counts of one kind (dense counts only)."""
        if kind in self._dense:
            self._dense[kind] += values
        else:
            self._dense[kind] = np.asfortranarray(values, dtype=np.int64)

    def matrix(self, kind: str) -> np.ndarray | sp.csr_matrix:
        """``(n_steps, n_used)`` counts of one kind: dense array or CSR matrix."""
        if self.dense:
            if kind not in self._dense:
                return np.zeros((self.n_steps, self.n_used), dtype=np.int64, order="F")
            return self._dense[kind]
        parts = self._parts.get(kind, [])
        if not parts:
            return sp.csr_matrix((self.n_steps, self.n_used), dtype=np.int64)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total.tocsr()


class _CoreTotals:
    """Events per core holding neurons, per kind, over the whole run: the counts of
    :class:`_StepCoreCounts` (same calls) without their steps.

    For a chip that times no event (its step work is the same every step) and a count asked
    for neither windows nor per-step matrices, the totals are all that is used. They come from
    per-neuron spike counts times the fan-out, without the (steps x columns) products (COBA on
    Tianjic's 1,441 cores: 0.46-0.54 s of counting down to 0.07 s). ``dense`` says, as there,
    whether a caller may hand in a dense ``(n_steps, n_used)`` array.
    """

    def __init__(self, n_steps: int, n_used: int) -> None:
        self.n_steps = n_steps
        self.n_used = n_used
        self.dense = n_steps * n_used <= _DENSE_CELLS
        self._totals: dict[str, np.ndarray] = {}

    def add_totals(self, kind: str, values: np.ndarray) -> None:
        """Add per-column totals of one kind."""
        values = np.asarray(values, dtype=np.int64)
        self._totals[kind] = self._totals[kind] + values if kind in self._totals else values

    def totals(self, kind: str) -> np.ndarray:
        """Per column, the events of one kind over the whole run (int64)."""
        return self._totals.get(kind, np.zeros(self.n_used, dtype=np.int64))

    def add_events(self, step: np.ndarray, col: np.ndarray, kinds: dict[str, Any]) -> None:
        """As :meth:`_StepCoreCounts.add_events` (``step`` is not needed)."""
        for kind, weights in kinds.items():
            per_column = np.bincount(col, weights=weights, minlength=self.n_used)
            self.add_totals(kind, per_column.astype(np.int64))

    def add_product(self, kind: str, spikes: sp.csr_matrix, fanout: sp.csr_matrix) -> None:
        """As :meth:`_StepCoreCounts.add_product`: each source's spikes times its fan-out."""
        per_source = np.asarray(spikes.sum(axis=0), dtype=np.int64).ravel()
        self.add_totals(kind, fanout.T @ per_source)

    def add_dense(self, kind: str, values: np.ndarray) -> None:
        """As :meth:`_StepCoreCounts.add_dense`."""
        self.add_totals(kind, np.asarray(values, dtype=np.int64).sum(axis=0))


def count_events(
    network: Network,
    activity: Activity,
    mapping: Mapping,
    window_ms: float | None = None,
    per_step: bool = False,
) -> EventCounts:
    """Count every event of ``activity`` per core and kind (see :mod:`neuroemu.events`).

    Parameters
    ----------
    network : Network
        The network that was simulated.
    activity : Activity
        Its spikes.
    mapping : Mapping
        Where each neuron sits (decides which core each event happens on).
    window_ms : float or None
        Also count per window of this length (the last window may be shorter).
    per_step : bool
        Keep the ``(n_steps, n_cores)`` sparse matrices (memory grows with spikes x cores).

    Returns
    -------
    EventCounts
    """
    n_steps = activity.n_steps
    dt_ms = activity.dt_ms
    n_cores = mapping.n_cores
    core = mapping.core_of_neuron.astype(np.int64)
    used = np.unique(core)
    column_of_core = np.full(n_cores, -1, dtype=np.int64)
    column_of_core[used] = np.arange(len(used))
    column = column_of_core[core]
    chip = mapping.chip
    needs_steps = window_ms is not None or per_step or _times_events(chip)
    counts = (_StepCoreCounts if needs_steps else _CoreTotals)(n_steps, len(used))

    # spikes emitted, and the packets they send (at the source core, at the emission step)
    detail = chip.detail_kinds()
    own_core = chip.topology.messages_to_own_core
    per_neuron_kinds = routing_per_neuron(mapping)
    routed = [(kind, values) for kind, values in per_neuron_kinds.items() if values.any()]
    received = packet_pattern(mapping, own_core)[:, used] if "message_in" in detail else None
    for pop in network.populations:
        spikes = activity.spikes.get(pop.name)
        if spikes is None or not len(spikes):
            continue
        neuron = spikes.neuron.astype(np.int64) + network.offsets[pop.name]
        step = spikes.step.astype(np.int64)
        src = column[neuron]
        emitted: dict[str, Any] = {"spike_out": None}
        for kind, per_neuron in routed:  # kinds no neuron of the mapping produces are skipped
            emitted[kind] = per_neuron[neuron]
        counts.add_events(step, src, emitted)
        if received is not None:  # the same packets, at the cores receiving them
            offset = network.offsets[pop.name]
            matrix = _spike_matrix(spikes.neuron, spikes.step, n_steps, pop.size)
            counts.add_product("message_in", matrix, received[offset : offset + pop.size])
    if "neuron_changed" in detail and counts.dense:
        counts.add_dense("neuron_changed", changed_per_column(network, activity, column, len(used)))
    elif "neuron_changed" in detail:
        neuron, step = changed_neurons(network, activity)
        counts.add_events(step, column[neuron], {"neuron_changed": None})

    # external input spikes arriving at each core holding targets of them (at emission)
    inputs = mapping.input_dest_synapses.tocsr()[:, used]
    for source in network.inputs:
        spikes = activity.spikes.get(source.name)
        if spikes is None or not len(spikes):
            continue
        pattern = inputs[network.offsets[source.name] : network.offsets[source.name] + source.size]
        pattern = (pattern > 0).astype(np.int64)
        matrix = _spike_matrix(spikes.neuron, spikes.step, n_steps, source.size)
        counts.add_product("input_event", matrix, pattern.tocsr())

    # synaptic events (and the presynaptic half of STDP) at the post core, at delivery: the
    # fan-out of all projections from one source is summed into one (neuron, delay) matrix, so
    # each source's spikes are expanded over its delays and multiplied once
    members: dict[str, dict[str, list[Projection]]] = {"synaptic_event": {}, "learning_update": {}}
    # the same deliveries again for the projections stored as kernels, where the chip prices
    # their synaptic events apart (synaptic_event itself is counted as before, bit for bit)
    kernels: set[str] = set()
    if "synaptic_event_conv" in detail:
        members["synaptic_event_conv"] = {}
        kernels = {encoding.projection for encoding in mapping.encodings if encoding.shared}
    for proj in network.projections:
        spikes = activity.spikes.get(proj.pre)
        if spikes is None or not len(spikes):
            continue
        kinds = ["synaptic_event"] + (["learning_update"] if proj.plasticity is not None else [])
        if proj.name in kernels:
            kinds.append("synaptic_event_conv")
        for kind in kinds:
            members[kind].setdefault(proj.pre, []).append(proj)
        if proj.plasticity is not None:
            post_spikes = activity.spikes.get(proj.post)
            if post_spikes is not None and len(post_spikes):
                post = network.population(proj.post)
                in_degree = np.bincount(proj.j, minlength=post.size)
                local = column[network.offsets[proj.post] + post_spikes.neuron.astype(np.int64)]
                counts.add_events(
                    post_spikes.step, local, {"learning_update": in_degree[post_spikes.neuron]}
                )
    for kind, sources in members.items():
        for pre, projections in sources.items():
            size = _source_size(network, pre)
            spikes = activity.spikes[pre]
            uses = np.bincount(spikes.neuron, minlength=size)
            delays, fanout = _source_fanout(
                network, projections, column, size, len(used), dt_ms, uses
            )
            _add_deliveries(counts, kind, spikes, delays, fanout, n_steps)

    matrices: dict[str, np.ndarray | sp.csr_matrix] = {}
    details: dict[str, np.ndarray | sp.csr_matrix] = {}
    if isinstance(counts, _StepCoreCounts):  # else the chip's step work needs no events
        matrices = {kind: counts.matrix(kind) for kind in EVENT_KINDS[1:]}
        details = {kind: counts.matrix(kind) for kind in detail}
    neurons_per_core = np.bincount(core, minlength=n_cores).astype(np.int64)
    per_core = {"neuron_update": neurons_per_core * n_steps}
    for kind in EVENT_KINDS[1:]:
        per_core[kind] = _expand(counts.totals(kind), used, n_cores)
    detail_per_core = {kind: _expand(counts.totals(kind), used, n_cores) for kind in detail}
    windows = {}
    if window_ms is not None:
        windows = _windows(matrices, used, n_steps, dt_ms, window_ms, neurons_per_core)
    bounds: tuple[Bound, ...] = ("low", "high") if chip.has_time_ranges() else ()
    step_work: dict[str, np.ndarray] = {
        bound: _step_work_ns({**matrices, **details}, neurons_per_core[used], n_steps, chip, bound)
        for bound in ("value", *bounds)
    }
    n_tiles = None  # kept only for a barrier that depends on it (like the finer counts)
    if chip.timing.barrier_ns_by_tiles is not None:
        n_tiles = len(np.unique(used // chip.topology.cores_per_tile.require()))
    return EventCounts(
        per_core=per_core,
        step_work_ns=step_work.pop("value"),
        step_work_bounds_ns=step_work,
        n_steps=n_steps,
        dt_ms=dt_ms,
        n_chips=mapping.n_chips,
        n_cores_used=mapping.n_cores_used,
        chip_name=mapping.chip.name,
        inference_ms=network.inference_ms,
        window_ms=window_ms,
        windows=windows,
        per_step={k: _full_csr(m, used, n_cores) for k, m in matrices.items()} if per_step else {},
        detail_per_core=detail_per_core,
        n_tiles_used=n_tiles,
    )


def _source_fanout(
    network: Network,
    projections: list[Projection],
    column: np.ndarray,
    size: int,
    n_cols: int,
    dt_ms: float,
    uses: np.ndarray | None = None,
) -> tuple[np.ndarray, sp.csr_matrix]:
    """The delayed fan-out of one source's ``projections`` onto the columns (see
    :func:`_delayed_fanout`), a block of source neurons at a time where the synapses allow
    (for products with ``uses`` spikes per source neuron: see :func:`_blocked_fanout`)."""
    synapses = []
    for proj in projections:
        offset = network.offsets[proj.post]
        post_column = column[offset : offset + network.population(proj.post).size]
        synapses.append(
            _Synapses(proj.i, proj.j, post_column.astype(np.uint32), proj.delay_ms, dt_ms)
        )
    blocked = _blocked_fanout(synapses, size, n_cols, uses)
    if blocked is not None:
        return blocked
    members = [
        (proj.i, column[network.global_post(proj)], delay_steps(proj.delay_ms, dt_ms))
        for proj in projections
    ]
    return _delayed_fanout(members, size, n_cols)


def _times_events(chip: ChipSpec) -> bool:
    """Whether the chip's step work depends on events (a per-event time other than the neuron
    update's, which is the same every step, at any end of the time ranges)."""
    bounds: tuple[Bound, ...] = ("value", "low", "high") if chip.has_time_ranges() else ("value",)
    return any(
        kind != "neuron_update" and time != 0
        for bound in bounds
        for kind, time in chip.work_ns(bound).items()
    )


def routing_per_neuron(mapping: Mapping) -> dict[str, np.ndarray]:
    """Per neuron, the events one of its spikes causes at its own core, each an int64 array.

    ``message``, ``hop`` and ``chip_crossing`` always (packets to the neuron's own core too where
    the chip sends them), ``hop_east_west`` and ``hop_north_south`` where the chip asks for them.
    One function for :func:`count_events` and the per-layer counts
    (:mod:`neuroemu.accounting.layers`), so that both charge a spike the same packets.
    """
    chip = mapping.chip
    detail = chip.detail_kinds()
    own_core = chip.topology.messages_to_own_core
    n_remote, n_hops, n_cross = mapping.spike_routing
    per_neuron_kinds = {"message": n_remote, "hop": n_hops, "chip_crossing": n_cross}
    if own_core or "hop_east_west" in detail:
        packets = packets_per_neuron(mapping, own_core)
        per_neuron_kinds["message"] = packets["message"]
        if "hop_east_west" in detail:
            per_neuron_kinds["hop_east_west"] = packets["hop_east_west"]
            per_neuron_kinds["hop_north_south"] = packets["hop_north_south"]
    return per_neuron_kinds


def _source_size(network: Network, name: str) -> int:
    if network.is_input(name):
        return next(source.size for source in network.inputs if source.name == name)
    return network.population(name).size


def _expand(values: np.ndarray, used: np.ndarray, n_cores: int) -> np.ndarray:
    """Columns of the cores holding neurons -> all cores (the others are zero)."""
    out = np.zeros((*values.shape[:-1], n_cores), dtype=np.int64)
    out[..., used] = values
    return out


def _full_csr(matrix: np.ndarray | sp.csr_matrix, used: np.ndarray, n_cores: int) -> sp.csr_matrix:
    compact = sp.csr_matrix(matrix, dtype=np.int64)
    compact.eliminate_zeros()
    return sp.csr_matrix(
        (compact.data, used[compact.indices], compact.indptr), shape=(compact.shape[0], n_cores)
    )


def _windows(
    matrices: dict[str, np.ndarray | sp.csr_matrix],
    used: np.ndarray,
    n_steps: int,
    dt_ms: float,
    window_ms: float,
    neurons_per_core: np.ndarray,
) -> dict[str, np.ndarray]:
    steps_per_window = whole_steps(window_ms, dt_ms, "window_ms")
    window_of_step = np.arange(n_steps) // steps_per_window
    n_windows = int(window_of_step[-1]) + 1
    binning = sp.csr_matrix(
        (np.ones(n_steps, dtype=np.int64), (window_of_step, np.arange(n_steps))),
        shape=(n_windows, n_steps),
    )
    out = {}
    steps_in_window = np.bincount(window_of_step, minlength=n_windows)
    out["neuron_update"] = np.outer(steps_in_window, neurons_per_core).astype(np.int64)
    n_cores = len(neurons_per_core)
    for kind, matrix in matrices.items():
        binned = binning @ matrix
        dense = binned.toarray() if sp.issparse(binned) else np.asarray(binned)
        out[kind] = _expand(dense.astype(np.int64), used, n_cores)
    return out


def _step_work_ns(
    matrices: dict[str, np.ndarray | sp.csr_matrix],
    neurons: np.ndarray,
    n_steps: int,
    chip: ChipSpec,
    bound: Bound = "value",
) -> np.ndarray:
    """Per step, the step's work in ns under the chip's timing (``timing.core_work``).

    ``sum``: the busiest core's work (its events x time per event, every neuron's update
    included). ``send_receive_max``: the larger of the busiest core's send work and the busiest
    core's receive work (:data:`~neuroemu.spec.chip.RECEIVE_KINDS`), each its own maximum.
    ``neurons`` holds the neurons of each core holding neurons: cores without neurons have no
    work, so the maximum over those cores is the maximum over all cores.
    """
    times = chip.work_ns(bound)
    base = neurons * times.get("neuron_update", 0.0)
    timed = [(k, m, times[k]) for k, m in matrices.items() if k in times]
    timed = [(k, m, t) for k, m, t in timed if (m.any() if isinstance(m, np.ndarray) else m.nnz)]
    if chip.timing.core_work == "sum":
        return _busiest(timed, base, n_steps)
    send = _busiest([x for x in timed if x[0] not in RECEIVE_KINDS], base, n_steps)
    receive = _busiest([x for x in timed if x[0] in RECEIVE_KINDS], np.zeros_like(base), n_steps)
    return np.maximum(send, receive)


def _busiest(
    timed: list[tuple[str, np.ndarray | sp.csr_matrix, float]], base: np.ndarray, n_steps: int
) -> np.ndarray:
    """Per step, the largest over cores of ``base`` plus the events x time per event."""
    if not timed:
        return np.full(n_steps, float(base.max()) if len(base) else 0.0)
    _, first, first_time = timed[0]
    if isinstance(first, np.ndarray):  # all dense or all sparse: _StepCoreCounts.dense decides
        work = np.empty((n_steps, len(base)), order="F")
        work[:] = base
        scratch = np.empty_like(work)
        for _, matrix, time in timed:
            np.multiply(matrix, time, out=scratch)
            work += scratch
        return work.max(axis=1)
    weighted = first.astype(float) * first_time
    for _, matrix, time in timed[1:]:
        weighted = weighted + matrix.astype(float) * time
    weighted = weighted.tocsr()
    out = np.empty(n_steps)
    for start in range(0, n_steps, _STEP_CHUNK):
        block = weighted[start : start + _STEP_CHUNK].toarray() + base
        out[start : start + _STEP_CHUNK] = block.max(axis=1)
    return out
