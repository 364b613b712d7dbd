"""Placement of a network's neurons and synapses onto the cores of a virtual chip.

:func:`map_network` places every neuron on exactly one core under the chip's per-core limits
(neurons, synapse memory, fan-in, output axons, fan-out per neuron, delay slots, weight sign) and
returns a :class:`Mapping`; a network that does not fit raises
:class:`~neuroemu.errors.CapacityError` naming the resource, the core or neuron, the need and the
limit. This module owns the :class:`Mapping` result, the core coordinates, and the strategies
(``fill``, ``balanced``, ``min-traffic``); the checks and the messages of failures live in
:mod:`neuroemu.mapping.capacity`, the numpy machinery in :mod:`neuroemu.mapping.placement`, and the
METIS wrapper in :mod:`neuroemu.mapping.partition`.

Cores are numbered globally: core ``c`` is local core ``c % cores_per_chip`` of chip
``c // cores_per_chip``. Synapses are stored at the postsynaptic core.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from neuroemu.errors import CapacityError, NeuroEmuError
from neuroemu.mapping.capacity import CapacityChecks, _names
from neuroemu.mapping.encodings import ProjectionEncoding
from neuroemu.mapping.given import MAX_RANGE, Placement
from neuroemu.mapping.layers import layer_needs, layer_usage, match_layers
from neuroemu.mapping.partition import (
    neuron_graph,
    partition_neurons,
    split_spilled_parts,
    vertex_weights,
)
from neuroemu.mapping.placement import Evaluation, FanInEnds, evaluate_placement, pack_cores
from neuroemu.network.network import Network
from neuroemu.spec.chip import ChipSpec

RESOURCES = ("neurons", "synapse_memory_bits", "fan_in", "output_axons")
STRATEGIES = ("fill", "balanced", "min-traffic")
#: fill tries a second order when network order needs more than this many times the cores that
#: neurons and synapse memory require (see _Mapper.fill).
SPREAD_FACTOR = 1.25
#: Mapping.spike_routing looks its counts up in a table over (source core, core) pairs up to
#: this many pairs (128 MB), and packs the three counts into one int64 in fields of this width.
_ROUTING_TABLE_CELLS = 1 << 24
_FIELD_BITS = 21


@dataclass(frozen=True, eq=False)
class Mapping:
    """Where every neuron lives, and how full each core is.

    Attributes
    ----------
    chip : ChipSpec
        The chip mapped onto.
    strategy : str
        ``fill``, ``balanced`` or ``min-traffic``.
    n_chips : int
        Chips used; cores are numbered over all of them (``n_chips * cores_per_chip``).
    core_of_neuron : ndarray of int32
        Global neuron index -> global core index.
    usage : dict
        Resource name (:data:`RESOURCES`) -> per-core usage array of length ``n_cores``.
    limits : dict
        Resource name -> per-core limit, or ``None`` where the chip has no cap.
    dest_synapses : scipy.sparse.csr_matrix
        ``(n_neurons, n_cores)``: number of synapses from each neuron onto each core.
    input_dest_synapses : scipy.sparse.csr_matrix
        ``(n_input_sources, n_cores)``: the same for external input sources.
    warnings : list of str
        Things the user should know that do not stop the mapping (neuron model not native to the
        chip, weights rounded to zero...).
    closed_by : dict
        Why the packer closed each core -> how many cores: a resource that would have
        overflowed, or ``end`` (the network ran out), ``balance`` and ``partition`` (the
        strategy's own stops). The resource that closed most cores forced the spread, which can
        differ from the most utilised one. Empty for a given placement.
    encodings : list of ProjectionEncoding
        How each projection is stored (explicit synapses, or the chip's shared kernel
        encoding) and why.
    core_limits : dict
        Resource -> per-core limit array, where the chip's cores differ (``core.per_core``);
        ``limits`` then gives the largest core's. Utilisation divides by each core's own.
    """

    chip: ChipSpec
    strategy: str
    n_chips: int
    core_of_neuron: np.ndarray
    usage: dict[str, np.ndarray]
    limits: dict[str, float | None]
    dest_synapses: sp.csr_matrix
    input_dest_synapses: sp.csr_matrix
    warnings: list[str] = field(default_factory=list)
    closed_by: dict[str, int] = field(default_factory=dict)
    encodings: list[ProjectionEncoding] = field(default_factory=list)
    core_limits: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def cores_per_chip(self) -> int:
        return self.chip.cores_per_chip

    @property
    def n_cores(self) -> int:
        """Cores of all chips used (used or not)."""
        return self.n_chips * self.cores_per_chip

    @cached_property
    def used_cores(self) -> np.ndarray:
        """Indices of cores holding at least one neuron."""
        return np.flatnonzero(self.usage["neurons"] > 0)

    @property
    def n_cores_used(self) -> int:
        return len(self.used_cores)

    @cached_property
    def chip_of_core(self) -> np.ndarray:
        return np.arange(self.n_cores) // self.cores_per_chip

    @cached_property
    def core_xy(self) -> np.ndarray:
        """``(n_cores, 2)`` global mesh coordinates (in tiles) of every core."""
        return core_coordinates(self.chip, self.n_chips)

    @cached_property
    def chip_xy(self) -> np.ndarray:
        """``(n_cores, 2)`` coordinates of each core's chip on the chip grid."""
        width, _ = self.chip.chip_grid(self.n_chips)
        chip = self.chip_of_core
        return np.stack([chip % width, chip // width], axis=1)

    def utilisation(self) -> dict[str, np.ndarray]:
        """Resource -> usage / limit over the used cores (resources without a cap are omitted)."""
        out = {}
        for name, limit in self.limits.items():
            if name in self.core_limits:
                out[name] = self.usage[name][self.used_cores] / self.core_limits[name][
                    self.used_cores
                ].astype(float)
            elif limit:
                out[name] = self.usage[name][self.used_cores] / float(limit)
        return out

    @cached_property
    def spike_routing(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per neuron: remote destination cores, mesh hops and chip crossings of one spike.

        Depends on the placement only, so it is computed once per mapping and reused by every
        count of every run on it. Hops follow dimension-order routing on the tile mesh (Manhattan
        distance in tiles); a message within a tile has zero hops.
        """
        pattern = self.dest_synapses.tocsr()
        own_cores, own = np.unique(self.core_of_neuron, return_inverse=True)
        if len(own_cores) * self.n_cores > _ROUTING_TABLE_CELLS:
            return self._spike_routing_per_synapse(pattern)
        # The three counts of one packet depend on its (source core, destination core) pair
        # only: a table over the pairs, packed into one int64 where every row's sums fit, is
        # one gather per stored entry instead of a dozen passes (2.5 s of counting the full
        # microcircuit, 21M entries, down to 0.1-0.4 s).
        x, y = self.core_xy[:, 0], self.core_xy[:, 1]
        cx, cy = self.chip_xy[:, 0], self.chip_xy[:, 1]
        fields = [
            f.astype(np.int64)
            for f in (
                own_cores[:, None] != np.arange(self.n_cores)[None, :],
                np.abs(x[None, :] - x[own_cores, None]) + np.abs(y[None, :] - y[own_cores, None]),
                np.abs(cx[None, :] - cx[own_cores, None])
                + np.abs(cy[None, :] - cy[own_cores, None]),
            )
        ]
        counts = np.diff(pattern.indptr)
        pair = np.repeat(own.astype(np.int64) * self.n_cores, counts)
        pair += pattern.indices
        largest = max(int(f.max()) for f in fields) if pattern.nnz else 0
        if int(counts.max(initial=0)) * max(largest, 1) < 2**_FIELD_BITS:
            packed = fields[0] | fields[1] << _FIELD_BITS | fields[2] << 2 * _FIELD_BITS
            per_row = _row_sums(packed.ravel()[pair], pattern.indptr)
            mask = (1 << _FIELD_BITS) - 1
            return per_row & mask, per_row >> _FIELD_BITS & mask, per_row >> 2 * _FIELD_BITS
        n_remote, n_hops, n_cross = (_row_sums(f.ravel()[pair], pattern.indptr) for f in fields)
        return n_remote, n_hops, n_cross

    def _spike_routing_per_synapse(
        self, pattern: sp.csr_matrix
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:attr:`spike_routing` entry by entry, where a table over core pairs would be large."""
        n_neurons = pattern.shape[0]
        rows = np.repeat(np.arange(n_neurons), np.diff(pattern.indptr))
        cols = pattern.indices
        own = self.core_of_neuron[rows]
        remote = cols != own
        rows, cols, own = rows[remote], cols[remote], own[remote]
        x, y = self.core_xy[:, 0], self.core_xy[:, 1]
        hops = np.abs(x[cols] - x[own]) + np.abs(y[cols] - y[own])
        cx, cy = self.chip_xy[:, 0], self.chip_xy[:, 1]
        crossings = np.abs(cx[cols] - cx[own]) + np.abs(cy[cols] - cy[own])
        n_remote = np.bincount(rows, minlength=n_neurons).astype(np.int64)
        n_hops = np.bincount(rows, weights=hops, minlength=n_neurons).astype(np.int64)
        n_cross = np.bincount(rows, weights=crossings, minlength=n_neurons).astype(np.int64)
        return n_remote, n_hops, n_cross

    def inter_core_synapses(self) -> int:
        """Synapses whose pre and post neurons sit on different cores (input synapses excluded)."""
        coo = self.dest_synapses.tocoo()
        remote = self.core_of_neuron[coo.row] != coo.col
        return int(coo.data[remote].sum())

    def __repr__(self) -> str:
        return (
            f"<Mapping on {self.chip.name} ({self.strategy}): {len(self.core_of_neuron):,} "
            f"neurons on {self.n_cores_used} of {self.n_cores} cores, {self.n_chips} chip(s)>"
        )

    def _repr_html_(self) -> str:
        """A short HTML table for notebooks (Jupyter shows it in place of the repr)."""
        from neuroemu.notebook import mapping_html

        return mapping_html(self)

    def summary(self) -> dict[str, object]:
        """What ``neuroemu map`` reports: chips and cores used, utilisation, traffic, warnings.

        Utilisation is in percent over the used cores; the binding resource is the one with the
        highest maximum utilisation (the first to overflow if the network grew).
        """
        per_resource = self.utilisation()
        max_percent = {
            name: float(100 * values.max()) if len(values) else 0.0
            for name, values in per_resource.items()
        }
        utilisation = {
            name: {
                "limit": self.limits[name],
                "min_percent": float(100 * values.min()) if len(values) else 0.0,
                "mean_percent": float(100 * values.mean()) if len(values) else 0.0,
                "max_percent": max_percent[name],
            }
            for name, values in per_resource.items()
        }
        binding = max(max_percent, key=max_percent.__getitem__, default=None)
        # What closed most cores forced the spread (a convolution's cores close on fan-in
        # while neurons show the highest utilisation); without packing facts, the fullest.
        forcing = {k: v for k, v in self.closed_by.items() if k in RESOURCES}
        spread_by = max(forcing, key=forcing.__getitem__) if forcing else binding
        total = int(self.dest_synapses.sum())
        inter = self.inter_core_synapses()
        return {
            "chip": self.chip.name,
            "strategy": self.strategy,
            "n_chips": self.n_chips,
            "n_cores": self.n_cores,
            "n_cores_used": self.n_cores_used,
            "utilisation": utilisation,
            "binding_resource": binding,
            "spread_by": spread_by,
            "cores_closed_by": dict(self.closed_by),
            "inter_core_synapses": inter,
            "neuron_synapses": total,
            "inter_core_fraction": inter / total if total else 0.0,
            "projection_encodings": [encoding.summary() for encoding in self.encodings],
            "warnings": list(self.warnings),
        }


def _row_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Per CSR row, the sum of ``values`` over its stored entries (int64; 0 for empty rows)."""
    sums = np.zeros(len(indptr) - 1, dtype=np.int64)
    filled = np.flatnonzero(np.diff(indptr))
    if len(filled):
        # each filled row's segment runs to the next filled row's start: the rows between are empty
        sums[filled] = np.add.reduceat(values, indptr[filled])
    return sums


def core_coordinates(chip: ChipSpec, n_chips: int) -> np.ndarray:
    """Global mesh coordinates (in tiles) of every core of ``n_chips`` chips on a chip grid."""
    topo = chip.topology
    per_chip = chip.cores_per_chip
    per_tile = topo.cores_per_tile.require()
    width_tiles = topo.mesh_width_tiles.require()
    height_tiles = topo.mesh_height_tiles.require()
    grid_width, _ = chip.chip_grid(n_chips)
    core = np.arange(n_chips * per_chip)
    chip_index = core // per_chip
    tile = (core % per_chip) // per_tile
    if topo.tile_numbering == "column_major":
        tile_x, tile_y = tile // height_tiles, tile % height_tiles
    else:
        tile_x, tile_y = tile % width_tiles, tile // width_tiles
    x = (chip_index % grid_width) * width_tiles + tile_x
    y = (chip_index // grid_width) * height_tiles + tile_y
    return np.stack([x, y], axis=1)


def map_network(
    network: Network,
    chip: ChipSpec,
    strategy: str = "fill",
    n_chips: int | None = None,
    max_neurons_per_core: int | None = None,
    placement: Placement | None = None,
) -> Mapping:
    """Place every neuron of ``network`` on a core of ``chip`` (or of several such chips).

    Parameters
    ----------
    network : Network
    chip : ChipSpec
    strategy : str
        ``fill``: populations and neurons in order, each core filled until a resource would
        overflow (what chip compilers do by default). ``balanced``: as many chips as ``fill``
        needs, with neurons spread over all their cores in contiguous segments of equal load
        (1 + in-degree per neuron), so that a barrier-synchronised step is shorter.
        ``min-traffic``: METIS partitions the connectivity graph so that fewer synapses cross
        cores (fewer messages, less energy).
    n_chips : int or None
        Most chips to use; default: as many as the descriptor's ``topology.max_chips`` allows.
    max_neurons_per_core : int or None
        Place at most this many neurons on a core, below the chip's ``core.neurons``: what
        sPyNNaker users do so that a core's work fits the real-time tick (more cores, chips and
        boards).
    placement : Placement or None
        A placement the user already has (:mod:`neuroemu.mapping.given`): used as given instead
        of a strategy (the mapping's strategy reads ``given``), after every capacity check.

    Returns
    -------
    Mapping

    Raises
    ------
    CapacityError
        The network does not fit: the message names the resource, the core, neuron or
        projection, the need, the limit with the descriptor field, and a remedy where one exists.
    """
    if strategy not in STRATEGIES:
        raise NeuroEmuError(
            f"unknown mapping strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}"
        )
    if placement is not None:
        mapper = _Mapper(network, chip, "given", n_chips, max_neurons_per_core)
        return mapper.given(placement)
    mapper = _Mapper(network, chip, strategy, n_chips, max_neurons_per_core)
    if mapper.by_layer:
        return mapper.layers()
    run = {"fill": mapper.fill, "balanced": mapper.balanced, "min-traffic": mapper.min_traffic}
    return run[strategy]()


@dataclass(frozen=True, eq=False)
class _Placed:
    core: np.ndarray
    n_chips: int
    n_cores_used: int
    evaluation: Evaluation
    closed_by: dict[str, int] = field(default_factory=dict)


class _Mapper(CapacityChecks):
    """One call of :func:`map_network`: the strategies (checks and messages: the base class)."""

    _in_order_fan_in: FanInEnds | None = None

    # ---- placing ----------------------------------------------------------------------------

    def place(
        self,
        order: np.ndarray | None = None,
        stops: np.ndarray | None = None,
        load_cap: int | None = None,
        min_chips: int = 1,
        spread: int | None = None,
    ) -> _Placed:
        """Pack, count and verify; repack while output axons overflow.

        Output axons depend on where the targets land, so the packer cannot see them; after a
        placement overflows them, each neuron's measured count is packed as an additive estimate
        (growing monotonically, finally to its out-degree, a bound that always holds).
        """
        estimate = None
        # Shared pixel axons (Loihi's pop32) are split among the neurons using them, so a
        # repack that moves those neurons apart changes every share: more measured rounds
        # before the out-degree bound (PilotNet on Loihi fits after 8 rounds on 2,174 cores;
        # the bound from round 3 took 5,366).
        rounds, bound_from = (10, 8) if self.table.axons is not None else (4, 2)
        fan_in = self.fan_in_ends(order)
        for attempt in range(rounds):
            packing = pack_cores(
                self.table, self.caps, order, stops, load_cap, estimate, spread, fan_in
            )
            if packing.stuck is not None:
                position, resource = packing.stuck
                neuron = int(position if order is None else order[position])
                alone = 0 if estimate is None else int(estimate[neuron])
                raise self._core_error(resource, self.neuron_name(neuron) + " alone", alone)
            n_used = len(packing.ends)
            chips = max(min_chips, math.ceil(n_used / self.per_chip))
            if self.limit is not None and chips > self.limit:
                raise self._too_many(n_used, packing.limited_by)
            sizes = np.diff(packing.ends, prepend=0)
            core = np.repeat(np.arange(n_used, dtype=np.int32), sizes)
            if order is not None:
                core[order] = core.copy()
            evaluation = evaluate_placement(self.table, core, chips * self.per_chip)
            self._check_fan_out(evaluation)
            usage = evaluation.usage
            for resource in ("neurons", "synapse_memory_bits", "fan_in"):
                limit = getattr(self.caps, resource)
                if limit is not None and usage[resource].max() > limit:  # pragma: no cover
                    raise self._usage_error(resource, usage)
            out = self.caps.output_axons
            if out is None or usage["output_axons"].max() <= out:
                closed = Counter(packing.limited_by)
                return _Placed(core, chips, n_used, evaluation, dict(sorted(closed.items())))
            # A margin of one axon per neuron absorbs the small shifts of a repack.
            remote = evaluation.n_remote + 1
            estimate = remote if estimate is None else np.maximum(estimate, remote)
            if attempt >= bound_from:
                out_degree = np.asarray(evaluation.pairs.sum(axis=1)).ravel()[: len(core)]
                # A pixel axon takes several slots per core it reaches (Loihi's pop32: 2).
                estimate = np.maximum(estimate, out_degree * self.table.pixel_axon_slots)
        raise self._usage_error("output_axons", usage)

    def fan_in_ends(self, order: np.ndarray | None) -> FanInEnds | None:
        """Fan-in ends for packings of ``order``; network order's are kept for every packing."""
        if self.caps.fan_in is None:
            return None
        if order is not None:
            return FanInEnds(self.table, order, self.caps.fan_in)
        if self._in_order_fan_in is None:
            self._in_order_fan_in = FanInEnds(self.table, None, self.caps.fan_in)
        return self._in_order_fan_in

    def mapping(
        self,
        placed: _Placed,
        note: str | None = None,
        core_limits: dict[str, np.ndarray] | None = None,
    ) -> Mapping:
        limits: dict[str, float | None] = {name: getattr(self.caps, name) for name in RESOURCES}
        ev = placed.evaluation
        dest, inputs = ev.dest_matrices(self.network.n_neurons)
        return Mapping(
            chip=self.chip,
            strategy=self.strategy,
            n_chips=placed.n_chips,
            core_of_neuron=placed.core,
            usage=ev.usage,
            limits=limits,
            dest_synapses=dest,
            input_dest_synapses=inputs,
            warnings=[*self.warnings, *([note] if note else [])],
            closed_by=dict(placed.closed_by),
            encodings=list(self.encodings.values()),
            core_limits=dict(core_limits or {}),
        )

    # ---- layer chips -------------------------------------------------------------------------

    @property
    def by_layer(self) -> bool:
        """True on a chip whose toolchain puts each layer whole on one core (Speck)."""
        shared = self.chip.core.conv_encoding
        return shared is not None and shared.per == "layer"

    def _layer_limits(self, n_chips: int) -> dict[str, np.ndarray]:
        neurons, bits = self.chip.core.memories(self.per_chip)
        return {
            "neurons": np.tile(np.asarray(neurons, dtype=np.int64), n_chips),
            "synapse_memory_bits": np.tile(np.asarray(bits, dtype=np.int64), n_chips),
        }

    def _layer_mapping(self, core: np.ndarray, chips: int, note: str | None) -> Mapping:
        """Recount a population-to-core placement on a layer chip; refuse what overflows."""
        n_cores = chips * self.per_chip
        needs = layer_needs(self.network, self.chip, self.encodings)
        _, neurons, bits = layer_usage(self.network, needs, core, n_cores)
        limits = self._layer_limits(chips)
        for resource, need, text in (
            ("neurons", neurons, "neuron-memory entries"),
            ("synapse_memory_bits", bits, "bits of kernel memory"),
        ):
            over = np.flatnonzero(need > limits[resource])
            if len(over):
                c = int(over[0])
                raise CapacityError(
                    resource, self.core_name(c), int(need[c]), int(limits[resource][c]),
                    f"{self.core_name(c)} needs {int(need[c])} {text}; it holds "
                    f"{int(limits[resource][c])} ({self.file}: core.per_core[{c % self.per_chip}]"
                    f".{resource}).",
                    "Place the layer on a larger core, or make it smaller.",
                )  # fmt: skip
        evaluation = evaluate_placement(self.table, core, n_cores)
        self._check_fan_out(evaluation)
        evaluation.usage["synapse_memory_bits"] = bits
        placed = _Placed(core, chips, int((evaluation.usage["neurons"] > 0).sum()), evaluation)
        return self.mapping(placed, note, core_limits=limits)

    def layers(self) -> Mapping:
        """Each population whole on one core that holds its kernel and neuron memory.

        Layers are matched to cores as sinabs does (each layer on exactly one core, a core per
        layer); with several chips allowed, the cores of the next chip are tried too.
        """
        needs = layer_needs(self.network, self.chip, self.encodings)
        most = self.limit if self.limit is not None else max(1, len(needs))
        neurons, bits = self.chip.core.memories(self.per_chip)
        for need in needs:
            if need.neurons > max(neurons) or need.bits > max(bits):
                resource, amount, limit, text = (
                    ("neurons", need.neurons, max(neurons), "neuron-memory entries")
                    if need.neurons > max(neurons)
                    else ("synapse_memory_bits", need.bits, max(bits), "bits of kernel memory")
                )
                raise CapacityError(
                    resource, f"population {need.population!r}", amount, limit,
                    f"population {need.population!r} needs {amount} {text} as one layer; the "
                    f"largest core of {self.chip.name!r} holds {limit} ({self.file}: "
                    f"core.per_core). No strategy can place it: the chip holds each layer "
                    f"whole on one core.",
                    "Make the layer smaller (fewer channels, a smaller map or kernel).",
                )  # fmt: skip
        for chips in range(1, most + 1):
            assigned = match_layers(needs, neurons * chips, bits * chips)
            if assigned is not None:
                break
        else:
            n = len(needs)
            raise CapacityError(
                "neurons", "network", n, most * self.per_chip,
                f"no assignment of the network's {n} layers to the {most * self.per_chip} cores "
                f"of {most} chip(s) of {self.chip.name!r} holds every layer on its own core "
                f"within that core's kernel and neuron memory ({self.file}: core.per_core).",
                "Use fewer or smaller layers"
                + ("." if self.limit is None or self.n_chips_arg is None else ", or more chips."),
            )  # fmt: skip
        core = np.repeat(
            np.asarray(assigned, dtype=np.int32), [pop.size for pop in self.network.populations]
        )
        note = f"{self.chip.name} maps layer by layer: each population whole on one core" + (
            f" (strategy {self.strategy!r} places nothing differently)"
            if self.strategy != "fill"
            else ""
        )
        return self._layer_mapping(core, chips, note)

    # ---- strategies ---------------------------------------------------------------------

    def given(self, placement: Placement) -> Mapping:
        """The user's placement, checked as the strategies' placements are."""
        core = placement.cores_for(self.network)
        n_used = len(np.unique(core))
        chips = int(core.max(initial=0)) // self.per_chip + 1
        most = self.limit if self.limit is not None else MAX_RANGE // self.per_chip
        if chips > most:
            top = int(core.max())
            raise CapacityError(
                "chips", "placement", chips, most,
                f"{placement.source}: the placement uses core {top}, on chip {chips} of "
                f"{self.chip.name!r} ({self.per_chip} cores each), but at most {most} chip(s) "
                f"are allowed.",
                "Place the network on lower core numbers, or allow more chips (--max-chips).",
            )  # fmt: skip
        note = f"given placement from {placement.source}: {n_used} cores on {chips} chip(s)"
        if self.by_layer:
            return self._layer_mapping(core, chips, note)
        evaluation = evaluate_placement(self.table, core, chips * self.per_chip)
        self._check_fan_out(evaluation)
        for resource in RESOURCES:
            limit = getattr(self.caps, resource, None)
            if limit is not None and evaluation.usage[resource].max(initial=0) > limit:
                raise self._usage_error(resource, evaluation.usage)
        return self.mapping(_Placed(core, chips, n_used, evaluation), note)

    def fill(self) -> Mapping:
        """Neurons in network order, each core filled until a resource would overflow.

        A layered network whose layers are stored channel by channel (a convolution's
        ``(channel, y, x)`` order) puts on one core neurons that see the whole input, so fan-in
        overflows long before neurons or synapse memory do: a 19,000-neuron convolutional
        network took 918 Loihi cores this way where 86 suffice. When network order needs more
        than :data:`SPREAD_FACTOR` times the cores that neurons and synapse memory require,
        fill also packs each population's neurons in the order of their inputs (the mean index
        of their presynaptic sources, which puts a convolution's channels at one position side
        by side) and keeps that placement if it uses fewer cores, saying so.
        """
        bound = self._least_cores()
        if self._fan_out_groups_overflow() and not self._one_fan_out_overflows():
            raise self._fan_out_groups_error()  # no placement fits: say so before packing any
        placed: _Placed | None = None
        try:
            placed = self.place()
        except CapacityError as exc:
            if str(exc.where).endswith(" alone"):
                raise  # one neuron that fits no core by itself: no order helps
            failure: CapacityError | None = exc
        else:
            failure = None
            if placed.n_cores_used <= SPREAD_FACTOR * bound:
                return self.mapping(placed)
        try:
            by_inputs = self.place(self._input_order())
        except CapacityError:
            if placed is None and failure is not None:
                raise failure from None
            assert placed is not None
            return self.mapping(placed)
        if placed is not None and by_inputs.n_cores_used >= placed.n_cores_used:
            return self.mapping(placed)
        before = "did not fit" if placed is None else f"needed {placed.n_cores_used} cores"
        note = (
            f"fill: network order {before} where neurons and synapse memory need {bound} "
            f"cores; each population's neurons were packed in the order of their inputs "
            f"instead: {by_inputs.n_cores_used} cores"
        )
        return self.mapping(by_inputs, note)

    def _fan_out_groups_overflow(self) -> bool:
        """True where no placement can keep every neuron's targets on one core.

        With ``fan_out_cores`` 1, neurons that share a presynaptic neuron share its one target
        core, and so, link by link, does every group of neurons connected through shared
        presynaptic neurons; a group larger than a core's neurons proves that nothing fits.
        """
        return len(self._largest_fan_out_group) > self.caps.neurons

    def _fan_out_groups_error(self) -> CapacityError:
        """The refusal when :meth:`_fan_out_groups_overflow` proves that nothing fits: packing
        first and naming one neuron's fan-out (as before) suggested a strategy that cannot
        help, and took longer than the proof (COBA on TrueNorth: 0.16 s against 0.03 s)."""
        group = self._largest_fan_out_group
        offsets = np.asarray([self.network.offsets[p.name] for p in self.network.populations])
        owners = np.unique(np.searchsorted(offsets, group, "right") - 1)
        names = [self.network.populations[k].name for k in owners]
        where = f"{len(group):,} neurons of {_names(names)}"
        return CapacityError(
            "fan_out_cores",
            where,
            len(group),
            int(self.caps.neurons),
            f"no placement fits: neurons of {self.chip.name!r} reach at most 1 core "
            f"({self.file}: core.fan_out_cores), so neurons sharing a presynaptic neuron must "
            f"share its target core, and through shared presynaptic neurons {where} form one "
            f"such group, more than the {int(self.caps.neurons):,} neurons a core holds "
            f"({self.file}: core.neurons).",
            "Reduce the network's fan-out (TrueNorth's tools copy a neuron through splitter "
            "neurons, one per target core), or price it on a chip whose neurons reach more "
            "cores.",
        )

    def _one_fan_out_overflows(self) -> bool:
        """Whether some neuron may have more targets than a core holds (its synapses counted:
        an upper bound); then the packing's own refusal names that neuron, which says more."""
        table, n = self.table, self.network.n_neurons
        sources = table.sources[table.sources < n]
        return int(np.bincount(sources).max(initial=0)) > self.caps.neurons

    @cached_property
    def _largest_fan_out_group(self) -> np.ndarray:
        """The neurons of the largest group linked through shared presynaptic neurons, where
        neurons reach one core (empty otherwise: no such constraint)."""
        if self.fan_out != 1:
            return np.zeros(0, dtype=np.int64)
        table, n = self.table, self.network.n_neurons
        # Nodes: the neurons as targets, then as presynaptic neurons; a target links to each of
        # its presynaptic neurons (an input source links it to itself: inputs have no limit).
        pre = table.sources.astype(np.int64)
        pre = np.where(pre < n, pre + n, table.entry_posts())
        indptr = np.concatenate([table.indptr, np.full(n, table.indptr[-1])])
        links = sp.csr_matrix((np.ones(len(pre), dtype=np.int8), pre, indptr), (2 * n, 2 * n))
        # imported here: scipy.sparse.csgraph costs 0.13 s of every run's start-up, and only
        # chips whose neurons reach one core need it
        from scipy.sparse.csgraph import connected_components

        _, group = connected_components(links, directed=False)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        largest = int(np.bincount(group[:n]).argmax())
        return np.flatnonzero(group[:n] == largest)

    def _least_cores(self) -> int:
        """Cores that neurons and synapse memory alone require (a lower bound)."""
        caps, table = self.caps, self.table
        by_neurons = -(-self.network.n_neurons // caps.neurons)
        by_bits = -(-table.least_bits() // caps.synapse_memory_bits)
        return max(1, by_neurons, by_bits)

    def _input_order(self) -> np.ndarray:
        """Neurons ordered population by population, within one by their inputs' mean index."""
        table = self.table
        lens = np.diff(table.indptr)
        sums = np.bincount(
            table.entry_posts(), weights=table.sources.astype(np.float64), minlength=len(lens)
        )
        centroid = np.where(lens > 0, sums / np.maximum(lens, 1), -1.0)
        population = np.repeat(
            np.arange(len(self.network.populations)),
            [pop.size for pop in self.network.populations],
        )
        return np.lexsort((np.arange(table.n_neurons), centroid, population))

    def _fill_cores(self) -> int:
        """Cores ``fill`` needs (packing only, no recount)."""
        packing = pack_cores(self.table, self.caps, fan_in=self.fan_in_ends(None))
        if packing.stuck is not None:
            self.fill()  # raises the exact error
        return max(1, len(packing.ends))

    def balanced(self) -> Mapping:
        """Equal load on every core of the chips ``fill`` needs (load: 1 + in-degree).

        Each core first takes the share of the remaining load nearest to an equal split. Where
        capacities make that overflow the cores, the least per-core load cap that fits is found
        by bisection instead: greedy packing under a cap uses the fewest cores for that cap
        (each constraint holds for any part of a segment that satisfies it), so the bisection
        gives the least busiest-core load over all contiguous placements on those chips.
        """
        chips = math.ceil(self._fill_cores() / self.per_chip)
        n_cores = chips * self.per_chip
        spread: int | None = n_cores
        load_cap: int | None = None
        fan_in = self.fan_in_ends(None)
        if len(pack_cores(self.table, self.caps, spread=n_cores, fan_in=fan_in).ends) > n_cores:
            spread = None
            load = 1 + self.table.in_degree
            low = max(int(load.max()), -(-int(load.sum()) // n_cores))
            load_cap = int(load.sum())
            while load_cap - low > max(1, low // 500):  # within 0.2 % of the least
                middle = (low + load_cap) // 2
                packing = pack_cores(self.table, self.caps, load_cap=middle, fan_in=fan_in)
                if len(packing.ends) <= n_cores:
                    load_cap = middle
                else:
                    low = middle + 1
        try:
            placed = self.place(load_cap=load_cap, min_chips=chips, spread=spread)
        except CapacityError as exc:
            if exc.resource not in ("fan_out_cores", "output_axons"):
                raise
            note = f"balanced: spreading the load overflowed {exc.resource}; kept fill's placement"
            return self.mapping(self.place(), note)
        return self.mapping(placed)

    def min_traffic(self) -> Mapping:
        """METIS parts of the neuron graph, packed part by part; the fewest cut synapses wins.

        Edge cuts ignore fan-in, so the number of parts that fit cannot be known in advance
        (``fill``'s core count is inflated by fan-in when the neuron order is poor). The
        partition starts with a quarter of the parts that neurons and synapse memory require;
        a part that overflows a core spills into more (the packer's repair step) and is then
        bisected by METIS, and the network repacked, up to five times. Coarse parts first keep
        clusters whole (a part that mixes pieces of several clusters overflows fan-in). The
        in-order placement is a candidate too, so the result never cuts more than ``fill``.
        """
        candidates: list[_Placed] = []
        errors: list[CapacityError] = []
        try:
            candidates.append(self.place())
        except CapacityError as exc:
            errors.append(exc)
        fill_fits = bool(candidates)
        table, caps, n = self.table, self.caps, self.network.n_neurons
        needed = max(n / caps.neurons, table.least_bits() / caps.synapse_memory_bits)
        n_parts = min(n, math.ceil(needed / 4))
        graph = neuron_graph(table)
        weights = vertex_weights(table, caps)
        labels = partition_neurons(graph, n_parts, weights)
        cuts: list[int] = [c.evaluation.inter_core_synapses(c.core) for c in candidates]
        for _ in range(6):
            sizes = np.bincount(labels)
            stops = np.cumsum(sizes[sizes > 0])
            try:
                placed = self.place(np.argsort(labels, kind="stable"), stops)
            except CapacityError as exc:
                errors.append(exc)
                break
            cut = placed.evaluation.inter_core_synapses(placed.core)
            worse = len(cuts) > int(fill_fits) and cut > min(cuts[int(fill_fits) :])
            candidates.append(placed)
            cuts.append(cut)
            if placed.n_cores_used == len(stops) or worse:
                break  # no part spilled, or splitting further only cuts more
            labels = split_spilled_parts(graph, weights, labels, placed.core)
        if not candidates:
            raise errors[0]
        best = min(range(len(candidates)), key=lambda k: (cuts[k], candidates[k].n_chips))
        note = None
        if best == 0 and fill_fits and len(candidates) > 1 and min(cuts[1:]) > cuts[0]:
            note = (
                f"min-traffic: the METIS partitions cut more synapses ({min(cuts[1:])}) than the "
                f"in-order placement ({cuts[0]}); kept the in-order placement"
            )
        return self.mapping(candidates[best], note)
