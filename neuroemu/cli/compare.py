"""``neuroemu compare``: one network, run once, priced on several chips and GPUs in one table.

The network runs once in Brian2 (:func:`neuroemu.pipeline.run_pipeline`, on the first chip, with
its timestep and weight precision); the same activity is then mapped and counted on every other
chip, and priced on every GPU in both execution styles. :func:`comparison_rows` and
:func:`format_comparison` are shared with ``neuroemu run --gpu`` so both print the same table.
"""

from __future__ import annotations

import json
from typing import Any

import click
from tabulate import tabulate

from neuroemu.accounting import count_events, estimate_energy
from neuroemu.activity import Activity
from neuroemu.cli.options import (
    device_option,
    duration_option,
    param_option,
    seed_option,
    strategy_option,
)
from neuroemu.errors import CapacityError
from neuroemu.gpu.model import SCOPES, STYLES, gpu_baseline
from neuroemu.mapping.mapping import map_network
from neuroemu.network.model_files import parse_params
from neuroemu.network.network import Network
from neuroemu.pipeline import run_pipeline
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec, load_chip
from neuroemu.spec.gpu import load_gpu

COLUMNS = (
    "device",
    "kind",
    "style",
    "method",
    "scope",
    "energy_j",
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
                "time_s": r.time_s,
                "energy_per_synaptic_event_pj": r.energy_per_synaptic_event_pj,
                "energy_delay_product_js": r.energy_delay_product_js,
                "ratio_to_best_gpu": None if total is None or not best_j else total / best_j,
            }
        )
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def format_comparison(reports: list[EnergyReport]) -> str:
    """The comparison as a plain-text table (columns named with their units)."""
    rows = comparison_rows(reports)
    table = [[_cell(row[c]) for c in COLUMNS] for row in rows]
    headers = [c.replace("energy_per_synaptic_event_pj", "pj_per_synaptic_event") for c in COLUMNS]
    return tabulate(table, headers=headers, disable_numparse=True)


def price_on_chip(
    network: Network, activity: Activity, chip: ChipSpec, strategy: str = "fill"
) -> EnergyReport:
    """Map ``network`` onto ``chip`` and price the given ``activity`` there (no new run)."""
    mapping = map_network(network, chip, strategy=strategy)
    return estimate_energy(count_events(network, activity, mapping), chip)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


@click.command("compare")
@click.argument("model")
@click.option(
    "--chips",
    required=True,
    metavar="A,B,...",
    help="Chips (bundled names or descriptor paths), comma-separated; the network "
    "runs on the first and its activity is priced on all.",
)
@click.option(
    "--gpus",
    default="",
    metavar="X,Y,...",
    help="GPUs (bundled names or paths), comma-separated; each is priced in the "
    "event-driven and the dense style.",
)
@duration_option
@seed_option
@strategy_option
@device_option
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="board",
    show_default=True,
    help="GPU energy scope: the board (as NVML measures) or the wall (adds the host).",
)
@param_option
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def compare(
    model: str,
    chips: str,
    gpus: str,
    duration_ms: float,
    seed: int,
    strategy: str,
    device: str,
    scope: str,
    params: tuple[str, ...],
    as_json: bool,
) -> None:
    """Run MODEL once and compare its energy and time on chips and GPUs in one table.

    Every descriptor is checked before the run. A chip the network does not fit on is listed
    with the reason instead of a row.
    """
    chip_specs = [load_chip(name) for name in _names(chips)]
    gpu_specs = [load_gpu(name) for name in _names(gpus)]
    if not chip_specs:
        raise click.UsageError("--chips needs at least one chip (the network runs on the first)")
    result = run_pipeline(
        model, chip_specs[0], duration_ms, seed, parse_params(params), strategy, device
    )
    network, activity = result.network, result.activity
    reports, notes = [result.report], []
    for chip in chip_specs[1:]:
        try:
            reports.append(price_on_chip(network, activity, chip, strategy))
        except CapacityError as exc:
            notes.append(f"{chip.name}: does not fit: {exc}")
            continue
        if chip.timing.dt_ms.value != activity.dt_ms:
            notes.append(
                f"{chip.name}: priced on the activity run at dt {activity.dt_ms:g} ms "
                f"(its own timestep is {chip.timing.dt_ms.value:g} ms)"
            )
    for spec in gpu_specs:
        for style in STYLES:
            reports.append(gpu_baseline(network, activity, spec, style=style, scope=scope))
    if as_json:
        out = {
            "model": model,
            "simulated_ms": activity.duration_ms,
            "dt_ms": activity.dt_ms,
            "rows": comparison_rows(reports),
            "notes": notes,
        }
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(
        f"model {model}: {network.n_neurons:,} neurons, {network.n_synapses:,} synapses, "
        f"{activity.duration_ms:g} ms simulated on {chip_specs[0].name} "
        f"(dt {activity.dt_ms:g} ms)\n"
    )
    click.echo(format_comparison(reports))
    for note in notes:
        click.echo(f"note: {note}")


COMMANDS = [compare]
