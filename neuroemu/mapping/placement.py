"""The numpy machinery behind :func:`neuroemu.mapping.mapping.map_network`.

Three jobs, each vectorised so that a million neurons and a hundred million synapses map in
seconds: :func:`build_synapse_table` counts every neuron's synapses and groups them by
postsynaptic neuron where a step needs that (synapses are stored at the postsynaptic core);
:func:`pack_cores` cuts an ordering of the neurons into contiguous per-core segments under the
per-core limits; :func:`evaluate_placement` recounts every resource of a finished placement
exactly. The METIS wrapper for the ``min-traffic`` strategy lives in
:mod:`neuroemu.mapping.partition`. Nothing here knows about error messages:
:mod:`neuroemu.mapping.capacity` turns failures into :class:`~neuroemu.errors.CapacityError`.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace

import numpy as np
import scipy.sparse as sp

from neuroemu.mapping.encodings import ProjectionEncoding, choose_encodings
from neuroemu.network.network import Network
from neuroemu.spec.chip import ChipSpec


@dataclass(frozen=True, eq=False)
class KernelKeys:
    """The kernels that neurons of shared-weight projections need on their core.

    Key ``k`` is one output channel of one projection stored per core: a core stores it once,
    whatever number of that channel's neurons it holds, at ``bits[k]`` bits. Keys of post neuron
    ``n`` are ``keys[indptr[n]:indptr[n + 1]]``.
    """

    indptr: np.ndarray
    keys: np.ndarray
    bits: np.ndarray

    def per_neuron_bits(self) -> np.ndarray:
        """Bits of all kernels each neuron needs (what one neuron alone on a core stores)."""
        owner = np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))
        return np.bincount(owner, weights=self.bits[self.keys], minlength=len(self.indptr) - 1)

    def shared_bits(self) -> np.ndarray:
        """Each kernel's bits spread evenly over the neurons that need it (float)."""
        users = np.bincount(self.keys, minlength=len(self.bits))
        share = self.bits / np.maximum(users, 1)
        owner = np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))
        return np.bincount(owner, weights=share[self.keys], minlength=len(self.indptr) - 1)

    def segment_bits(self, rows: np.ndarray) -> np.ndarray:
        """``curve[k]``: kernel bits of the neurons ``rows[0..k]`` (each kernel counted once)."""
        starts = self.indptr[rows]
        lens = self.indptr[rows + 1] - starts
        total = int(lens.sum())
        index = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
        keys = self.keys[index]
        _, first = np.unique(keys, return_index=True)
        position = np.repeat(np.arange(len(rows)), lens)[first]
        added = np.bincount(position, weights=self.bits[keys[first]], minlength=len(rows))
        return np.cumsum(added).astype(np.int64)

    def usage(self, core: np.ndarray, n_cores: int) -> np.ndarray:
        """Kernel bits per core of a placement (each kernel counted once per core)."""
        lens = np.diff(self.indptr)
        pair = np.repeat(core.astype(np.int64), lens) * len(self.bits) + self.keys
        pair = np.unique(pair)
        return np.bincount(
            pair // len(self.bits), weights=self.bits[pair % len(self.bits)], minlength=n_cores
        ).astype(np.int64)


