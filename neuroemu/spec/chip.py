"""Chip descriptors: :class:`ChipSpec` and :func:`load_chip`.

A chip is data (``chips/NAME.yaml``), never code: the simulator knows no chip by name. This module
defines the schema of that data and reads it strictly (see :mod:`neuroemu.spec.descriptor`); the
format is documented in ``chips/README.md``.
"""

from __future__ import annotations

import difflib
import math
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from neuroemu.errors import DescriptorError, NeuroEmuError
from neuroemu.events import EVENT_KINDS
from neuroemu.network.neuron_models import NEURON_MODELS
from neuroemu.operating_point import OperatingPoint
from neuroemu.resources import BUNDLES, bundled_names, data_dir, find, not_found
from neuroemu.spec.descriptor import (
    Bound,
    Count,
    FieldProblem,
    FractionQuantity,
    Identity,
    NonNegative,
    Positive,
    Quantity,
    StrictModel,
    iter_quantities,
    parse_descriptor,
    read_text,
)


def _require_known(model: StrictModel, names: tuple[str, ...]) -> None:
    """Refuse ``unknown: true`` on capacities and times the mapping and latency model compute with.

    An unknown *energy* can be left unpriced, but a chip whose core count or timestep is unknown
    cannot be mapped at all, so those must carry a value (``estimated: true`` if need be).
    """
    for name in names:
        quantity = getattr(model, name)
        items = quantity.items() if isinstance(quantity, dict) else [(None, quantity)]
        for key, item in items:
            if item is not None and item.unknown:
                loc = (name, "unknown") if key is None else (name, key, "unknown")
                raise FieldProblem(
                    loc,
                    "this capacity or time cannot be unknown (the mapping and latency model "
                    "need it): expected a value, marked 'estimated: true' with a note if no "
                    "source gives it",
                )


class Topology(StrictModel):
    """How cores are arranged: tiles on a 2-D mesh per chip, chips on boards.

    Cores ``c`` of a chip sit in tile ``c // cores_per_tile``; tiles are numbered row by row on a
    ``mesh_width_tiles x mesh_height_tiles`` mesh (``tile_numbering: row_major``, the default)
    or column by column (``column_major``, as SANA-FE numbers Loihi's tiles): the numbering
    decides which cores are neighbours, so hops depend on it. Several chips are laid out on a
    grid as square as possible, extending the mesh (as Loihi's and TrueNorth's chip-to-chip
    links do).

    ``messages_to_own_core``: a spike whose targets include neurons on its own core also sends a
    packet to that core (zero hops), as SANA-FE's axon model does; by default (false) only other
    cores receive packets, and local targets are reached without one.
    """

    cores_per_chip: Count
    cores_per_tile: Count
    mesh_width_tiles: Count
    mesh_height_tiles: Count
    chips_per_board: Count
    max_chips: Count | None = None
    inter_chip_link: str | None = None
    messages_to_own_core: bool = False
    tile_numbering: Literal["row_major", "column_major"] = "row_major"

    @model_validator(mode="after")
    def _tiles_hold_cores(self) -> Topology:
        _require_known(
            self,
            (
                "cores_per_chip",
                "cores_per_tile",
                "mesh_width_tiles",
                "mesh_height_tiles",
                "chips_per_board",
                "max_chips",
            ),
        )
        tiles = self.mesh_width_tiles.require() * self.mesh_height_tiles.require()
        per_tile = self.cores_per_tile.require()
        if tiles * per_tile != self.cores_per_chip.require():
            raise FieldProblem(
                ("cores_per_chip",),
                f"mesh_width_tiles x mesh_height_tiles x cores_per_tile = {tiles} x "
                f"{per_tile} = {tiles * per_tile}, "
                f"but cores_per_chip is {self.cores_per_chip.require()}: expected them equal",
            )
        return self


