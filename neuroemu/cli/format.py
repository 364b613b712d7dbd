"""Text and JSON for the terminal: every table the commands print is drawn here, once.

The library returns plain data (reports, summaries, rows); this module turns it into aligned
tables (tabulate) and JSON. Energies arrive in pJ or J and are shown with SI prefixes
(:func:`neuroemu.units.format_si`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
import numpy as np
from tabulate import tabulate

from neuroemu.comparison import COLUMNS, comparison_rows
from neuroemu.events import EVENT_KINDS
from neuroemu.report import EnergyReport
from neuroemu.units import format_si

if TYPE_CHECKING:
    from neuroemu.accounting.inferences import InferenceResults
    from neuroemu.accounting.layers import LayerReport
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
    """The ``n`` cores with the most dynamic energy, and how many busy cores it leaves out."""
    per_core = result.report.per_core_pj
    if per_core is None:
        return "per-core energy: unpriced (see above)"
    busy = int(np.count_nonzero(per_core > 0))
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
    table = tabulate(
        rows, headers=["core", "chip", "local", "neurons", "synaptic events", "dynamic energy"]
    )
    left_out = busy - len(rows)
    if left_out > 0:
        table += (
            f"\n({left_out:,} more core(s) with energy not shown; --json has every core, "
            f"--by population the layers)"
        )
    return table


def layer_table(layers: LayerReport, by: str) -> str:
    """Per-population (or per-projection) rows: events, dynamic energy, work share and the
    NeuroBench figures, then a total row that equals the run's totals."""
    rows = layers.group_rows() if by == "population" else layers.projection_rows()
    columns: list[tuple[str, str, Callable[[Any], str]]] = [
        ("name", "name", str),
        ("size" if by == "population" else "pre", "size" if by == "population" else "pre", str),
        ("spike_out" if by == "population" else "post", "spikes" if by == "population" else "post",
         str),
        ("synaptic_event", "synaptic events", lambda v: f"{int(v):,}"),
        ("dynamic_pj", "dynamic energy", lambda v: "unpriced" if v is None else pj(v)),
        ("work_share", "work share", lambda v: f"{100 * v:.1f} %"),
        ("effective_acs", "synaptic ops (NeuroBench)", lambda v: f"{int(v):,}"),
    ]  # fmt: skip
    if by == "population":
        columns.append(("activation_sparsity", "activation sparsity", lambda v: f"{v:.3f}"))
    else:
        columns.append(("connection_sparsity", "connection sparsity", lambda v: f"{v:.3f}"))
    body = [[show(row.get(key)) if row.get(key) is not None or key == "dynamic_pj" else ""
             for key, _, show in columns] for row in rows]  # fmt: skip
    totals = layers.to_dict()["neurobench"]
    energies = [row.get("dynamic_pj") for row in rows]
    # Projection rows hold only synaptic and learning events, so their shares need not reach 100 %.
    share = sum(float(r.get("work_share") or 0.0) for r in rows)
    events = sum(int(r.get("synaptic_event") or 0) for r in rows)
    acs = int(sum(r.get("effective_acs") or 0 for r in rows))
    energy = "unpriced" if None in energies else pj(sum(e or 0.0 for e in energies))
    total_row = ["total", "", "", f"{events:,}", energy, f"{100 * share:.1f} %", f"{acs:,}", ""]
    if by == "population":
        total_row[2] = f"{sum(int(r.get('spike_out') or 0) for r in rows):,}"
        total_row[7] = f"{totals.get('activation_sparsity', float('nan')):.3f}"
    else:
        total_row[7] = f"{totals.get('connection_sparsity', float('nan')):.3f}"
    return tabulate([*body, total_row], headers=[title for _, title, _ in columns])


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


def inference_lines(inferences: InferenceResults) -> list[str]:
    """A short block: the schedule, then energy, time and spikes per inference (mean, spread,
    first inference against the steady state of the rest)."""
    reset = inferences.reset
    resets = "every population" if reset is None else ", ".join(reset) or "no population"
    offsets = ", ".join(f"{name} +{k}" for name, k in inferences.offsets.items() if k)
    partial = ", the last one partial" if inferences.partial_last else ""
    lines = [
        f"inferences: {inferences.n_inferences} of {inferences.steps} steps "
        f"({inferences.inference_ms:g} ms){partial}; reset: {resets}"
        + (f" (offsets {offsets})" if offsets else "")
    ]
    energy = inferences.stats(inferences.energy_pj * 1e-12)
    figures = [
        ("energy", energy, "J"),
        ("time on chip", inferences.stats(inferences.time_s), "s"),
        ("spikes", inferences.stats(inferences.counts["spike_out"]), ""),
        ("synaptic events", inferences.stats(inferences.counts["synaptic_event"]), ""),
    ]
    rows = []
    for name, stats, unit in figures:

        def show(value: float | None, unit: str = unit) -> str:
            if value is None:
                return "-"
            if unit:
                return format_si(value, unit)
            return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"

        spread = f"{show(stats['min'])} - {show(stats['max'])}"
        rows.append(
            [name, show(stats["mean"]), show(stats["std"]), spread, show(stats["first"]),
             show(stats["steady_mean"])]
        )  # fmt: skip
    headers = ["per inference", "mean", "std", "min - max", "first", "steady (rest)"]
    lines.append(tabulate(rows, headers=headers))
    return lines