def _kernel_keys(network: Network, encodings: dict[str, ProjectionEncoding]) -> KernelKeys | None:
    """Keys of the output channels of every projection stored per core as a kernel."""
    posts, keys, bits = [], [], []
    base = 0
    for proj in network.projections:
        encoding = encodings[proj.name]
        if not encoding.bits_per_channel or encoding.conv is None:
            continue
        channels, height, width = encoding.conv.out_shape
        size = channels * height * width
        posts.append(network.offsets[proj.post] + np.arange(size, dtype=np.int64))
        keys.append(base + np.arange(size, dtype=np.int64) // (height * width))
        bits.append(np.full(channels, encoding.bits_per_channel, dtype=np.int64))
        base += channels
    if not posts:
        return None
    post, key = np.concatenate(posts), np.concatenate(keys)
    order = np.argsort(post, kind="stable")
    counts = np.bincount(post, minlength=network.n_neurons)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return KernelKeys(indptr, key[order], np.concatenate(bits))


@dataclass(frozen=True, eq=False)
class ProjectionSynapses:
    """One projection's synapses as the network holds them (its ``i`` and ``j``, not copied).

    Synapse ``k`` runs from source ``source_offset + pre[k]`` (in the table's numbering) to post
    neuron ``post_offset + post[k]``; ``n_pre`` and ``n_post`` are the sizes of the two groups.
    """

    pre: np.ndarray
    post: np.ndarray
    source_offset: int
    post_offset: int
    n_pre: int
    n_post: int


@dataclass(eq=False)
class _Grouping:
    """What a :class:`SynapseTable` computes on first use, and then keeps."""

    csr: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
    post_major: bool | None = None


@dataclass(frozen=True, eq=False)
class SynapseTable:
    """Every synapse: per projection as the network holds it, and grouped by postsynaptic neuron
    (a CSR matrix without its values) on first use.

    Sources are numbered with neurons first (global neuron index) and input sources after them
    (``n_neurons + global input index``), so one array serves the fan-in of both.

    Grouping synapses that do not come post-major sorts every one of them (the microcircuit's
    0.3e9: 15 s of the 23 s it took to map on SpiNNaker), and a chip without fan-in limits maps
    an in-order placement without it (:func:`_dense_pairs`); so ``indptr``, ``sources`` and
    ``counts`` are computed when first read, once, and shared with copies that
    ``dataclasses.replace`` makes.

    Attributes
    ----------
    projections : tuple of ProjectionSynapses
        The synapses as the network holds them (projections without synapses left out).
    indptr : ndarray of int64, ``(n_neurons + 1,)``
        Entries of post neuron ``n`` are ``sources[indptr[n]:indptr[n + 1]]``.
    sources : ndarray of int32
        Source of each entry; repeated sources (multapses) may appear unless ``counts`` is set.
    counts : ndarray or None
        Synapses per entry when entries were merged (then sources are distinct per neuron).
    in_degree, in_bits : ndarray of int64, ``(n_neurons,)``
        Synapses onto each neuron, and the synapse-memory bits they take with explicit
        encodings (additive per neuron).
    kernels : KernelKeys or None
        The kernels of projections stored per core with a shared encoding (not additive: a core
        stores each once); None when there are none.
    axons : ndarray or None
        Input axon of each entry, where some projection reaches its core through one axon per
        input pixel (then the pixel's axon: ``n_sources`` + a number per projection and
        pixel); None when every source has its own axon. Fan-in counts these; on the sending
        side a pixel axon takes ``pixel_axon_slots`` output-axon slots per core it reaches.
    encodings : dict
        Projection name -> :class:`~neuroemu.mapping.encodings.ProjectionEncoding`.
    """

    n_neurons: int
    n_inputs: int
    projections: tuple[ProjectionSynapses, ...]
    in_degree: np.ndarray
    in_bits: np.ndarray
    kernels: KernelKeys | None = None
    encodings: dict[str, ProjectionEncoding] | None = None
    axons: np.ndarray | None = None
    n_axons: int = 0
    pixel_axon_slots: int = 1
    grouping: _Grouping = field(default_factory=_Grouping, repr=False)

    @property
    def n_sources(self) -> int:
        return self.n_neurons + self.n_inputs

    @property
    def n_synapses(self) -> int:
        return int(self.in_degree.sum())

    @property
    def post_major(self) -> bool:
        """Whether the synapses come grouped by post neuron (grouping then only concatenates)."""
        if self.grouping.post_major is None:
            self.grouping.post_major = _is_post_major(self.projections)
        return self.grouping.post_major

    def _grouped(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if self.grouping.csr is None:
            self.grouping.csr = _group_by_post(self)
        return self.grouping.csr

    @property
    def indptr(self) -> np.ndarray:
        return self._grouped()[0]

    @property
    def sources(self) -> np.ndarray:
        return self._grouped()[1]

    @property
    def counts(self) -> np.ndarray | None:
        return self._grouped()[2]

    @property
    def fan_in_sources(self) -> np.ndarray:
        """What fan-in counts per entry: its input axon, which is its source unless pixels
        share axons."""
        return self.sources if self.axons is None else self.axons

    @property
    def n_fan_in_sources(self) -> int:
        return self.n_sources if self.axons is None else self.n_axons

    def alone_bits(self) -> np.ndarray:
        """Synapse-memory bits each neuron takes alone on a core (explicit plus its kernels)."""
        if self.kernels is None:
            return self.in_bits
        return self.in_bits + self.kernels.per_neuron_bits().astype(np.int64)

    def bits_estimate(self) -> np.ndarray:
        """Per-neuron share of synapse memory (kernels spread over their neurons), float."""
        if self.kernels is None:
            return self.in_bits.astype(np.float64)
        return self.in_bits + self.kernels.shared_bits()

    def least_bits(self) -> int:
        """Synapse-memory bits of the whole network, each kernel stored once (a lower bound)."""
        kernel = 0 if self.kernels is None else int(self.kernels.bits.sum())
        return int(self.in_bits.sum()) + kernel

    def entry_posts(self) -> np.ndarray:
        """Post neuron of every entry (int32), expanded from ``indptr``."""
        lens = np.diff(self.indptr)
        return np.repeat(np.arange(self.n_neurons, dtype=np.int32), lens)


def _is_sorted(values: np.ndarray, chunk: int = 1 << 20) -> bool:
    """Whether ``values`` never decreases; a chunk at a time, so that unsorted input stops early."""
    for start in range(0, len(values) - 1, chunk):
        part = values[start : start + chunk + 1]
        if not np.all(part[1:] >= part[:-1]):
            return False
    return True


def _counts_per_index(index: np.ndarray, size: int) -> np.ndarray:
    """``bincount`` a chunk at a time: its intp copy of each chunk stays in the cache (a whole
    10^8-synapse projection's is 800 MB)."""
    counts = np.zeros(size, dtype=np.int64)
    step = max(1 << 18, 4 * size)  # zeroing ``size`` counts per chunk stays a small part
    for start in range(0, len(index), step):
        counts += np.bincount(index[start : start + step], minlength=size)
    return counts


def _shifted(index: np.ndarray, offset: int, dtype: type) -> np.ndarray:
    out: np.ndarray = np.asarray(index, dtype=dtype)
    return out + dtype(offset) if offset else out


def build_synapse_table(
    network: Network, chip: ChipSpec, encodings: dict[str, ProjectionEncoding] | None = None
) -> SynapseTable:
    """The synapses of ``network``, with each neuron's in-degree and memory bits counted.

    The grouping by postsynaptic neuron is made when first read (:class:`SynapseTable`):
    projections generated post-major (``fixed_indegree``) are used as they are; otherwise one
    O(S) counting sort (scipy's COO to CSR) groups them, merging multapses into counts.
    ``encodings`` (default: :func:`~neuroemu.mapping.encodings.choose_encodings`) decides what
    each projection's synapses cost: bits per synapse in ``in_bits``, or kernels per core
    (``kernels``); a projection stored per layer costs neither here (the layer mapping sizes it).
    """
    if encodings is None:
        encodings = choose_encodings(network, chip)
    table = _group_synapses(network, encodings)
    return _with_pixel_axons(table, network, encodings)


def _with_pixel_axons(
    table: SynapseTable, network: Network, encodings: dict[str, ProjectionEncoding]
) -> SynapseTable:
    """The table with the input axon of each entry, where some projection's pixels share one."""
    pixel_projections = [p for p in network.projections if encodings[p.name].per_pixel_axons]
    if not pixel_projections or not len(table.sources):
        return table
    slots = max(encodings[p.name].axon_slots for p in pixel_projections)
    axons = table.sources.astype(np.int64)
    posts = table.entry_posts()
    base = table.n_sources
    for proj in pixel_projections:
        conv = encodings[proj.name].conv
        assert conv is not None
        start = network.offsets[proj.pre] + (table.n_neurons if network.is_input(proj.pre) else 0)
        first = network.offsets[proj.post]
        mine = (
            (posts >= first)
            & (posts < first + conv.n_out)
            & (table.sources >= start)
            & (table.sources < start + conv.n_in)
        )
        pixels = conv.in_shape[1] * conv.in_shape[2]
        axons[mine] = base + (axons[mine] - start) % pixels
        base += pixels
    return dataclass_replace(table, axons=axons, n_axons=base, pixel_axon_slots=slots)


def _group_synapses(network: Network, encodings: dict[str, ProjectionEncoding]) -> SynapseTable:
    """The table of ``network``: in-degree and memory bits counted, the grouping left for later."""
    kernels = _kernel_keys(network, encodings)
    n, n_in = network.n_neurons, network.n_input_sources
    in_degree = np.zeros(n, dtype=np.int64)
    in_bits = np.zeros(n, dtype=np.int64)
    projections = []
    group_size = {group.name: group.size for group in (*network.populations, *network.inputs)}
    for proj in network.projections:
        if proj.n_synapses == 0:
            continue
        bits = encodings[proj.name].bits_per_synapse
        shift = network.offsets[proj.pre] + (n if network.is_input(proj.pre) else 0)
        start = network.offsets[proj.post]
        size = network.population(proj.post).size
        degree = _counts_per_index(proj.j, size)
        in_degree[start : start + size] += degree
        in_bits[start : start + size] += degree * bits
        pre_size = group_size[proj.pre]
        projections.append(ProjectionSynapses(proj.i, proj.j, shift, start, pre_size, size))
    return SynapseTable(n, n_in, tuple(projections), in_degree, in_bits, kernels, encodings)


def _is_post_major(projections: tuple[ProjectionSynapses, ...]) -> bool:
    """Whether the post neurons of all synapses, in the order of ``projections``, never
    decrease."""
    last = -1
    for proj in projections:
        if proj.post_offset + int(proj.post[0]) < last or not _is_sorted(proj.post):
            return False
        last = proj.post_offset + int(proj.post[-1])
    return True


def _group_by_post(table: SynapseTable) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(indptr, sources, counts)`` of ``table``: post-major synapses are used as they are;
    otherwise one O(S) counting sort (scipy's COO to CSR) groups them, merging multapses into
    counts."""
    n, n_in = table.n_neurons, table.n_inputs
    dtype = np.int32 if n + n_in < 2**31 - 1 else np.int64
    if not table.projections:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=dtype), None
    # Views, not copies, where no offset applies (10^8 synapses: 400 MB per array).
    sources = [_shifted(p.pre, p.source_offset, dtype) for p in table.projections]
    source = sources[0] if len(sources) == 1 else np.concatenate(sources)
    del sources
    if table.post_major:
        indptr = np.concatenate([[0], np.cumsum(table.in_degree)]).astype(np.int64)
        return indptr, source, None
    posts = [_shifted(p.post, p.post_offset, dtype) for p in table.projections]
    post = posts[0] if len(posts) == 1 else np.concatenate(posts)
    del posts
    # Multiplicities fit uint16 when no neuron has 65,536 synapses (it halves the memory).
    count_dtype = np.uint16 if table.in_degree.max() < 2**16 else np.int32
    ones = np.ones(len(post), dtype=count_dtype)
    merged = sp.csr_matrix((ones, (post, source)), shape=(n, n + n_in))
    del ones, post, source
    return merged.indptr.astype(np.int64), merged.indices, merged.data


def first_over_fan_in(table: SynapseTable, cap: int) -> tuple[int, int] | None:
    """First neuron with more than ``cap`` distinct sources, and that number; None if none.

    Only neurons whose in-degree exceeds ``cap`` can, so only their synapses are sorted, in
    chunks of a few million so that memory stays bounded.
    """
    if table.counts is not None and table.axons is None:
        distinct = np.diff(table.indptr)
        over = np.flatnonzero(distinct > cap)
        return (int(over[0]), int(distinct[over[0]])) if len(over) else None
    candidates = np.flatnonzero(table.in_degree > cap)
    start = 0
    while start < len(candidates):
        stop = start + 1
        budget = 4_000_000
        while stop < len(candidates) and budget > 0:
            budget -= int(table.in_degree[candidates[stop]])
            stop += 1
        rows = candidates[start:stop]
        lens = table.indptr[rows + 1] - table.indptr[rows]
        index = np.repeat(table.indptr[rows] - (np.cumsum(lens) - lens), lens)
        src = table.fan_in_sources[index + np.arange(int(lens.sum()))].astype(np.int64)
        n_keys = table.n_fan_in_sources
        key = np.repeat(np.arange(len(rows), dtype=np.int64), lens) * n_keys + src
        key = np.unique(key)
        distinct = np.bincount(key // n_keys, minlength=len(rows))
        over = np.flatnonzero(distinct > cap)
        if len(over):
            return int(rows[over[0]]), int(distinct[over[0]])
        start = stop
    return None


@dataclass(frozen=True)
class CoreCaps:
    """Per-core limits the packer enforces (``None``: no cap)."""

    neurons: int
    synapse_memory_bits: int
    fan_in: int | None
    output_axons: int | None


@dataclass(frozen=True)
class Packing:
    """Segments of an ordering: core ``c`` holds positions ``ends[c-1]:ends[c]``.

    ``limited_by[c]`` names the resource that closed core ``c`` (``end``: ran out of neurons).
    ``stuck`` is the position of a neuron that fits no core alone (with its resource), or None.
    """

    ends: np.ndarray
    limited_by: list[str]
    stuck: tuple[int, str] | None = None


class _Segments:
    """Sources of the synapses onto runs of positions, for exact fan-in curves.

    The entries of the positions in order form one stream. A source is new to a segment
    starting at entry ``e`` exactly where its previous entry in the stream lies before ``e``, so
    once every entry knows its previous entry with the same source (one counting sort), the
    fan-in curve of any segment is a comparison and a cumulative sum over the segment's entries.
    The previous entries are found for a window of the stream at a time (from the first segment
    that needs them on, at most :data:`_WINDOW_ENTRIES` entries unless one segment needs more),
    which bounds the memory at any scale; a segment reaching past the window starts a new one,
    twice as long, so that a packing settled by its first cores (a neuron that fits no core)
    sorts little.
    """

    def __init__(self, table: SynapseTable, order: np.ndarray | None) -> None:
        self.table = table
        self.order = order
        self.sources = table.fan_in_sources
        self.start, self.stop = 0, 0  # positions of the window (empty until first needed)
        self.entry = np.zeros(1, dtype=np.int64)  # window's entry offset of each position
        # The window's entries grouped by source, in stream order within a source: entry
        # index, and 1 + the position's offset in the window (from the same counting sort).
        self.by_source = np.zeros(0, dtype=np.int64)
        self.source_indptr = np.zeros(1, dtype=np.int64)
        self.position_by_source = np.zeros(0, dtype=np.int64)
        self._previous: np.ndarray | None = None

    def _window(self, a: int, hi: int) -> None:
        """Group by source the entries of positions ``a`` to at least ``hi``."""
        table, n = self.table, self.table.n_neurons
        rows = np.arange(a, n) if self.order is None else self.order[a:]
        lens = table.indptr[rows + 1] - table.indptr[rows]
        entry = np.concatenate([[0], np.cumsum(lens)])
        # Each new window twice the last (from four times the first request), up to the most.
        needed = int(entry[hi - a])
        size = min(_WINDOW_ENTRIES, max(4 * needed, 2 * len(self.by_source)))
        stop = min(n, max(hi, int(np.searchsorted(entry, size, "left")) + a))
        rows, lens, entry = rows[: stop - a], lens[: stop - a], entry[: stop - a + 1]
        if self.order is None:
            src = self.sources[table.indptr[a] : table.indptr[stop]]
        else:
            starts = table.indptr[rows]
            total = int(entry[-1])
            index = np.repeat(starts - entry[:-1], lens) + np.arange(total)
            src = self.sources[index]
        # Entries grouped by source, in stream order within a source: scipy's CSR to CSC
        # conversion is a stable counting sort (ten times faster than a stable argsort). The
        # positions travel with the entries as the values (1 + offset: no value is zero).
        n_entries = len(src)
        one_per_row = np.arange(n_entries + 1)
        dtype = np.int32 if stop - a < 2**31 - 1 else np.int64
        position = np.repeat(np.arange(1, stop - a + 1, dtype=dtype), lens)
        shape = (n_entries, table.n_fan_in_sources)
        grouped = sp.csr_matrix((position, src, one_per_row), shape).tocsc()
        self.by_source, self.source_indptr = grouped.indices, grouped.indptr
        self.position_by_source = grouped.data
        self._previous = None
        self.start, self.stop, self.entry = a, stop, entry

    @property
    def previous(self) -> np.ndarray:
        """Per entry of the window: its previous entry of the same source, or -1."""
        if self._previous is None:
            by_source = self.by_source.astype(np.int64)
            n_entries = len(by_source)
            before = np.concatenate([[-1], by_source[:-1]])
            starts = self.source_indptr[:-1]
            before[starts[starts < n_entries]] = -1  # first entry of its source in the window
            previous = np.empty(n_entries, dtype=np.int64)
            previous[by_source] = before
            self._previous = previous
        return self._previous

    def fan_in_curve(self, a: int, hi: int) -> np.ndarray:
        """``curve[k]``: distinct sources onto positions ``a .. a+k`` (inclusive)."""
        if a < self.start or hi > self.stop:
            self._window(a, hi)
        ends = self.entry[a - self.start : hi - self.start + 1]
        first = int(ends[0])
        enters = self.previous[first : int(ends[-1])] < first
        counts = np.concatenate([[0], np.cumsum(enters)])
        return counts[ends[1:] - first]

    def fit_lengths(self, a: int, hi: int, lengths: int, cap: int) -> np.ndarray:
        """``fit[i]``: most positions (at most ``lengths``) from ``a + i`` on that have at most
        ``cap`` distinct sources, for every start ``a + i`` whose ``lengths`` positions end by
        ``hi`` (all starts up to ``hi`` where ``hi`` ends the stream).

        An entry is new to a segment exactly when its previous entry of the same source lies
        before the segment's first position, that is when the gap between their positions
        exceeds the entry's offset in the segment. One histogram of the entries by position and
        gap therefore gives, for every start at once, the sources each position adds to it.
        """
        if a < self.start or hi > self.stop:
            self._window(a, hi)
        position = self.position_by_source.astype(np.int64) - (1 + a - self.start)
        gap = np.empty_like(position)
        gap[0:1] = lengths
        np.subtract(position[1:], position[:-1], out=gap[1:])
        # A source's first entry in the window is new to every segment that starts in it.
        starts = self.source_indptr[:-1]
        gap[starts[starts < len(gap)]] = lengths
        np.minimum(gap, lengths, out=gap)
        span = hi - a
        if a > self.start or hi < self.stop:
            mine = (position >= 0) & (position < span)
            position, gap = position[mine], gap[mine]
        width = lengths + 1
        hist = np.bincount(position * width + gap, minlength=span * width).reshape(span, width)
        lens = np.diff(self.entry[a - self.start : hi - self.start + 1])
        # added[q, j]: sources of position ``a + q`` new to a segment that starts j before it.
        added = np.zeros((span + lengths, lengths), dtype=np.int64)
        added[:span] = lens[:, None] - np.cumsum(hist[:, :lengths], axis=1)
        n_starts = span - lengths + 1 if hi < self.table.n_neurons else span
        k = np.arange(lengths)
        fan_in = np.cumsum(added[np.arange(n_starts)[:, None] + k, k], axis=1)
        fit: np.ndarray = np.count_nonzero(fan_in <= cap, axis=1)
        return fit


# Most entries whose previous same-source entries _Segments finds at once (a few int64 arrays
# of this length: about 100 MB).
_WINDOW_ENTRIES = 2_000_000


class FanInEnds:
    """Where fan-in closes the segment that starts at each position of one order.

    One per order and fan-in cap, shared by every packing of that order (a placement repacks
    while output axons overflow; ``balanced`` bisects a load cap): an end measured once is kept.
    Short segments (Tianjic: three neurons per core) are measured for a block of starts at once
    (:meth:`_Segments.fit_lengths`, up to ``lengths`` positions each); a segment longer than
    that is measured alone (:func:`_fan_in_end`), and the blocks grow, until they stop paying.
    """

    def __init__(self, table: SynapseTable, order: np.ndarray | None, cap: int) -> None:
        self.order, self.cap, self.n = order, cap, table.n_neurons
        degree = table.in_degree if order is None else table.in_degree[order]
        self.cum_deg = np.concatenate([[0], np.cumsum(degree)]).astype(np.int64)
        self.cum_deg_list: list[int] = self.cum_deg.tolist()
        self.segments = _Segments(table, order)
        self.lengths = _BLOCK_LENGTHS[0]  # of the next block (0: no more blocks)
        # Per start: k >= 0, the most positions that fit; -k, at least k fit; None, not measured.
        self.fit: list[int | None] = [None] * self.n

    def end(self, a: int, b: int) -> int:
        """Largest end ``<= b`` whose segment from ``a`` has at most ``cap`` distinct sources."""
        cum_deg, cap = self.cum_deg_list, self.cap
        if bisect_right(cum_deg, cum_deg[a] + cap) - 1 >= b:
            return b  # even counting every synapse as a new source, the segment fits
        if self.fit[a] is None and self.lengths:
            self._block(a)
        fit = self.fit[a]
        if fit is not None:
            if fit >= 0:
                return min(b, a + fit)
            if b <= a - fit:
                return b
            # Longer than its block measured: longer blocks from now on, or none.
            bigger = [k for k in _BLOCK_LENGTHS if k > -fit]
            if self.lengths:
                self.lengths = max(self.lengths, bigger[0]) if bigger else 0
        end = _fan_in_end(self.segments, self.cum_deg, a, b, cap)
        self.fit[a] = end - a if end < b else a - b
        return end

    def _block(self, a: int) -> None:
        lengths, n, cum_deg = self.lengths, self.n, self.cum_deg_list
        hi = min(n, a + _BLOCK_CELLS // lengths + lengths - 1)
        # Entries (at most synapses) of the block within half a window of previous entries.
        by_entries = bisect_right(cum_deg, cum_deg[a] + _WINDOW_ENTRIES // 2) - 1
        hi = min(hi, max(by_entries, a + lengths))
        if hi < n and hi - lengths < a:
            return
        fit = self.segments.fit_lengths(a, hi, lengths, self.cap)
        fit = np.where(fit < lengths, fit, -lengths)
        self.fit[a : a + len(fit)] = fit.tolist()


# Lengths (positions) a block of fan-in ends measures, in turn as segments turn out longer; and
# the most start x length cells of one block.
_BLOCK_LENGTHS = (16, 32, 64)
_BLOCK_CELLS = 1 << 16


def pack_cores(
    table: SynapseTable,
    caps: CoreCaps,
    order: np.ndarray | None = None,
    stops: np.ndarray | None = None,
    load_cap: int | None = None,
    axon_estimate: np.ndarray | None = None,
    spread: int | None = None,
    fan_in: FanInEnds | None = None,
) -> Packing:
    """Cut ``order`` (default: global neuron order) into per-core segments, greedily.

    Neurons and memory bound a segment through prefix sums and a binary search; fan-in, which is
    not additive, is bounded above by the prefix sum of in-degrees and only measured exactly
    (:class:`FanInEnds`) for cores where that bound would close the core.

    Parameters
    ----------
    stops : sorted positions a segment may not cross (partition boundaries), optional.
    load_cap : most load per core, load being 1 + in-degree per neuron (the work of a step).
    spread : aim each segment at an equal share of the remaining load over this many cores.
    axon_estimate : per-neuron output-axon estimate, packed additively against
        ``caps.output_axons`` (from a previous placement of the same network).
    fan_in : the fan-in ends of ``order`` under ``caps.fan_in``, kept from an earlier packing
        (default: measured afresh).
    """
    n = table.n_neurons
    take = (lambda x: x) if order is None else (lambda x: x[order])
    zero = np.zeros(1, dtype=np.int64)
    cum_bits_array = np.concatenate([zero, np.cumsum(take(table.in_bits))])
    cum_deg = np.concatenate([zero, np.cumsum(take(table.in_degree))])
    # One core per loop turn: Python lists and bisect cost a fraction of a microsecond where
    # a numpy call costs several (Tianjic packs 1,441 cores of three neurons, five times).
    cum_bits = cum_bits_array.tolist()
    cum_axons = None
    if axon_estimate is not None and caps.output_axons is not None:
        cum_axons = np.concatenate([zero, np.cumsum(take(axon_estimate))]).tolist()
    # Load of a neuron for balancing: its update plus one operation per incoming synapse.
    cum_load_array = np.arange(n + 1) + cum_deg if load_cap or spread else None
    cum_load = None if cum_load_array is None else cum_load_array.tolist()
    stop_list = None if stops is None else stops.tolist()
    if fan_in is None and caps.fan_in is not None:
        fan_in = FanInEnds(table, order, caps.fan_in)
    elif fan_in is not None and (fan_in.order is not order or fan_in.cap != caps.fan_in):
        raise ValueError("fan_in measures another order or fan-in cap than this packing's")
    ends: list[int] = []
    why: list[str] = []
    a = 0
    while a < n:
        # The first of equal bounds names the reason, in this order (as ``min`` picks it).
        b, reason = min(n, a + caps.neurons), "neurons" if a + caps.neurons < n else "end"
        end = bisect_right(cum_bits, cum_bits[a] + caps.synapse_memory_bits) - 1
        if end < b:
            b, reason = end, "synapse_memory_bits"
        if cum_axons is not None:
            limit = int(cum_axons[a]) + int(caps.output_axons or 0)
            end = bisect_right(cum_axons, limit) - 1
            if end < b:
                b, reason = end, "output_axons"
        if stop_list is not None:
            end = int(stop_list[bisect_right(stop_list, a)])
            if end < b:
                b, reason = end, "partition"
        if cum_load is not None and load_cap is not None:
            end = bisect_right(cum_load, cum_load[a] + load_cap) - 1
            if end < b:
                b, reason = end, "balance"
        if cum_load_array is not None and spread is not None:
            end = _share_end(cum_load_array, a, spread - len(ends))
            if end < b:
                b, reason = end, "balance"
        if b <= a:
            return Packing(np.asarray(ends, dtype=np.int64), why, (a, reason))
        if table.kernels is not None:
            b_bits = _kernel_end(
                table.kernels, order, cum_bits_array, a, b, caps.synapse_memory_bits
            )
            if b_bits <= a:
                return Packing(np.asarray(ends, dtype=np.int64), why, (a, "synapse_memory_bits"))
            if b_bits < b:
                b, reason = b_bits, "synapse_memory_bits"
        if fan_in is not None:
            b_fan = fan_in.end(a, b)
            if b_fan <= a:
                return Packing(np.asarray(ends, dtype=np.int64), why, (a, "fan_in"))
            if b_fan < b:
                b, reason = b_fan, "fan_in"
        ends.append(b)
        why.append(reason)
        a = b
    return Packing(np.asarray(ends, dtype=np.int64), why)


def _kernel_end(
    kernels: KernelKeys, order: np.ndarray | None, cum_bits: np.ndarray, a: int, b: int, cap: int
) -> int:
    """Largest end ``<= b`` whose segment from ``a`` fits ``cap`` bits with its kernels.

    A segment stores each kernel it needs once, so a segment that starts in the middle of a
    convolution's channel pays that channel's kernel too: the curve is measured, not summed.
    """
    rows = np.arange(a, b) if order is None else order[a:b]
    total = cum_bits[a + 1 : b + 1] - cum_bits[a] + kernels.segment_bits(rows)
    return a + int(np.searchsorted(total, cap, "right"))


def _share_end(load: np.ndarray, a: int, cores_left: int) -> int:
    """End nearest to an equal share of the load after ``a`` over ``cores_left`` cores."""
    n = len(load) - 1
    if cores_left <= 1:
        return n
    target = load[a] + (load[n] - load[a]) / cores_left
    b = int(np.searchsorted(load, target, "left"))
    if b > a + 1 and (b > n or target - load[b - 1] <= load[b] - target):
        b -= 1
    return max(a + 1, min(b, n))


def _fan_in_end(segments: _Segments, cum_deg: np.ndarray, a: int, b: int, cap: int) -> int:
    """Largest end ``<= b`` whose segment from ``a`` has at most ``cap`` distinct sources."""
    sure = int(np.searchsorted(cum_deg, int(cum_deg[a]) + cap, "right")) - 1
    if sure >= b:
        return b  # even counting every synapse as a new source, the segment fits
    # Shared sources let a segment run past ``sure``; look a little beyond it, then further.
    step = max(2, (sure - a) // 8)
    hi = min(b, sure + step)
    while True:
        curve = segments.fan_in_curve(a, hi)
        k = int(np.searchsorted(curve, cap, "right"))
        if k < hi - a or hi >= b:
            return a + k
        step *= 2
        hi = min(b, hi + step)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Exact per-core usage of a placement, from the (source, core) pairs with synapse counts.

    Attributes
    ----------
    usage : dict
        Resource -> per-core usage (:data:`neuroemu.mapping.mapping.RESOURCES`).
    pairs : scipy.sparse.csr_matrix
        ``(n_sources, n_cores)``: synapses from each source (neurons, then inputs) onto each core.
    n_remote, n_dest : ndarray of int64
        Per neuron: other cores it sends to (output axons), and all cores it sends to (fan-out).
        Where pixel axons are shared (``SynapseTable.axons``), ``n_remote`` is each neuron's
        share of its core's output-axon slots (float).
    """

    usage: dict[str, np.ndarray]
    pairs: sp.csr_matrix
    n_remote: np.ndarray
    n_dest: np.ndarray

    def dest_matrices(self, n_neurons: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(dest_synapses, input_dest_synapses)``: the neuron rows and the input rows."""
        pairs = self.pairs
        n_sources, n_cores = pairs.shape
        counts = pairs.data.astype(np.int32, copy=False)
        split = int(pairs.indptr[n_neurons])
        dest = sp.csr_matrix(
            (counts[:split], pairs.indices[:split], pairs.indptr[: n_neurons + 1]),
            shape=(n_neurons, n_cores),
        )
        inputs = sp.csr_matrix(
            (counts[split:], pairs.indices[split:], pairs.indptr[n_neurons:] - split),
            shape=(n_sources - n_neurons, n_cores),
        )
        return dest, inputs

    def inter_core_synapses(self, core: np.ndarray) -> int:
        """Synapses between neurons on different cores (inputs excluded)."""
        n = len(core)
        split = int(self.pairs.indptr[n])
        own = np.repeat(core, np.diff(self.pairs.indptr[: n + 1]))
        return int(self.pairs.data[:split][self.pairs.indices[:split] != own].sum())


def _fan_in(
    table: SynapseTable, pairs: sp.csr_matrix, core: np.ndarray, n_cores: int
) -> np.ndarray:
    """Input axons per core: its distinct sources, or distinct axons where pixels share one."""
    if table.axons is None:
        return np.bincount(pairs.indices, minlength=n_cores).astype(np.int64)
    col = np.repeat(core.astype(np.int64), np.diff(table.indptr))
    pair = np.unique(table.axons * n_cores + col)
    return np.bincount(pair % n_cores, minlength=n_cores).astype(np.int64)


def _pixel_output_axons(table: SynapseTable, core: np.ndarray, n_cores: int) -> np.ndarray:
    """Output-axon slots per neuron where some projections send through pixel axons.

    A core sends one population axon per input pixel it holds and other core it reaches, taking
    ``axon_slots`` slots (Loihi's pop32: 2), shared by all of that pixel's channels on the core;
    each such axon is charged to one of its neurons so that the per-core sum is exact. Other
    projections take one slot per neuron and other core, as without sharing.
    """
    assert table.axons is not None
    n = table.n_neurons
    lens = np.diff(table.indptr)
    col = np.repeat(core, lens)
    src = table.sources.astype(np.int64)
    from_neuron = src < n
    src, col, axons = src[from_neuron], col[from_neuron], table.axons[from_neuron]
    pre_core = core[src]
    remote = col != pre_core
    src, col, axons, pre_core = src[remote], col[remote], axons[remote], pre_core[remote]
    pixel = axons >= table.n_sources
    n_pixels = max(1, table.n_axons - table.n_sources)
    key = np.where(pixel, table.n_sources + pre_core * n_pixels + (axons - table.n_sources), src)
    # Distinct (axon, target core, neuron): an axon's slots are shared evenly by the neurons
    # that use it, so the per-core sum is exact and each neuron's share a fair repack estimate.
    pair = key * n_cores + col
    order = np.lexsort((src, pair))
    pair, src, pixel = pair[order], src[order], pixel[order]
    keep = np.ones(len(pair), dtype=bool)
    keep[1:] = (pair[1:] != pair[:-1]) | (src[1:] != src[:-1])
    pair, src, pixel = pair[keep], src[keep], pixel[keep]
    _, group, users = np.unique(pair, return_inverse=True, return_counts=True)
    share = np.where(pixel, table.pixel_axon_slots, 1) / users[group]
    return np.bincount(src, weights=share, minlength=n)


def _source_core_pairs(table: SynapseTable, core: np.ndarray, n_cores: int) -> sp.csr_matrix:
    """``(n_sources, n_cores)``: synapses from each source onto each core (sorted, merged).

    Where cores hold runs of the table's neurons in order and the matrix has no more cells than
    the network has synapses (the microcircuit on SpiNNaker: 77,169 sources x 304 cores against
    0.3e9 synapses), counting into a dense array is cheapest (:func:`_dense_pairs`). Otherwise
    one stable counting sort (scipy's COO to CSR) groups the table's entries by source; with the
    entries in order of their core, each source's cores arrive sorted and merging repeats is a
    linear pass.
    """
    # Counts per (source, core) fit uint16 when no core receives 65,536 synapses.
    per_core = np.bincount(core, weights=table.in_degree, minlength=n_cores)
    dtype = np.dtype(np.uint16 if per_core.max(initial=0) < 2**16 else np.int32)
    shape = (table.n_sources, n_cores)
    in_order = _is_sorted(core)
    if in_order and table.n_sources * n_cores <= table.n_synapses:
        return _dense_pairs(table, core, n_cores, dtype)
    lens = np.diff(table.indptr)
    sources, counts = table.sources, table.counts
    if not in_order:  # entries in order of their core (neurons stably by core)
        rows = np.argsort(core, kind="stable")
        starts, lens = table.indptr[rows], lens[rows]
        index = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(len(sources))
        sources = sources[index]
        counts = None if counts is None else counts[index]
        col = np.repeat(core[rows], lens)
    else:
        col = np.repeat(core, lens)
    data = np.ones(len(sources), dtype=dtype) if counts is None else counts.astype(dtype)
    pairs = sp.csr_matrix((data, (sources, col)), shape=shape)
    del data, col
    pairs.sum_duplicates()
    return pairs


def _dense_pairs(
    table: SynapseTable, core: np.ndarray, n_cores: int, dtype: np.dtype
) -> sp.csr_matrix:
    """:func:`_source_core_pairs` counted into a dense ``(n_sources, n_cores)`` array, read out
    source by source (``dtype``: of the counts).

    Post-major synapses are counted core by core (one ``bincount`` of each core's run of
    entries). Others are counted as the network holds them, so that the table is never grouped:
    a block of a projection's synapses at a time, into the rows of the sources and the columns
    of the cores that the block reaches (few of either where the projection comes sorted by
    presynaptic neuron, as the microcircuit's does).
    """
    n_sources = table.n_sources
    if table.post_major:
        entry = table.indptr[np.searchsorted(core, np.arange(n_cores + 1), "left")]
        counted = np.zeros((n_cores, n_sources), dtype=dtype)
        for c in range(n_cores):
            e0, e1 = int(entry[c]), int(entry[c + 1])
            if e0 < e1:
                counted[c] = np.bincount(table.sources[e0:e1], minlength=n_sources)
        by_source = np.ascontiguousarray(counted.T)
        del counted
    else:
        by_source = _counted_by_projection(table, core, n_cores)
    flat = by_source.ravel()
    cells = np.flatnonzero(flat)
    indptr = np.searchsorted(cells, np.arange(0, (n_sources + 1) * n_cores, n_cores), "left")
    cores = (cells % n_cores).astype(np.int32)
    data = flat[cells].astype(dtype, copy=False)
    return sp.csr_matrix((data, cores, indptr), shape=(n_sources, n_cores))


def _counted_by_projection(table: SynapseTable, core: np.ndarray, n_cores: int) -> np.ndarray:
    """``(n_sources, n_cores)`` synapse counts from the projections as the network holds them.

    Each block of synapses is counted by one ``bincount`` over the cells (source x core) that
    its sources and cores span, then added into place. A block spans at most the projection's
    sources and its post population's cores; blocks are long enough that clearing those cells
    costs at most a quarter of counting the block.
    """
    dtype = np.int32 if table.n_synapses < 2**31 else np.int64
    counted = np.zeros((table.n_sources, n_cores), dtype=dtype)
    for proj in table.projections:
        cores = core[proj.post_offset : proj.post_offset + proj.n_post]
        low = int(cores.min())
        width = int(cores.max()) - low + 1
        column = (cores - low).astype(np.intp)
        step = max(_BLOCK_SYNAPSES, proj.n_pre * width // 4)
        for start in range(0, len(proj.pre), step):
            pre = proj.pre[start : start + step]
            first, last = int(pre.min()), int(pre.max())
            key = column[proj.post[start : start + step]]
            row = pre.astype(np.intp)
            row -= first
            row *= width
            key += row
            block = np.bincount(key, minlength=(last - first + 1) * width)
            rows = slice(proj.source_offset + first, proj.source_offset + last + 1)
            target = counted[rows, low : low + width]
            np.add(target, block.reshape(-1, width), out=target, casting="unsafe")
    return counted


# Synapses that _counted_by_projection counts at once, at least (their keys stay in the cache).
_BLOCK_SYNAPSES = 1 << 18


def evaluate_placement(table: SynapseTable, core: np.ndarray, n_cores: int) -> Evaluation:
    """Recount every resource of ``core`` (neuron -> core) from scratch.

    The synapses are counted per (source, core) (:func:`_source_core_pairs`); fan-in is then
    the number of sources per core, and a neuron's fan-out the length of its row.
    """
    n = table.n_neurons
    core32 = core.astype(np.int32, copy=False)
    pairs = _source_core_pairs(table, core32, n_cores)
    n_dest = np.diff(pairs.indptr[: n + 1]).astype(np.int64)
    if table.axons is None:
        has_self = np.asarray(pairs[np.arange(n), core32]).ravel() != 0
        n_remote = n_dest - has_self
    else:
        n_remote = _pixel_output_axons(table, core32.astype(np.int64), n_cores)
    memory = np.bincount(core32, weights=table.in_bits, minlength=n_cores).round().astype(np.int64)
    if table.kernels is not None:
        memory += table.kernels.usage(core32, n_cores)
    usage = {
        "neurons": np.bincount(core32, minlength=n_cores).astype(np.int64),
        "synapse_memory_bits": memory,
        "fan_in": _fan_in(table, pairs, core32, n_cores),
        "output_axons": np.bincount(core32, weights=n_remote, minlength=n_cores)
        .round()
        .astype(np.int64),
    }
    return Evaluation(usage, pairs, n_remote, n_dest)