class SharedEncoding(StrictModel):
    """How a core stores a weight-shared (convolutional) projection: its kernel, not every synapse.

    ``per: core``: every core holding output neurons of the projection stores the kernels of the
    output channels it holds, ``C_in / groups x kh x kw`` weights per channel
    (``kernel_copies: one``), or one copy of the kernel's valid part per distinct border case of
    an input pixel (``per_border``: nengo-loihi's population weights on Loihi, whose axons cannot
    address compartments outside the layer). ``per: layer``: the toolchain puts each layer whole
    on one core, which holds the layer's whole kernel (Speck, DYNAP-CNN); with
    ``address_padding: power_of_two`` its kernel memory is ``C_in x 2^ceil(log2(kh kw)) x
    2^ceil(log2(C_out))`` entries and its neuron memory ``C_out x 2^ceil(log2(H)) x
    2^ceil(log2(W))`` (sinabs ``memory_summary``). Kernel memory counts against
    ``core.synapse_memory_bits`` at ``bits_per_weight`` bits per stored weight.
    ``input_axons: per_pixel``: one input axon per input pixel carries the spikes of all its
    channels (Loihi's population axons, the channel sent as the spike's atom), so a
    convolution takes as many of a core's ``fan_in`` axons as input pixels reach the core, not
    input neurons (``per_source``, the default); on the sending core such an axon takes
    ``axon_slots`` of ``core.output_axons`` (default 1; Loihi's pop32 axons take 2) per core
    it reaches, shared by the pixel's channels held there.

    The ``max_*`` limits (a layer chip's kernel size, stride, padding, channels and map sizes)
    refuse a convolution the chip cannot hold; absent ones mean no limit.

    ``synaptic_event_pj`` and ``synaptic_event_ns``: what one synaptic event of a projection
    stored this way costs and how long it occupies its core, where the chip's convolutional
    synapse unit differs from its explicit one (SANA-FE's Loihi: 24.0 pJ and 3.1 ns against
    35.5 pJ and 3.8 ns for dense synapses). Absent, such an event costs the chip's
    ``synaptic_event``. They are counted apart (``synaptic_event_conv``) and reported under
    ``synaptic_event``.
    """

    bits_per_weight: Count
    per: Literal["core", "layer"]
    kernel_copies: Literal["one", "per_border"] = "one"
    address_padding: Literal["none", "power_of_two"] = "none"
    input_axons: Literal["per_source", "per_pixel"] = "per_source"
    axon_slots: Count | None = None
    max_kernel: Count | None = None
    max_stride: Count | None = None
    strides_power_of_two: bool = False
    max_padding: Count | None = None
    max_channels: Count | None = None
    max_input_size: Count | None = None
    max_output_size: Count | None = None
    synaptic_event_pj: NonNegative | None = None
    synaptic_event_ns: NonNegative | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _known(self) -> SharedEncoding:
        _require_known(
            self,
            (
                "synaptic_event_ns",
                "bits_per_weight",
                "axon_slots",
                "max_kernel",
                "max_stride",
                "max_padding",
                "max_channels",
                "max_input_size",
                "max_output_size",
            ),
        )
        if self.per == "core" and self.address_padding != "none":
            raise FieldProblem(
                ("address_padding",),
                "address padding sizes a whole layer's memories: expected it with 'per: layer'",
            )
        return self


class CoreMemory(StrictModel):
    """One core's own capacity, where a chip's cores differ (Speck's nine DYNAP-CNN layers)."""

    neurons: Count
    synapse_memory_bits: Count

    @model_validator(mode="after")
    def _known(self) -> CoreMemory:
        _require_known(self, ("neurons", "synapse_memory_bits"))
        return self


