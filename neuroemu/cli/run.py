"""``neuroemu run``: the main job (map, simulate, count, price) and its report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
from tabulate import tabulate

from neuroemu.cli.options import (
    device_option,
    duration_option,
    n_chips_option,
    param_option,
    seed_option,
    strategy_option,
)
from neuroemu.events import EVENT_KINDS
from neuroemu.network.model_files import parse_params
from neuroemu.pipeline import RunResult, run_pipeline
from neuroemu.report import EnergyReport


def format_si(value: float | None, unit: str) -> str:
    """``0.00123, 'J'`` -> ``1.23 mJ``; ``None`` -> ``unpriced``."""
    if value is None:
        return "unpriced"
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in (
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
        (1, ""),
        (1e-3, "m"),
        (1e-6, "µ"),
        (1e-9, "n"),
        (1e-12, "p"),
        (1e-15, "f"),
    ):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def mapping_lines(result: RunResult) -> list[str]:
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
    rows = []
    total = report.total_pj
    for kind in EVENT_KINDS:
        events = report.counts.get(kind, 0)
        energy = report.dynamic_pj.get(kind)
        share = "" if total in (None, 0) or energy is None else f"{100 * energy / total:.1f}%"
        rows.append(
            [kind, f"{events:,}", format_si(None if energy is None else energy * 1e-12, "J"), share]
        )
    static = report.static_pj
    rows.append(
        [
            "static",
            "",
            format_si(None if static is None else static * 1e-12, "J"),
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
                format_si(per_core[core] * 1e-12, "J"),
            ]
        )
    return tabulate(
        rows, headers=["core", "chip", "local", "neurons", "synaptic events", "dynamic energy"]
    )


def headline_lines(report: EnergyReport) -> list[str]:
    lines = [
        f"time on {report.device}: {format_si(report.time_s, 's')} for {report.simulated_ms:g} ms "
        f"simulated (real-time factor {report.real_time_factor:.3g})",
        "energy per synaptic event: "
        + format_si(_pj_to_j(report.energy_per_synaptic_event_pj), "J"),
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


def _pj_to_j(value: float | None) -> float | None:
    return None if value is None else value * 1e-12


def result_json(result: RunResult) -> dict[str, Any]:
    """The run as a JSON-serialisable dict (for ``--json`` and result tables)."""
    mapping = result.mapping
    return {
        "model": result.model,
        "params": {k: str(v) for k, v in result.params.items()},
        "seed": result.seed,
        "network": result.network.summary(),
        "mapping": {
            "chip": result.chip.name,
            "strategy": mapping.strategy,
            "n_chips": mapping.n_chips,
            "n_cores_used": mapping.n_cores_used,
            "utilisation_max": {k: float(v.max()) for k, v in mapping.utilisation().items()},
            "warnings": list(mapping.warnings),
        },
        "activity": {
            "device": result.activity.device,
            "n_steps": result.activity.n_steps,
            "dt_ms": result.activity.dt_ms,
            "n_spikes": result.activity.n_spikes,
            "quantisation_rms_relative_error": {
                k: q.rms_relative_error for k, q in result.activity.quantisation.items()
            },
        },
        "counts": result.counts.totals(),
        "energy": {**result.report.summary(), "dynamic_pj": result.report.dynamic_pj},
        "gpus": [r.summary() for r in result.gpu_reports],
        "timings_s": result.timings_s,
    }


def print_result(result: RunResult) -> None:
    net = result.network.summary()
    click.echo(
        f"model {result.model}: {net['n_neurons']:,} neurons, {net['n_synapses']:,} "
        f"synapses, {net['n_inputs']:,} input sources"
    )
    for line in mapping_lines(result):
        click.echo(line)
    activity = result.activity
    click.echo(
        f"\nsimulated {activity.duration_ms:g} ms at dt {activity.dt_ms:g} ms on "
        f"{activity.device}: {activity.n_spikes:,} spikes in {activity.wall_time_s:.2f} s"
    )
    if activity.quantisation:
        worst = max(activity.quantisation.values(), key=lambda q: q.rms_relative_error)
        click.echo(
            f"weights rounded to {worst.weight_bits} bits: worst RMS relative error "
            f"{100 * worst.rms_relative_error:.2f}% ({worst.projection})"
        )
    click.echo("\n" + energy_table(result.report))
    click.echo("\n" + top_cores(result))
    click.echo("")
    for line in headline_lines(result.report):
        click.echo(line)
    if result.gpu_reports:
        from neuroemu.cli.compare import format_comparison

        click.echo("\n" + format_comparison([result.report, *result.gpu_reports]))


@click.command("run")
@click.argument("model")
@click.option("--chip", "chip", required=True, help="Bundled chip name or descriptor path.")
@duration_option
@seed_option
@device_option
@strategy_option
@n_chips_option
@param_option
@click.option(
    "--window-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Also count events per window of this length.",
)
@click.option(
    "--gpu",
    "gpus",
    multiple=True,
    metavar="NAME",
    help="Also price the same activity on this GPU (repeatable).",
)
@click.option(
    "--trace",
    "trace",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the whole run to this HDF5 file.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing trace file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", is_flag=True, help="No progress report.")
def run_command(
    model: str,
    chip: str,
    duration_ms: float,
    seed: int,
    device: str,
    strategy: str,
    n_chips: int | None,
    params: tuple[str, ...],
    window_ms: float | None,
    gpus: tuple[str, ...],
    trace: str | None,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Map MODEL onto a chip, run it in Brian2, and report events, energy and time on chip.

    MODEL is a bundled model name (see models/) or a Python file with build(**params).
    """
    if trace is not None and not force and Path(trace).exists():
        raise click.ClickException(f"{trace} exists; use --force to overwrite it")
    result = run_pipeline(
        model,
        chip,
        duration_ms=duration_ms,
        seed=seed,
        params=parse_params(params),
        strategy=strategy,
        device=device,
        n_chips=n_chips,
        window_ms=window_ms,
        report=None if (quiet or as_json) else "stderr",
        gpus=gpus,
    )
    if trace is not None:
        from neuroemu.traces.file import write_trace

        write_trace(trace, result, command=" ".join(["neuroemu", *sys.argv[1:]]), force=force)
    if as_json:
        click.echo(json.dumps(result_json(result), indent=2, default=_json_default))
    else:
        print_result(result)
        if trace is not None:
            click.echo(f"trace written to {trace}")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer | np.floating):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


COMMANDS = [run_command]
