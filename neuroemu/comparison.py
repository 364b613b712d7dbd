"""One network's activity priced on several chips and GPUs, without simulating again.

The network runs once (on the first chip, with its timestep and weight precision); the same
activity is then mapped and counted on every other chip and priced on every GPU in both execution
styles. ``neuroemu run`` (with more than one ``--chip`` or any ``--gpu``) and ``neuroemu compare``
print the rows of :func:`comparison_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neuroemu.accounting import count_events, estimate_energy
from neuroemu.activity import Activity
from neuroemu.errors import CapacityError, GpuMemoryError
from neuroemu.gpu.model import STYLES, gpu_baseline, step_activity
from neuroemu.mapping.mapping import map_network
from neuroemu.network.network import Network
from neuroemu.operating_point import OperatingPoint
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec
from neuroemu.spec.gpu import GpuSpec

COLUMNS = (
    "device",
    "kind",
    "style",
    "method",
    "scope",
    "energy_j",
    "energy_low_j",
    "energy_high_j",
    "time_s",
    "energy_per_synaptic_event_pj",
    "energy_delay_product_js",
    "ratio_to_best_gpu",
)


def comparison_rows(reports: list[EnergyReport]) -> list[dict[str, Any]]:
    """One row per report: energy, time, energy per synaptic event, energy-delay product, and
    energy relative to the lowest-energy GPU report (``None`` when there is none or unpriced)."""
    gpu_totals = [r.total_j for r in reports if r.device_kind == "gpu" and r.total_j is not None]
    best_j = min(gpu_totals) if gpu_totals else None
    rows = []
    for r in reports:
        total = r.total_j
        rows.append(
            {
                "device": r.device,
                "kind": r.device_kind,
                "style": r.style,
                "method": r.method,
                "scope": r.scope,
                "energy_j": total,
                "energy_low_j": r.bounds("total_j")[1],
                "energy_high_j": r.bounds("total_j")[2],
                "time_s": r.time_s,
                "energy_per_synaptic_event_pj": r.energy_per_synaptic_event_pj,
                "energy_delay_product_js": r.energy_delay_product_js,
                "ratio_to_best_gpu": None if total is None or not best_j else total / best_j,
            }
        )
    return rows


def price_on_chip(
    network: Network,
    activity: Activity,
    chip: ChipSpec,
    strategy: str = "fill",
    n_chips: int | None = None,
    operating_point: str | None = None,
    scope: str = "chip",
) -> EnergyReport:
    """Map ``network`` onto ``chip`` and price the given ``activity`` there (no new run), at
    an operating point (default: the chip's own) and a scope."""
    network = network.chip_view()  # host-side populations are the chip's inputs
    mapping = map_network(network, chip, strategy=strategy, n_chips=n_chips)
    point = None if operating_point is None else OperatingPoint.parse(operating_point)
    return estimate_energy(count_events(network, activity, mapping), chip, point, scope)


def price_elsewhere(
    network: Network,
    activity: Activity,
    chips: Sequence[ChipSpec],
    gpus: Sequence[GpuSpec],
    strategy: str = "fill",
    n_chips: int | None = None,
    gpu_scope: str = "board",
    operating_point: str | None = None,
    scope: str = "chip",
) -> tuple[list[EnergyReport], list[str]]:
    """Price one run's activity on more chips and on GPUs.

    Returns
    -------
    reports : list of EnergyReport
        One per chip the network fits on, then one per GPU and execution style.
    notes : list of str
        A chip the network does not fit on (with the reason), and a chip priced on activity run
        at another timestep than its own.
    """
    reports: list[EnergyReport] = []
    notes: list[str] = []
    for chip in chips:
        try:
            reports.append(
                price_on_chip(network, activity, chip, strategy, n_chips, operating_point, scope)
            )
        except CapacityError as exc:
            notes.append(f"{chip.name}: does not fit: {exc}")
            continue
        own_dt = chip.timing.dt_ms.require()
        if own_dt != activity.dt_ms:
            notes.append(
                f"{chip.name}: priced on the activity run at dt {activity.dt_ms:g} ms "
                f"(its own timestep is {own_dt:g} ms)"
            )
    gpu_reports, gpu_notes = price_on_gpus(network, activity, gpus, gpu_scope)
    return reports + gpu_reports, notes + gpu_notes


def price_on_gpus(
    network: Network, activity: Activity, gpus: Sequence[GpuSpec], scope: str = "board"
) -> tuple[list[EnergyReport], list[str]]:
    """Every GPU in both execution styles; a style the network does not fit is a note.

    The per-step activity the GPU model reads is computed once for all of them.
    """
    reports: list[EnergyReport] = []
    notes: list[str] = []
    steps = step_activity(network, activity) if gpus else None
    for gpu in gpus:
        for style in STYLES:
            try:
                reports.append(
                    gpu_baseline(network, activity, gpu, style=style, scope=scope, steps=steps)
                )
            except GpuMemoryError as exc:
                notes.append(str(exc))
    return reports, notes