class Core(StrictModel):
    """Per-core capacity. Absent limits (``fan_in`` etc.) mean no hardware cap.

    ``fan_in`` counts the distinct presynaptic sources (input axons) one core can receive from;
    ``fan_in_per_neuron`` the synapses one neuron can have (DYNAP-SE2's 64 CAM entries);
    ``fan_out_cores`` the cores one neuron can send to; ``output_axons`` the core-to-core edges
    one core can drive. ``shared_encodings`` says how a convolution is stored where the chip
    shares weights (:class:`SharedEncoding`; key ``conv``); ``per_core`` gives each core of a
    chip its own neurons and synapse memory where they differ (the largest equal to ``neurons``
    and ``synapse_memory_bits``).
    """

    neurons: Count
    synapse_memory_bits: Count
    synapse_encodings: dict[str, Count] = Field(min_length=1)
    default_encoding: str
    dense_encoding: str | None = None
    weight_bits: Count
    weight_signed: bool
    fan_in: Count | None = None
    fan_in_per_neuron: Count | None = None
    fan_out_cores: Count | None = None
    output_axons: Count | None = None
    delay_slots: Count | None = None
    shared_encodings: dict[Literal["conv"], SharedEncoding] = Field(default_factory=dict)
    per_core: list[CoreMemory] | None = None

    @model_validator(mode="after")
    def _encodings_exist(self) -> Core:
        _require_known(
            self,
            (
                "neurons",
                "synapse_memory_bits",
                "synapse_encodings",
                "weight_bits",
                "fan_in",
                "fan_in_per_neuron",
                "fan_out_cores",
                "output_axons",
                "delay_slots",
            ),
        )
        for field, name in (
            ("default_encoding", self.default_encoding),
            ("dense_encoding", self.dense_encoding),
        ):
            if name is not None and name not in self.synapse_encodings:
                raise FieldProblem(
                    (field,),
                    f"encoding {name!r} is not one of synapse_encodings "
                    f"({', '.join(self.synapse_encodings)})",
                )
        if self.per_core is not None:
            for name in ("neurons", "synapse_memory_bits"):
                largest = max(getattr(c, name).require() for c in self.per_core)
                if largest != getattr(self, name).require():
                    raise FieldProblem(
                        ("per_core",),
                        f"the largest core's {name} is {largest}, but core.{name} is "
                        f"{getattr(self, name).require()}: expected them equal (core.{name} is "
                        f"the largest core's)",
                    )
        return self

    @property
    def conv_encoding(self) -> SharedEncoding | None:
        """How the chip stores a convolution, or None where it stores every synapse."""
        return self.shared_encodings.get("conv")

    def memories(self, n_cores: int) -> tuple[list[int], list[int]]:
        """Neurons and synapse-memory bits of each of a chip's ``n_cores`` cores."""
        if self.per_core is None:
            return [self.neurons.require()] * n_cores, [
                self.synapse_memory_bits.require()
            ] * n_cores
        return (
            [c.neurons.require() for c in self.per_core],
            [c.synapse_memory_bits.require() for c in self.per_core],
        )

    def bits_per_synapse(self, encoding: str) -> int:
        """Bits one synapse costs in synapse memory under ``encoding``."""
        return self.synapse_encodings[encoding].require()


class HopCosts(StrictModel):
    """A cost per mesh hop by direction: along x (east-west) and along y (north-south).

    Loihi's routers charge more for a north-south hop than for an east-west one (SANA-FE's Loihi
    model: 4.2 vs 3.0 pJ, 6.5 vs 4.1 ns), so a descriptor may price them apart.
    """

    east_west: NonNegative
    north_south: NonNegative

    def at(self, direction: str, bound: Bound = "value") -> float:
        """The cost of one hop in ``direction`` (``east_west`` or ``north_south``)."""
        quantity: Quantity = getattr(self, direction)
        return quantity.at(bound)


