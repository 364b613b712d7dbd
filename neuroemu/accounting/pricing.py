"""Energy and time on the chip from exact event counts (:func:`estimate_energy`).

Energy is the price table applied to the counts (Accelergy style): dynamic energy per kind and
per core, static power x time on chip, and a total that is their sum. Time on chip comes from a
latency model: a barrier-synchronised step lasts as long as its busiest core's work plus the
barrier; a real-time chip's step lasts its tick unless the busiest core overruns it.
"""

from __future__ import annotations

import numpy as np

from neuroemu.accounting.counting import EventCounts
from neuroemu.events import EVENT_KINDS
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec


def time_on_chip_s(counts: EventCounts, chip: ChipSpec) -> tuple[float, list[str]]:
    """Time the chip takes for the run under its timing mode, and notes about it."""
    notes = []
    simulated_s = counts.simulated_ms * 1e-3
    mode = chip.timing.mode
    if mode == "async":
        notes.append("asynchronous chip: runs in real time, time on chip = simulated time")
        return simulated_s, notes
    work_s = counts.step_work_ns * 1e-9
    if mode == "barrier":
        return float(work_s.sum() + counts.n_steps * chip.timing.barrier_s()), notes
    tick_s = chip.timing.tick_s()
    overrun = int(np.count_nonzero(work_s > tick_s))
    if overrun:
        notes.append(
            f"{overrun} of {counts.n_steps} steps overran the {tick_s * 1e3:g} ms real-time tick"
        )
    return float(np.maximum(work_s, tick_s).sum()), notes


def estimate_energy(counts: EventCounts, chip: ChipSpec) -> EnergyReport:
    """Price ``counts`` with ``chip``'s energy table: dynamic per kind and core, static, total.

    An event kind whose energy the descriptor marks unknown is priced only if it did not occur;
    otherwise it is listed in ``unpriced`` and the totals are ``None`` (never zero).
    """
    time_s, notes = time_on_chip_s(counts, chip)
    dynamic: dict[str, float | None] = {}
    unpriced = []
    per_core = np.zeros(counts.n_cores)
    for kind in EVENT_KINDS:
        energy = chip.energy_pj(kind)
        events = counts.per_core[kind]
        if energy is None:
            if events.sum() > 0:
                dynamic[kind] = None
                unpriced.append(kind)
            else:
                dynamic[kind] = 0.0
            continue
        dynamic[kind] = float(events.sum()) * energy
        per_core += events * energy
    static_mw = chip.static_power_mw(counts.n_chips, counts.n_cores_used)
    if static_mw is None:
        unpriced.append("static")
        static_pj = None
    else:
        static_pj = static_mw * 1e-3 * time_s * 1e12
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
        scope="chip",
        simulated_ms=counts.simulated_ms,
        time_s=time_s,
        dynamic_pj=dynamic,
        static_pj=static_pj,
        counts=counts.totals(),
        per_core_pj=None if unpriced else per_core,
        unpriced=tuple(unpriced),
        n_inferences=n_inferences,
        notes=tuple(notes),
    )
