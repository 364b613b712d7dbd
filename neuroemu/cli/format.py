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


def ranged(report: EnergyReport, name: str, unit: str, scale: float = 1.0) -> str:
    """A report's figure with its range: ``1.2 mJ [1.0 mJ-1.5 mJ]`` (no brackets when the
    descriptor gives no ranges, so the ends equal the value)."""
    value, low, high = (None if v is None else v * scale for v in report.bounds(name))
    text = format_si(value, unit)
    if value is None or low is None or high is None or low == high == value:
        return text
    return f"{text} [{format_si(low, unit)}-{format_si(high, unit)}]"


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
    for part, energy in report.dynamic_pj.items():
        if part not in EVENT_KINDS:  # host, supply loss (wall scope)
            share = "" if total in (None, 0) or energy is None else f"{100 * energy / total:.1f}%"
            rows.append([part, "", pj(energy), share])
    rows.append(["total", "", ranged(report, "total_j", "J"), ""])
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
    point = f", {report.operating_point}" if report.operating_point else ""
    lines = [
        f"time on {report.device}: {ranged(report, 'time_s', 's')} for "
        f"{report.simulated_ms:g} ms simulated (real-time factor "
        f"{report.real_time_factor:.3g}{point})",
        f"energy at {report.scope} scope: {ranged(report, 'total_j', 'J')}",
        "energy per synaptic event: "
        + ranged(report, "energy_per_synaptic_event_pj", "J", scale=1e-12),
        f"energy per simulated second: {ranged(report, 'energy_per_simulated_second_j', 'J')}",
        f"energy-delay product: {ranged(report, 'energy_delay_product_js', 'J·s')}",
    ]
    if report.energy_per_inference_j is not None:
        lines.append(f"energy per inference: {ranged(report, 'energy_per_inference_j', 'J')}")
    if report.unpriced:
        lines.append(
            f"could not price: {', '.join(report.unpriced)} (the descriptor marks these "
            f"unknown or does not give them), so totals are not given"
        )
    lines += [f"note: {note}" for note in report.notes]
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def scope_lines(reports: dict[str, EnergyReport]) -> list[str]:
    """One line per scope: what it covers and its energy with range."""
    return [
        f"  {scope:<5} {ranged(report, 'total_j', 'J'):>28}   per synaptic event "
        + ranged(report, "energy_per_synaptic_event_pj", "J", scale=1e-12)
        + (f"   (not priced: {', '.join(report.unpriced)})" if report.unpriced else "")
        for scope, report in reports.items()
    ]


def format_comparison(reports: list[EnergyReport]) -> str:
    """Reports side by side as a plain-text table (columns named with their units)."""
    rows = comparison_rows(reports)
    shown = [c for c in COLUMNS if c not in ("energy_low_j", "energy_high_j")]
    table = []
    for row in rows:
        cells = {c: _cell(row[c]) for c in shown}
        low, high = row["energy_low_j"], row["energy_high_j"]
        if row["energy_j"] is not None and low is not None and high is not None and low != high:
            cells["energy_j"] += f" [{low:.3g}-{high:.3g}]"
        table.append([cells[c] for c in shown])
    headers = [c.replace("energy_per_synaptic_event_pj", "pj_per_synaptic_event") for c in shown]
    return tabulate(table, headers=headers, disable_numparse=True)