class Timing(StrictModel):
    """How long a step takes on the chip.

    ``barrier``: algorithmic timesteps closed by a mesh-wide barrier (Loihi); a step lasts as long
    as its busiest core plus ``barrier_ns``. ``tick``: a fixed real-time tick (TrueNorth,
    SpiNNaker); a step lasts ``tick_ms`` unless the busiest core overruns it. ``async``:
    continuous-time or event-driven hardware (DYNAP, Speck) that runs in real time.
    ``dt_ms`` is the timestep the emulation uses for this chip.

    A core's work in a step is its events times ``per_event_ns``. Optional finer terms, as in the
    architecture simulators' chip models (SANA-FE): ``neuron_changed_ns`` is added for each neuron
    whose state changed that step (``per_event_ns.neuron_update`` is then only the access every
    neuron pays); ``message_in_ns`` for each packet a core receives; ``hop_ns_by_direction`` prices
    east-west and north-south hops apart (instead of ``per_event_ns.hop``). ``core_work`` says how
    a step's length follows from the cores' work: ``sum`` (default) takes the busiest core's total
    work; ``send_receive_max`` takes the larger of the busiest core's send work (neuron updates,
    spikes, packets out) and the busiest core's receive work (packets in, synaptic events, input
    events), each its own maximum over cores, as SANA-FE's simple timing model does. A packet's
    time in the routers is no core's work under ``send_receive_max`` and is refused there.
    ``barrier_ns_by_tiles`` gives the barrier by the number of tiles in use: the entry with the
    largest key not above it (the first entry below all keys), as SANA-FE's ``latency_sync``
    table; without it every step pays ``barrier_ns``.

    ``operating_point`` is how the chip is run unless a run says otherwise (``fast``,
    ``real-time``, ``slowdown=K``, ``rate=R``; see :mod:`neuroemu.operating_point`). Without it:
    a barrier chip runs as fast as its busiest core allows, a tick chip at one tick per step
    (``slowdown`` = ``tick_ms`` / ``dt_ms``), an asynchronous chip in real time.
    """

    mode: Literal["barrier", "tick", "async"]
    dt_ms: Positive
    tick_ms: Positive | None = None
    barrier_ns: Positive | None = None
    per_event_ns: dict[Literal[EVENT_KINDS], NonNegative] = Field(default_factory=dict)  # type: ignore[valid-type]
    operating_point: str | None = None
    neuron_changed_ns: NonNegative | None = None
    message_in_ns: NonNegative | None = None
    hop_ns_by_direction: HopCosts | None = None
    core_work: Literal["sum", "send_receive_max"] = "sum"
    barrier_ns_by_tiles: dict[int, NonNegative] | None = None

    @model_validator(mode="after")
    def _mode_fields(self) -> Timing:
        _require_known(
            self, ("dt_ms", "tick_ms", "barrier_ns", "neuron_changed_ns", "message_in_ns")
        )
        _require_known(self, ("barrier_ns_by_tiles",))
        table = self.barrier_ns_by_tiles
        if table is not None and (not table or min(table) < 1):
            raise FieldProblem(
                ("barrier_ns_by_tiles",),
                "expected a table from a number of tiles in use (an integer >= 1) to the "
                "barrier time, e.g. {1: {value: 600, source: ...}}",
            )
        if self.hop_ns_by_direction is not None and "hop" in self.per_event_ns:
            raise FieldProblem(
                ("hop_ns_by_direction",),
                "both per_event_ns.hop and hop_ns_by_direction are given: expected one of them",
            )
        if self.core_work == "send_receive_max":
            routed = [k for k in ("hop", "chip_crossing") if k in self.per_event_ns]
            if routed or self.hop_ns_by_direction is not None:
                where = f"per_event_ns.{routed[0]}" if routed else "hop_ns_by_direction"
                raise FieldProblem(
                    (where.split(".")[0],),
                    f"core_work 'send_receive_max' times the cores' send and receive work; a "
                    f"packet's time in the routers ({where}) is no core's work there: expected "
                    f"it absent, or core_work 'sum'",
                )
        if self.operating_point is not None:
            try:
                OperatingPoint.parse(self.operating_point)
            except NeuroEmuError as exc:
                raise FieldProblem(("operating_point",), str(exc)) from None
        if self.mode == "tick" and self.tick_ms is None:
            raise FieldProblem(("mode",), "mode 'tick' needs tick_ms (the real-time tick length)")
        if self.mode == "barrier" and self.barrier_ns is None:
            raise FieldProblem(
                ("mode",), "mode 'barrier' needs barrier_ns (the barrier synchronisation time)"
            )
        return self

    def tick_s(self) -> float:
        """The real-time tick in seconds (mode ``tick``)."""
        return _given(self.tick_ms, "timing.tick_ms") * 1e-3

    def barrier_s(self, bound: Bound = "value", n_tiles: int | None = None) -> float:
        """The barrier synchronisation time in seconds (mode ``barrier``), for ``n_tiles``
        tiles in use where the descriptor gives a table by tiles."""
        table = self.barrier_ns_by_tiles
        if table is not None and n_tiles is not None:
            keys = sorted(table)
            below = [key for key in keys if key <= n_tiles]
            return table[below[-1] if below else keys[0]].at(bound) * 1e-9
        return _given(self.barrier_ns, "timing.barrier_ns", bound) * 1e-9

    def default_operating_point(self) -> OperatingPoint:
        """How the chip runs when a run does not say (see the class docstring)."""
        if self.operating_point is not None:
            return OperatingPoint.parse(self.operating_point)
        if self.mode == "barrier":
            return OperatingPoint("fast")
        if self.mode == "tick":
            slowdown = self.tick_s() / (self.dt_ms.require() * 1e-3)
            if slowdown == 1:
                return OperatingPoint("real-time")
            return OperatingPoint("slowdown", slowdown=slowdown)
        return OperatingPoint("real-time")


