"""Energy and time on the chip from exact event counts (:func:`estimate_energy`).

Energy is the price table applied to the counts (Accelergy style): dynamic energy per kind and
per core, static power x time on chip, and a total that is their sum. Time on chip comes from a
latency model and an operating point (:mod:`neuroemu.operating_point`): per step, a barrier chip
works as long as its busiest core plus the barrier, a tick chip as long as its busiest core, an
asynchronous chip in biological time; the operating point then sets the shortest a step (or an
inference) may last, and a step whose work takes longer is an overrun, reported.

A descriptor may price more finely, as the architecture simulators' chip models do (SANA-FE):
an update only for neurons whose state changed, packets in, hops by direction, send and receive
work as separate maxima, a barrier by tiles in use (see :class:`~neuroemu.spec.chip.Timing` and
:class:`~neuroemu.spec.chip.Energy`), a synaptic event of a kernel-stored (convolutional)
projection at its own price (:class:`~neuroemu.spec.chip.SharedEncoding`). Those finer counts are
priced under the event kind they refine, so a report keeps one vocabulary: a core's
``synaptic_event`` energy is then its explicit events x ``per_event_pj.synaptic_event`` plus its
conv events x ``core.shared_encodings.conv.synaptic_event_pj``.

The scope says what the energy covers: ``chip`` (the chips the mapping uses), ``board`` (every
chip of the whole boards switched on, or the board's own idle power where the descriptor gives
it) and ``wall`` (the boards through their power supplies, plus the host computer where the
descriptor gives its power; a note says when it does not). Every figure
is also priced at the low and the high end of the descriptor's ranges (``EnergyReport.low`` and
``.high``): energy and time grow with every per-event energy, per-event time and static power, so
the ends of the ranges bound the result.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from neuroemu.accounting.counting import EventCounts
from neuroemu.errors import NeuroEmuError
from neuroemu.events import EVENT_KINDS
from neuroemu.operating_point import OperatingPoint, Timing, time_under
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import REFINES, ChipSpec
from neuroemu.spec.descriptor import Bound, iter_quantities

SCOPES = ("chip", "board", "wall")


def time_on_chip(
    counts: EventCounts,
    chip: ChipSpec,
    operating_point: OperatingPoint | None = None,
    bound: Bound = "value",
) -> tuple[Timing, list[str]]:
    """Time the chip takes for the run at an operating point (the chip's own by default)."""
    point = operating_point or chip.timing.default_operating_point()
    notes = []
    dt_ms = counts.dt_ms
    if chip.timing.mode == "async":
        notes.append("asynchronous chip: its work runs in biological time")
        work = np.full(counts.n_steps, dt_ms * 1e-3)
    else:
        work = counts.step_work_at(bound) * 1e-9
        if chip.timing.mode == "barrier":
            if chip.timing.barrier_ns_by_tiles is not None and counts.n_tiles_used is None:
                raise NeuroEmuError(
                    f"{chip.name!r} sets its barrier by the tiles in use, but these counts were "
                    f"made without them (counted for {counts.chip_name!r}, or read from a trace "
                    f"that does not keep them): count the run again with this chip's mapping"
                )
            work = work + chip.timing.barrier_s(bound, counts.n_tiles_used)
    inference_steps = None
    if counts.inference_ms:
        inference_steps = max(round(counts.inference_ms / dt_ms), 1)
    timing = time_under(point, work, dt_ms, inference_steps)
    overrun = timing.note(point)
    if overrun is not None:
        notes.append(overrun)
    return timing, notes


def time_on_chip_s(counts: EventCounts, chip: ChipSpec) -> tuple[float, list[str]]:
    """Time the chip takes for the run at its own operating point, and notes about it."""
    timing, notes = time_on_chip(counts, chip)
    return timing.time_s, notes


def estimate_energy(
    counts: EventCounts,
    chip: ChipSpec,
    operating_point: OperatingPoint | None = None,
    scope: str = "chip",
    n_boards: int | None = None,
) -> EnergyReport:
    """Price ``counts`` with ``chip``'s energy table: dynamic per kind and core, static, total.

    Parameters
    ----------
    counts : EventCounts
        Exact counts of the run on the chip's mapping.
    chip : ChipSpec
        The descriptor (the one the counts were made with).
    operating_point : OperatingPoint or None
        How the chip is run (default: the descriptor's, see
        :meth:`~neuroemu.spec.chip.Timing.default_operating_point`).
    scope : str
        ``chip``, ``board`` or ``wall`` (see the module docstring).
    n_boards : int or None
        Boards switched on, where a published setup states it (default: as many as the chips
        used fill, ``ceil(n_chips / chips_per_board)``).

    Returns
    -------
    EnergyReport
        With ``low`` and ``high``: the same report at the ends of the descriptor's ranges.

    Raises
    ------
    NeuroEmuError
        For an unknown scope, or fewer boards than the chips used need.

    An event kind whose energy the descriptor marks unknown is priced only if it did not occur;
    otherwise it is listed in ``unpriced`` and the totals are ``None`` (never zero).
    """
    if scope not in SCOPES:
        raise NeuroEmuError(f"unknown scope {scope!r}: expected one of {', '.join(SCOPES)}")
    point = operating_point or chip.timing.default_operating_point()
    boards = None
    if scope != "chip":
        boards = n_boards if n_boards is not None else chip.n_boards(counts.n_chips)
        capacity = boards * chip.topology.chips_per_board.require()
        if boards < 1 or capacity < counts.n_chips:
            raise NeuroEmuError(
                f"{boards} board(s) of {chip.name!r} hold {capacity} chip(s), but the mapping "
                f"uses {counts.n_chips}: expected at least {chip.n_boards(counts.n_chips)} boards"
            )
    report = _price(counts, chip, point, scope, boards, "value")
    if not _has_ranges(chip):
        return report
    return replace(
        report,
        low=_price(counts, chip, point, scope, boards, "low"),
        high=_price(counts, chip, point, scope, boards, "high"),
    )


def _has_ranges(chip: ChipSpec) -> bool:
    """True when a quantity that prices or times a run has a range."""
    priced = (chip.energy, chip.timing, chip.system)
    if any(q is not None and q.range is not None for q in chip.conv_prices()):
        return True
    return any(q.range is not None for part in priced for _, q in iter_quantities(part))


def _price(
    counts: EventCounts,
    chip: ChipSpec,
    point: OperatingPoint,
    scope: str,
    boards: int | None,
    bound: Bound,
) -> EnergyReport:
    timing, notes = time_on_chip(counts, chip, point, bound)
    time_s = timing.time_s
    dynamic: dict[str, float | None] = {}
    unpriced = []
    per_core = np.zeros(counts.n_cores)
    by_direction = chip.energy.hop_pj_by_direction is not None
    for kind in EVENT_KINDS:
        energy = chip.energy_pj(kind, bound)
        events = counts.per_core[kind]
        if kind == "hop" and by_direction:
            continue  # priced by direction below
        if energy is None:
            if events.sum() > 0:
                dynamic[kind] = None
                unpriced.append(kind)
            else:
                dynamic[kind] = 0.0
            continue
        dynamic[kind] = float(events.sum()) * energy
        per_core += events * energy
    _price_detail(counts, chip, bound, dynamic, per_core, unpriced)
    static_mw = _static_mw(counts, chip, scope, boards, bound, notes)
    if static_mw is None:
        unpriced.append("static")
        static_pj = None
    else:
        static_pj = static_mw * 1e-3 * time_s * 1e12
    if scope == "wall":
        _add_wall(dynamic, static_pj, chip, time_s, bound, unpriced, notes)
    n_inferences = None
    if counts.inference_ms:
        n_inferences = counts.simulated_ms / counts.inference_ms
    if chip.energy.accounting == "amortised":
        notes.append("amortised per-event energies: static power is inside them, not added")
    return EnergyReport(
        device=chip.name,
        device_kind="chip",
        style=chip.energy.accounting,
        method="model",
        scope=scope,
        simulated_ms=counts.simulated_ms,
        time_s=time_s,
        dynamic_pj=dynamic,
        static_pj=static_pj,
        counts=counts.totals(),
        per_core_pj=None if unpriced else per_core,
        unpriced=tuple(unpriced),
        n_inferences=n_inferences,
        notes=tuple(notes),
        operating_point=point.label,
    )


def _price_detail(
    counts: EventCounts,
    chip: ChipSpec,
    bound: Bound,
    dynamic: dict[str, float | None],
    per_core: np.ndarray,
    unpriced: list[str],
) -> None:
    """Add the finer counts' energy to the event kind each refines (``neuron_changed`` to
    ``neuron_update``, ``message_in`` to ``message``, hops by direction to ``hop``, conv
    synaptic events, already priced as explicit ones, their difference to ``synaptic_event``);
    an unknown energy of events that occurred leaves the kind unpriced (None), never zero."""
    missing = [kind for kind in chip.detail_kinds() if kind not in counts.detail_per_core]
    if missing:
        raise NeuroEmuError(
            f"{chip.name!r} prices {', '.join(missing)}, but these counts were made without "
            f"them (counted for {counts.chip_name!r}, or read from a trace that does not keep "
            f"them): count the run again with this chip's mapping"
        )
    if chip.energy.hop_pj_by_direction is not None:
        dynamic["hop"] = 0.0
    for kind in chip.detail_kinds():
        refined = REFINES[kind]
        energy = chip.detail_energy_pj(kind, bound)
        events = counts.detail_per_core[kind]
        if energy is None:
            if events.sum() > 0 and dynamic.get(refined) is not None:
                dynamic[refined] = None
                unpriced.append(refined)
            continue
        if dynamic.get(refined) is not None:
            dynamic[refined] = (dynamic[refined] or 0.0) + float(events.sum()) * energy
        per_core += events * energy


def _static_mw(
    counts: EventCounts,
    chip: ChipSpec,
    scope: str,
    boards: int | None,
    bound: Bound,
    notes: list[str],
) -> float | None:
    """Static power of what the scope covers, in mW (None: the descriptor marks it unknown)."""
    if scope == "chip" or boards is None:
        return chip.static_power_mw(counts.n_chips, counts.n_cores_used, bound)
    per_board = chip.topology.chips_per_board.require()
    board = chip.system.board_idle_power_w
    if board is None:
        notes.append(
            f"{scope} scope: {boards} board(s) of {per_board} chips switched on, every chip at "
            f"its static power (the descriptor gives no board power)"
        )
        return chip.static_power_mw(boards * per_board, counts.n_cores_used, bound)
    if board.unknown:
        return None
    cores = chip.static_power_mw(0, counts.n_cores_used, bound)
    if cores is None:
        return None
    notes.append(f"{scope} scope: {boards} board(s) of {per_board} chips switched on")
    return boards * board.at(bound) * 1e3 + cores


def _add_wall(
    dynamic: dict[str, float | None],
    static_pj: float | None,
    chip: ChipSpec,
    time_s: float,
    bound: Bound,
    unpriced: list[str],
    notes: list[str],
) -> None:
    """Wall scope: the supplies' loss on everything the boards draw, and the host computer."""
    system = chip.system
    efficiency = system.supply_efficiency
    drawn = [v for v in dynamic.values()] + [static_pj]
    if efficiency is None:
        notes.append("wall scope: the descriptor gives no supply efficiency (none added)")
    elif efficiency.unknown or any(v is None for v in drawn):
        dynamic["supply_loss"] = None
        unpriced.append("supply_loss")
    else:
        boards_pj = sum(v for v in drawn if v is not None)
        # Energy falls as efficiency rises: the high end of the energy takes the low efficiency.
        flipped: Bound = "high" if bound == "low" else "low" if bound == "high" else "value"
        dynamic["supply_loss"] = boards_pj * (1.0 / efficiency.at(flipped) - 1.0)
    host = system.host_power_w
    if host is None:
        notes.append(
            "wall scope without a host: the descriptor gives no host power (system.host_power_w)"
        )
    elif host.unknown:
        dynamic["host"] = None
        unpriced.append("host")
    else:
        dynamic["host"] = host.at(bound) * time_s * 1e12
