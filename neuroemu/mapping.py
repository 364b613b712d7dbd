"""Placement of a network's neurons and synapses onto the cores of a virtual chip.

:func:`map_network` places every neuron on exactly one core under the chip's per-core limits
(neurons, synapse memory, fan-in, output axons, fan-out per neuron, delay slots, weight sign) and
returns a :class:`Mapping`; a network that does not fit raises
:class:`~neuroemu.errors.CapacityError` naming the resource, the core or neuron, the need and the
limit. The numpy machinery lives in :mod:`neuroemu.placement`; this module owns the strategies and
what the user is told.

Cores are numbered globally: core ``c`` is local core ``c % cores_per_chip`` of chip
``c // cores_per_chip``. Synapses are stored at the postsynaptic core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .chip import ChipSpec, bundled_chip_dir
from .errors import CapacityError, NeuroEmuError
from .network import Network
from .placement import (
    CoreCaps,
    Evaluation,
    SynapseTable,
    build_synapse_table,
    evaluate_placement,
    first_over_fan_in,
    neuron_graph,
    pack_cores,
    partition_neurons,
    split_spilled_parts,
    vertex_weights,
)

RESOURCES = ("neurons", "synapse_memory_bits", "fan_in", "output_axons")
STRATEGIES = ("fill", "balanced", "min-traffic")


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
            if limit:
                out[name] = self.usage[name][self.used_cores] / float(limit)
        return out

    @cached_property
    def dest_cores(self) -> sp.csr_matrix:
        """``(n_neurons, n_cores)`` boolean pattern: which cores each neuron sends spikes to."""
        pattern = self.dest_synapses.copy()
        pattern.data = np.ones_like(pattern.data, dtype=bool)
        return pattern.astype(bool)

    def inter_core_synapses(self) -> int:
        """Synapses whose pre and post neurons sit on different cores (input synapses excluded)."""
        coo = self.dest_synapses.tocoo()
        remote = self.core_of_neuron[coo.row] != coo.col
        return int(coo.data[remote].sum())

    def summary(self) -> dict[str, object]:
        """What ``neuroemu map`` reports: chips and cores used, utilisation, traffic, warnings.

        Utilisation is in percent over the used cores; the binding resource is the one with the
        highest maximum utilisation (the first to overflow if the network grew).
        """
        utilisation = {
            name: {
                "limit": self.limits[name],
                "min_percent": float(100 * values.min()) if len(values) else 0.0,
                "mean_percent": float(100 * values.mean()) if len(values) else 0.0,
                "max_percent": float(100 * values.max()) if len(values) else 0.0,
            }
            for name, values in self.utilisation().items()
        }
        binding = max(utilisation, key=lambda r: utilisation[r]["max_percent"], default=None)
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
            "inter_core_synapses": inter,
            "neuron_synapses": total,
            "inter_core_fraction": inter / total if total else 0.0,
            "warnings": list(self.warnings),
        }


def core_coordinates(chip: ChipSpec, n_chips: int) -> np.ndarray:
    """Global mesh coordinates (in tiles) of every core of ``n_chips`` chips on a chip grid."""
    topo = chip.topology
    per_chip = chip.cores_per_chip
    per_tile = int(topo.cores_per_tile.value)
    width_tiles = int(topo.mesh_width_tiles.value)
    height_tiles = int(topo.mesh_height_tiles.value)
    grid_width, _ = chip.chip_grid(n_chips)
    core = np.arange(n_chips * per_chip)
    chip_index = core // per_chip
    tile = (core % per_chip) // per_tile
    x = (chip_index % grid_width) * width_tiles + tile % width_tiles
    y = (chip_index // grid_width) * height_tiles + tile // width_tiles
    return np.stack([x, y], axis=1)


def map_network(
    network: Network, chip: ChipSpec, strategy: str = "fill", n_chips: int | None = None
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
    mapper = _Mapper(network, chip, strategy, n_chips)
    run = {"fill": mapper.fill, "balanced": mapper.balanced, "min-traffic": mapper.min_traffic}
    return run[strategy]()


_REMEDIES = {
    "neurons": "Use a smaller network or a chip with more neurons per core.",
    "synapse_memory_bits": "Use fewer synapses, or a chip (descriptor) with more synapse memory "
    "or a smaller synapse encoding (fewer weight bits).",
    "fan_in": "Use --strategy min-traffic to group neurons that share inputs, or reduce "
    "in-degrees.",
    "output_axons": "Use --strategy min-traffic to keep each neuron's targets on fewer cores.",
}


@dataclass(frozen=True, eq=False)
class _Placed:
    core: np.ndarray
    n_chips: int
    n_cores_used: int
    evaluation: Evaluation


def _cap(quantity: object) -> int | None:
    return None if quantity is None else int(quantity.value)  # type: ignore[attr-defined]


def _chip_file(chip: ChipSpec) -> str:
    """The descriptor as the user knows it: ``chips/NAME.yaml`` for bundled ones."""
    if not chip.path:
        return f"descriptor of {chip.name!r}"
    path = Path(chip.path)
    if path.resolve().parent == bundled_chip_dir().resolve():
        return f"chips/{path.name}"
    return chip.path


class _Mapper:
    """One call of :func:`map_network`: checks, strategies, and the messages of failures."""

    def __init__(
        self, network: Network, chip: ChipSpec, strategy: str, n_chips: int | None
    ) -> None:
        self.network, self.chip, self.strategy = network, chip, strategy
        self.file = _chip_file(chip)
        core = chip.core
        self.caps = CoreCaps(
            int(core.neurons.value),
            int(core.synapse_memory_bits.value),
            _cap(core.fan_in),
            _cap(core.output_axons),
        )
        self.fan_out = _cap(core.fan_out_cores)
        self.per_chip = chip.cores_per_chip
        self.n_chips_arg = n_chips
        self.limit = self._chip_limit(n_chips)
        self.warnings = [
            f"population {pop.name!r} uses neuron model {pop.neuron_model.name!r}, which "
            f"{chip.name!r} does not implement (it has {', '.join(chip.neuron_models)}); the "
            f"emulation runs the model as written"
            for pop in network.populations
            if pop.neuron_model.name not in chip.neuron_models
        ]
        self._check_delays()
        self._check_signs()
        self.table: SynapseTable = build_synapse_table(network, chip)
        self._check_single_neurons()

    # ---- descriptor facts, as sentences ---------------------------------------------------

    def field(self, name: str) -> str:
        return f"({self.file}: {name})"

    def cap_text(self, resource: str) -> str:
        name, caps = self.chip.name, self.caps
        return {
            "neurons": f"cores of {name!r} hold {caps.neurons} neurons "
            f"{self.field('core.neurons')}",
            "synapse_memory_bits": f"cores of {name!r} hold {caps.synapse_memory_bits} bits of "
            f"synapse memory {self.field('core.synapse_memory_bits')}",
            "fan_in": f"cores of {name!r} accept {caps.fan_in} input axons "
            f"{self.field('core.fan_in')}",
            "output_axons": f"cores of {name!r} have {caps.output_axons} output axons "
            f"{self.field('core.output_axons')}",
        }[resource]

    def neuron_name(self, neuron: int) -> str:
        for pop in self.network.populations:
            start = self.network.offsets[pop.name]
            if start <= neuron < start + pop.size:
                return f"neuron {neuron - start} of population {pop.name!r}"
        return f"neuron {neuron}"  # pragma: no cover - indices come from the network

    def core_name(self, core: int) -> str:
        chip, local = divmod(int(core), self.per_chip)
        return f"core {core} (chip {chip}, local core {local})"

    # ---- checks that no placement can change ----------------------------------------------

    def _chip_limit(self, n_chips: int | None) -> int | None:
        most = self.chip.max_chips
        if n_chips is None:
            return most
        if not isinstance(n_chips, int | np.integer) or n_chips < 1:
            raise NeuroEmuError(f"n_chips must be a positive integer, got {n_chips!r}")
        if most is not None and n_chips > most:
            raise CapacityError(
                "chips", "network", n_chips, most,
                f"{n_chips} chips requested, but {self.chip.name!r} scales to at most {most} "
                f"chips {self.field('topology.max_chips')}.",
                f"Use --chips {most} or fewer.",
            )  # fmt: skip
        return int(n_chips)

    def _check_delays(self) -> None:
        slots = _cap(self.chip.core.delay_slots)
        dt = float(self.chip.timing.dt_ms.value)
        for proj in self.network.projections:
            if slots is None or proj.n_synapses == 0:
                continue
            longest = float(np.max(proj.delay_ms))
            steps = int(np.rint(longest / dt))
            if steps > slots:
                raise CapacityError(
                    "delay_slots", f"projection {proj.name!r}", steps, slots,
                    f"projection {proj.name!r} has delays up to {longest:g} ms = {steps} steps of "
                    f"{dt:g} ms; cores of {self.chip.name!r} have {slots} delay slots "
                    f"{self.field('core.delay_slots')}.",
                    f"Use delays of at most {slots * dt:g} ms; no mapping strategy changes this.",
                )  # fmt: skip

    def _check_signs(self) -> None:
        if self.chip.core.weight_signed:
            return
        for proj in self.network.projections:
            negative = int(np.count_nonzero(proj.weight < 0))
            if negative:
                lowest = float(np.min(proj.weight))
                raise CapacityError(
                    "weight_signed", f"projection {proj.name!r}", lowest, 0.0,
                    f"projection {proj.name!r} has {negative} negative weight(s) (down to "
                    f"{lowest:g}); {self.chip.name!r} stores unsigned weights "
                    f"{self.field('core.weight_signed')}.",
                    "Give inhibitory synapses positive weights on an inhibitory target "
                    "(target='inh'); no mapping strategy changes this.",
                )  # fmt: skip

    def _check_single_neurons(self) -> None:
        table, caps = self.table, self.caps
        over = np.flatnonzero(table.in_bits > caps.synapse_memory_bits)
        if len(over):
            g = int(over[0])
            where, bits = self.neuron_name(g), int(table.in_bits[g])
            raise CapacityError(
                "synapse_memory_bits", where, bits, caps.synapse_memory_bits,
                f"{where} has {int(table.in_degree[g])} in-synapses taking {bits} bits of synapse "
                f"memory; {self.cap_text('synapse_memory_bits')}. No strategy can place it: a "
                f"neuron's synapses are stored on its own core.",
                "Reduce its in-degree, or use a chip with more synapse memory per core.",
            )  # fmt: skip
        found = None if caps.fan_in is None else first_over_fan_in(table, caps.fan_in)
        if found is not None:
            where = self.neuron_name(found[0])
            raise CapacityError(
                "fan_in", where, found[1], caps.fan_in or 0,
                f"{where} receives synapses from {found[1]} distinct sources; "
                f"{self.cap_text('fan_in')}. No strategy can place it.",
                f"Reduce its in-degree to at most {caps.fan_in} distinct sources (e.g. a lower "
                f"connection probability), or relay its inputs through intermediate neurons.",
            )  # fmt: skip

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
        for attempt in range(4):
            packing = pack_cores(self.table, self.caps, order, stops, load_cap, estimate, spread)
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
                return _Placed(core, chips, n_used, evaluation)
            # A margin of one axon per neuron absorbs the small shifts of a repack.
            remote = evaluation.n_remote + 1
            estimate = remote if estimate is None else np.maximum(estimate, remote)
            if attempt >= 2:
                out_degree = np.asarray(evaluation.pairs.sum(axis=1)).ravel()[: len(core)]
                estimate = np.maximum(estimate, out_degree)
        raise self._usage_error("output_axons", usage)

    def _usage_error(self, resource: str, usage: dict[str, np.ndarray]) -> CapacityError:
        core = int(np.argmax(usage[resource]))
        return self._core_error(resource, self.core_name(core), int(usage[resource][core]))

    def _core_error(self, resource: str, where: str, needed: int) -> CapacityError:
        what = {
            "neurons": "neurons",
            "synapse_memory_bits": "bits of synapse memory",
            "fan_in": "input axons (distinct presynaptic sources)",
            "output_axons": "output axons (one per neuron and other core it sends to)",
        }[resource]
        return CapacityError(
            resource, where, needed, getattr(self.caps, resource) or 0,
            f"{where} needs {needed} {what}; {self.cap_text(resource)}.",
            _REMEDIES[resource],
        )  # fmt: skip

    def _too_many(self, n_used: int, limited_by: list[str]) -> CapacityError:
        needed = math.ceil(n_used / self.per_chip)
        reasons = [r for r in limited_by if r in _REMEDIES] or ["neurons"]
        binding = max(set(reasons), key=reasons.count)
        if self.n_chips_arg is not None:
            allowed = f"only {self.limit} chip(s) are allowed (--chips {self.limit})"
        else:
            allowed = (
                f"{self.chip.name!r} scales to at most {self.limit} chips "
                f"{self.field('topology.max_chips')}"
            )
        fits = self.chip.max_chips is None or needed <= self.chip.max_chips
        remedy = f"Use --chips {needed}." if self.n_chips_arg is not None and fits else ""
        return CapacityError(
            binding, "network", needed, self.limit or 0,
            f"the network needs {n_used} cores of {self.chip.name!r} with strategy "
            f"{self.strategy!r}, that is {needed} chips of {self.per_chip} cores, but {allowed}. "
            f"Most cores are full on {binding}: {self.cap_text(binding)}.",
            remedy or _REMEDIES[binding],
        )  # fmt: skip

    def _check_fan_out(self, evaluation: Evaluation) -> None:
        cap = self.fan_out
        if cap is None or evaluation.n_dest.max(initial=0) <= cap:
            return
        neuron = int(np.argmax(evaluation.n_dest))
        where, reach = self.neuron_name(neuron), int(evaluation.n_dest[neuron])
        posts = self.table.entry_posts()[self.table.sources == neuron]
        fewest = math.ceil(len(np.unique(posts)) / self.caps.neurons)
        if fewest > cap:
            tail = f" No strategy can place it: its targets fill at least {fewest} cores."
            remedy = "Reduce its out-degree, or relay its spikes through splitter neurons."
        else:
            tail = ""
            remedy = (
                "Use --strategy min-traffic to gather its targets on fewer cores, or reduce "
                "its out-degree."
            )
        raise CapacityError(
            "fan_out_cores", where, reach, cap,
            f"{where} sends spikes to {reach} cores; neurons of {self.chip.name!r} reach at most "
            f"{cap} core(s) {self.field('core.fan_out_cores')}.{tail}",
            remedy,
        )  # fmt: skip

    def mapping(self, placed: _Placed, note: str | None = None) -> Mapping:
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
        )

    # ---- strategies ---------------------------------------------------------------------

    def fill(self) -> Mapping:
        return self.mapping(self.place())

    def _fill_cores(self) -> int:
        """Cores ``fill`` needs (packing only, no recount)."""
        packing = pack_cores(self.table, self.caps)
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
        spread, load_cap = n_cores, None
        if len(pack_cores(self.table, self.caps, spread=n_cores).ends) > n_cores:
            spread = None
            load = 1 + self.table.in_degree
            low = max(int(load.max()), -(-int(load.sum()) // n_cores))
            load_cap = int(load.sum())
            while load_cap - low > max(1, low // 500):  # within 0.2 % of the least
                middle = (low + load_cap) // 2
                if len(pack_cores(self.table, self.caps, load_cap=middle).ends) <= n_cores:
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
        needed = max(n / caps.neurons, float(table.in_bits.sum()) / caps.synapse_memory_bits)
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