# Counts finer than the event kinds, made only for a descriptor that prices them (see Energy,
# Timing and SharedEncoding): they refine neuron_update, message, hop and synaptic_event.
# synaptic_event_conv counts the synaptic events of projections stored as kernels, which are
# also in synaptic_event: its energy and time are the difference from an explicit synapse's.
DETAIL_KINDS: tuple[str, ...] = (
    "neuron_changed",
    "message_in",
    "hop_east_west",
    "hop_north_south",
    "synaptic_event_conv",
)
# Work done by the core that receives: under core_work 'send_receive_max' it is timed apart.
RECEIVE_KINDS: frozenset[str] = frozenset(
    {"synaptic_event", "input_event", "learning_update", "message_in", "synaptic_event_conv"}
)
# The event kind each finer count is reported under.
REFINES: dict[str, str] = {
    "neuron_changed": "neuron_update",
    "message_in": "message",
    "hop_east_west": "hop",
    "hop_north_south": "hop",
    "synaptic_event_conv": "synaptic_event",
}

# Plausible bounds of descriptor numbers: (first key, field or None for all) -> (low, high, unit).
PLAUSIBLE: dict[tuple[str, str | None], tuple[float, float, str]] = {
    ("energy", "per_event_pj"): (0.0, 1e9, "pJ"),
    ("energy", "static_power_mw"): (0.0, 1e7, "mW"),
    ("timing", "dt_ms"): (1e-6, 1e4, "ms"),
    ("timing", "tick_ms"): (1e-6, 1e4, "ms"),
    ("timing", "barrier_ns"): (0.0, 1e9, "ns"),
    ("timing", "per_event_ns"): (0.0, 1e9, "ns"),
    ("timing", "neuron_changed_ns"): (0.0, 1e9, "ns"),
    ("timing", "message_in_ns"): (0.0, 1e9, "ns"),
    ("timing", "hop_ns_by_direction"): (0.0, 1e9, "ns"),
    ("timing", "barrier_ns_by_tiles"): (0.0, 1e9, "ns"),
    ("energy", "neuron_changed_pj"): (0.0, 1e9, "pJ"),
    ("energy", "message_in_pj"): (0.0, 1e9, "pJ"),
    ("energy", "hop_pj_by_direction"): (0.0, 1e9, "pJ"),
    ("core", "weight_bits"): (1, 64, "bits"),
    ("core", "synapse_encodings"): (1, 4096, "bits per synapse"),
    ("core", "neurons"): (1, 1e7, "neurons"),
    ("core", "synapse_memory_bits"): (1, 2.0**43, "bits"),
    ("core", "per_core"): (1, 2.0**43, ""),
    ("core", "shared_encodings"): (1, 4096, ""),
    ("core", "shared_encodings.synaptic_event_pj"): (0.0, 1e9, "pJ"),
    ("core", "shared_encodings.synaptic_event_ns"): (0.0, 1e9, "ns"),
    ("core", None): (1, 1e9, ""),
    ("topology", "cores_per_chip"): (1, 1e6, "cores"),
    ("topology", "max_chips"): (1, 1e7, "chips"),
    ("topology", None): (1, 1e6, ""),
    ("system", "board_idle_power_w"): (0.0, 1e5, "W"),
    ("system", "host_power_w"): (0.0, 1e5, "W"),
    ("system", "boot_idle_power_mw"): (0.0, 1e7, "mW"),
}


def _bound_of(loc: tuple[str | int, ...]) -> tuple[float, float, str] | None:
    if len(loc) < 2:
        return None
    section, field = str(loc[0]), str(loc[1])
    if field == "shared_encodings" and len(loc) >= 4:  # a conv event's price, not a capacity
        priced = PLAUSIBLE.get((section, f"{field}.{loc[3]}"))
        if priced is not None:
            return priced
    return PLAUSIBLE.get((section, field)) or PLAUSIBLE.get((section, None))


def _given(quantity: Quantity | None, field: str, bound: Bound = "value") -> float:
    """The value of an optional quantity that the caller needs; a clear error when absent."""
    if quantity is None:
        raise NeuroEmuError(f"the descriptor gives no {field}, which this estimate needs")
    return quantity.at(bound)


class EventEnergies(StrictModel):
    """Energy per event in pJ, one entry per event kind; ``unknown: true`` where unpublished."""

    neuron_update: NonNegative
    synaptic_event: NonNegative
    spike_out: NonNegative
    message: NonNegative
    hop: NonNegative
    chip_crossing: NonNegative
    learning_update: NonNegative
    input_event: NonNegative


