"""Text and JSON for the terminal: every table the commands print is drawn here, once.

The library returns plain data (reports, summaries, rows); this module turns it into aligned
tables (tabulate) and JSON. Energies arrive in pJ or J and are shown with SI prefixes
(:func:`neuroemu.units.format_si`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click
import numpy as np
from tabulate import tabulate

from neuroemu.comparison import COLUMNS, comparison_rows
from neuroemu.events import EVENT_KINDS
from neuroemu.report import EnergyReport
from neuroemu.units import format_si

if TYPE_CHECKING:
    from neuroemu.pipeline import RunResult


def pj(value: float | None) -> str:
    """An energy given in pJ, shown in joules with an SI prefix (``unpriced`` for None)."""
    return format_si(None if value is None else value * 1e-12, "J")


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON; numpy scalars and arrays become plain numbers and lists."""
    click.echo(json.dumps(data, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer | np.floating):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def mapping_lines(result: RunResult) -> list[str]:
    """Chips and cores used, utilisation per resource, and the mapping's warnings."""
    mapping = result.mapping
    lines = [
        f"chip {result.chip.name}: {mapping.n_chips} chip(s), {mapping.n_cores_used} of "
        f"{mapping.n_cores} cores used, strategy {mapping.strategy}",
    ]
    rows = []
    for name, values in mapping.utilisation().items():
        rows.append(
            [
                name,
                f"{100 * values.min():.1f}%",
                f"{100 * values.mean():.1f}%",
                f"{100 * values.max():.1f}%",
            ]
        )
    if rows:
        lines.append(tabulate(rows, headers=["resource", "min", "mean", "max"]))
    lines += [f"warning: {w}" for w in mapping.warnings]
    return lines


def energy_table(report: EnergyReport) -> str:
    """Events, energy and share of the total per event kind, then static and total."""
    rows = []
    total = report.total_pj
    for kind in EVENT_KINDS:
        events = report.counts.get(kind, 0)
        energy = report.dynamic_pj.get(kind)
        share = "" if total in (None, 0) or energy is None else f"{100 * energy / total:.1f}%"
        rows.append([kind, f"{events:,}", pj(energy), share])
    static = report.static_pj
    rows.append(
        [
            "static",
            "",
            pj(static),
            "" if total in (None, 0) or static is None else f"{100 * static / total:.1f}%",
        ]
    )
    rows.append(["total", "", format_si(report.total_j, "J"), ""])
    return tabulate(
        rows,
        headers=["event kind", "events", "energy", "share"],
        colalign=("left", "right", "right", "right"),
    )


def top_cores(result: RunResult, n: int = 5) -> str:
    """The ``n`` cores with the most dynamic energy."""
    per_core = result.report.per_core_pj
    if per_core is None:
        return "per-core energy: unpriced (see above)"
    order = np.argsort(per_core)[::-1][:n]
    rows = []
    for core in order:
        if per_core[core] <= 0:
            continue
        chip, local = divmod(int(core), result.mapping.cores_per_chip)
        rows.append(
            [
                int(core),
                chip,
                local,
                int(result.mapping.usage["neurons"][core]),
                f"{result.counts.per_core['synaptic_event'][core]:,}",
                pj(per_core[core]),
            ]
        )
    return tabulate(
        rows, headers=["core", "chip", "local", "neurons", "synaptic events", "dynamic energy"]
    )


def headline_lines(report: EnergyReport) -> list[str]:
    """Time on the device and the energy figures people quote, one per line."""
    lines = [
        f"time on {report.device}: {format_si(report.time_s, 's')} for {report.simulated_ms:g} ms "
        f"simulated (real-time factor {report.real_time_factor:.3g})",
        "energy per synaptic event: " + pj(report.energy_per_synaptic_event_pj),
        f"energy per simulated second: {format_si(report.energy_per_simulated_second_j, 'J')}",
        f"energy-delay product: {format_si(report.energy_delay_product_js, 'J·s')}",
    ]
    if report.energy_per_inference_j is not None:
        lines.append(f"energy per inference: {format_si(report.energy_per_inference_j, 'J')}")
    if report.unpriced:
        lines.append(
            f"could not price: {', '.join(report.unpriced)} (the descriptor marks these energies "
            f"unknown), so totals are not given"
        )
    lines += [f"note: {note}" for note in report.notes]
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def format_comparison(reports: list[EnergyReport]) -> str:
    """Reports side by side as a plain-text table (columns named with their units)."""
    rows = comparison_rows(reports)
    table = [[_cell(row[c]) for c in COLUMNS] for row in rows]
    headers = [c.replace("energy_per_synaptic_event_pj", "pj_per_synaptic_event") for c in COLUMNS]
    return tabulate(table, headers=headers, disable_numparse=True)