class StaticPower(StrictModel):
    """Static power in mW: ``per_chip`` for every chip used, plus ``per_core`` per core used."""

    per_chip: NonNegative | None = None
    per_core: NonNegative | None = None


class System(StrictModel):
    """What powers the chips beyond the chips themselves: boards, power supplies, the host.

    Optional; it prices the ``board`` and ``wall`` scopes (``chip`` needs none of it).
    ``board_idle_power_w`` is one whole board switched on and idle (its chips, FPGAs, regulators,
    fans); without it a board costs ``chips_per_board`` chips' static power.
    ``host_power_w`` is the computer that drives the boards; ``supply_efficiency`` the fraction
    of wall power the supplies deliver. ``boot_idle_power_mw`` is one chip powered but with no
    model loaded, where a source tells it apart from the loaded idle (``static_power_mw``), so
    energy above idle can be stated against either.
    """

    board_idle_power_w: NonNegative | None = None
    host_power_w: NonNegative | None = None
    supply_efficiency: FractionQuantity | None = None
    boot_idle_power_mw: NonNegative | None = None
    boards_note: str | None = None


class Energy(StrictModel):
    """Energy model: ``marginal`` per-event figures plus static power, or ``amortised`` figures.

    An amortised figure is whole-chip power divided by event rate at one operating point; it
    already contains static power, so an amortised descriptor must not carry static power.

    Optional finer terms (SANA-FE's chip models): ``neuron_changed_pj`` for each neuron whose
    state changed in a step (non-zero potential, input received, a bias, or a spike), on top of
    ``per_event_pj.neuron_update``, which every neuron pays every step (an access);
    ``message_in_pj`` for each packet a core receives; ``hop_pj_by_direction`` prices east-west
    and north-south hops apart, replacing ``per_event_pj.hop``. Their energies are reported under
    the event kind they refine (``neuron_update``, ``message``, ``hop``).
    """

    accounting: Literal["marginal", "amortised"]
    per_event_pj: EventEnergies
    static_power_mw: StaticPower = Field(default_factory=StaticPower)
    neuron_changed_pj: NonNegative | None = None
    message_in_pj: NonNegative | None = None
    hop_pj_by_direction: HopCosts | None = None

    @model_validator(mode="after")
    def _no_double_static(self) -> Energy:
        if self.accounting == "amortised":
            for name in ("per_chip", "per_core"):
                power = getattr(self.static_power_mw, name)
                if power is not None and (power.unknown or power.value != 0):
                    raise FieldProblem(
                        ("static_power_mw", name),
                        f"accounting is 'amortised' (static power already inside the per-event "
                        f"figures) but static_power_mw.{name} is given: expected it absent or 0, "
                        f"or accounting 'marginal'",
                    )
        return self


class ChipSpec(StrictModel):
    """A neuromorphic chip as read from its descriptor file.

    Attributes mirror the YAML sections; every number is a quantity with ``value`` and ``source``.
    ``path`` is the file it was read from and ``text`` its full text (kept for provenance).
    """

    format_version: Literal[1]
    kind: Literal["chip"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str | None = None
    sources: dict[str, str] = Field(min_length=1)
    identity: Identity
    topology: Topology
    core: Core
    neuron_models: list[str] = Field(min_length=1)
    timing: Timing
    energy: Energy
    system: System = Field(default_factory=System)
    path: str = ""
    text: str = ""

    @model_validator(mode="after")
    def _plausible(self) -> ChipSpec:
        """Refuse numbers no chip has (``1e308`` pJ, 4096-bit weights, ``dt_ms: 1e-300``): they
        are typos, and would print ``inf`` or exhaust memory further on. The bounds are
        documented in chips/README.md."""
        for loc, quantity in iter_quantities(self):
            value = getattr(quantity, "value", None)
            bound = _bound_of(loc)
            if value is None or bound is None:
                continue
            low, high, unit = bound
            if not low <= value <= high:
                raise FieldProblem(
                    (*loc, "value"),
                    f"{value:g} {unit} is outside what any chip has: expected a value in "
                    f"[{low:g}, {high:g}] {unit}",
                )
        return self

    @model_validator(mode="after")
    def _per_core_count(self) -> ChipSpec:
        per_core = self.core.per_core
        if per_core is not None and len(per_core) != self.topology.cores_per_chip.require():
            raise FieldProblem(
                ("core", "per_core"),
                f"{len(per_core)} cores listed, but topology.cores_per_chip is "
                f"{self.topology.cores_per_chip.require()}: expected one entry per core",
            )
        return self

    @field_validator("neuron_models")
    @classmethod
    def _known_models(cls, models: list[str]) -> list[str]:
        for index, model in enumerate(models):
            if model not in NEURON_MODELS:
                close = difflib.get_close_matches(model, list(NEURON_MODELS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise FieldProblem(
                    (index,),
                    f"unknown neuron model {model!r}{hint}: expected names from "
                    f"{', '.join(sorted(NEURON_MODELS))}",
                )
        return models

    @cached_property
    def cores_per_chip(self) -> int:
        return self.topology.cores_per_chip.require()

    @cached_property
    def max_chips(self) -> int | None:
        limit = self.topology.max_chips
        return limit.require() if limit is not None else None

    def energy_pj(self, kind: str, bound: Bound = "value") -> float | None:
        """Energy of one event of ``kind`` in pJ (its value or an end of its range); ``None``
        when the descriptor marks it unknown."""
        quantity = getattr(self.energy.per_event_pj, kind)
        return None if quantity.unknown else quantity.at(bound)

    def time_ns(self, kind: str, bound: Bound = "value") -> float:
        """Time one event of ``kind`` occupies its core in ns (0 when the descriptor gives none)."""
        quantity = self.timing.per_event_ns.get(kind)
        if quantity is None or quantity.unknown:
            return 0.0
        return quantity.at(bound)

    def has_time_ranges(self) -> bool:
        """True when some per-event time or the barrier has a range (time on chip has bounds)."""
        timed = iter_quantities(self.timing)
        conv_ns = self.conv_prices()[1]
        if conv_ns is not None and conv_ns.range is not None:
            return True
        return any(q.range is not None for loc, q in timed if loc[0] not in ("dt_ms", "tick_ms"))

    def conv_prices(self) -> tuple[Quantity | None, Quantity | None]:
        """The energy and time of one synaptic event of a kernel-stored projection, where the
        descriptor gives them apart (``core.shared_encodings.conv``); None where it does not."""
        conv = self.core.conv_encoding
        if conv is None:
            return None, None
        return conv.synaptic_event_pj, conv.synaptic_event_ns

    def detail_kinds(self) -> tuple[str, ...]:
        """The finer counts (:data:`DETAIL_KINDS`) this descriptor prices or times."""
        energy, timing = self.energy, self.timing
        wanted = {
            "neuron_changed": energy.neuron_changed_pj is not None
            or timing.neuron_changed_ns is not None,
            "message_in": energy.message_in_pj is not None or timing.message_in_ns is not None,
            "hop_east_west": energy.hop_pj_by_direction is not None
            or timing.hop_ns_by_direction is not None,
        }
        wanted["hop_north_south"] = wanted["hop_east_west"]
        wanted["synaptic_event_conv"] = self.conv_prices() != (None, None)
        return tuple(kind for kind in DETAIL_KINDS if wanted[kind])

    def needs_changed_neurons(self) -> bool:
        """True when pricing needs to know which neurons changed state in each step (the engine
        then records it)."""
        return "neuron_changed" in self.detail_kinds()

    def detail_energy_pj(self, kind: str, bound: Bound = "value") -> float | None:
        """Energy of one finer event (:data:`DETAIL_KINDS`) in pJ: 0 where the descriptor gives
        none, ``None`` where it marks it unknown.

        A ``synaptic_event_conv`` is also counted as a ``synaptic_event``: its energy here is
        what it costs beyond an explicit synaptic event (negative where it costs less), so that
        ``synaptic_event x explicit + synaptic_event_conv x this`` prices every projection at
        its own per-event cost.
        """
        energy = self.energy
        quantity: Quantity | None
        if kind == "synaptic_event_conv":
            conv = self.conv_prices()[0]
            explicit = self.energy_pj("synaptic_event", bound)
            if conv is None:
                return 0.0
            if conv.unknown or explicit is None:
                return None
            return conv.at(bound) - explicit
        if kind.startswith("hop_"):
            hops = energy.hop_pj_by_direction
            quantity = None if hops is None else getattr(hops, kind[4:])
        elif kind == "neuron_changed":
            quantity = energy.neuron_changed_pj
        else:
            quantity = energy.message_in_pj
        if quantity is None:
            return 0.0
        return None if quantity.unknown else quantity.at(bound)

    def work_ns(self, bound: Bound = "value") -> dict[str, float]:
        """Count name (event kind or finer count) -> time one such event occupies its core, in
        ns, for every name with a non-zero time.

        With ``hop_ns_by_direction`` the hops are timed by direction, not as ``hop``. A
        ``synaptic_event_conv`` (also counted as a ``synaptic_event``) takes the difference
        between the conv and the explicit time, so the two add up to the conv time.
        """
        timing = self.timing
        times = {kind: self.time_ns(kind, bound) for kind in EVENT_KINDS}
        conv_ns = self.conv_prices()[1]
        if conv_ns is not None:
            times["synaptic_event_conv"] = conv_ns.at(bound) - times["synaptic_event"]
        for name, quantity in (
            ("neuron_changed", timing.neuron_changed_ns),
            ("message_in", timing.message_in_ns),
        ):
            if quantity is not None:
                times[name] = quantity.at(bound)
        if timing.hop_ns_by_direction is not None:
            times["hop_east_west"] = timing.hop_ns_by_direction.at("east_west", bound)
            times["hop_north_south"] = timing.hop_ns_by_direction.at("north_south", bound)
        return {name: time for name, time in times.items() if time}

    def static_power_mw(self, n_chips: int, n_cores: int, bound: Bound = "value") -> float | None:
        """Static power of ``n_chips`` chips with ``n_cores`` cores in use in mW (None: unknown)."""
        total = 0.0
        for power, count in (
            (self.energy.static_power_mw.per_chip, n_chips),
            (self.energy.static_power_mw.per_core, n_cores),
        ):
            if power is None:
                continue
            if power.unknown:
                return None
            total += power.at(bound) * count
        return total

    def n_boards(self, n_chips: int) -> int:
        """Boards that ``n_chips`` chips occupy (whole boards are switched on)."""
        return math.ceil(n_chips / self.topology.chips_per_board.require())

    def with_timestep(self, dt_ms: float) -> ChipSpec:
        """This chip emulated at another timestep (``--dt-ms``), everything else unchanged.

        The new ``timing.dt_ms`` says in its note that the user set it and what the descriptor
        gives, so reports and ``chips show`` never pass it off as the descriptor's.
        """
        low, high, _ = PLAUSIBLE[("timing", "dt_ms")]
        if not (math.isfinite(dt_ms) and low <= dt_ms <= high):
            raise NeuroEmuError(
                f"dt_ms must lie in [{low:g}, {high:g}] ms (the bounds of a descriptor's "
                f"timing.dt_ms), got {dt_ms!r}"
            )
        own = self.timing.dt_ms.require()
        quantity = Positive(
            value=dt_ms,
            estimated=True,
            note=f"set by the user (--dt-ms); the descriptor {self.path or self.name} gives "
            f"{own:g} ms",
        )
        timing = self.timing.model_copy(update={"dt_ms": quantity})
        return self.model_copy(update={"timing": timing})

    def chip_grid(self, n_chips: int) -> tuple[int, int]:
        """Width and height (in chips) of the grid that ``n_chips`` chips are laid out on."""
        width = math.ceil(math.sqrt(n_chips))
        return width, math.ceil(n_chips / width)


def bundled_chip_dir() -> Path:
    """Folder of the chip descriptors shipped with neuroemu."""
    return data_dir(BUNDLES["chip"].folder)


def bundled_chip_names() -> list[str]:
    """Names of the bundled chip descriptors (file stems)."""
    return bundled_names("chip")


def resolve_descriptor(name_or_path: str | Path, kind: str) -> Path:
    """A path as given, or the bundled descriptor of ``kind`` of that name; a clear error if
    neither."""
    found = find(name_or_path, (kind,))
    if found is None:
        raise DescriptorError(str(name_or_path), None, "", not_found(name_or_path, (kind,)))
    return found[0]


def parse_chip(text: str, path: str = "<string>") -> ChipSpec:
    """Validate descriptor text and return the :class:`ChipSpec` (``path`` used in messages)."""
    return parse_descriptor(ChipSpec, text, path, kind="chip")


def load_chip(name_or_path: str | Path) -> ChipSpec:
    """Load a chip descriptor by bundled name (``loihi``) or by path (``my_chip.yaml``).

    Raises
    ------
    DescriptorError
        With file, line, field, what was expected and what was found.
    """
    path = resolve_descriptor(name_or_path, "chip")
    return parse_chip(read_text(path), str(path))
