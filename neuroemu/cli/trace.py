"""``neuroemu inspect``, ``neuroemu plot`` and ``neuroemu experiment``: traces and experiments.

A thin layer over :mod:`neuroemu.traces.file`, :mod:`neuroemu.plots` and :mod:`neuroemu.experiment`;
the library raises :class:`~neuroemu.errors.NeuroEmuError`, :mod:`neuroemu.cli.main` prints it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from neuroemu.cli.run import format_si
from neuroemu.errors import NeuroEmuError


def _pj(value: float | None) -> str:
    return format_si(None if value is None else value * 1e-12, "J")


def _summary_lines(summary: dict[str, Any], path: str) -> list[str]:
    prov, net, mapping = summary["provenance"], summary["network"], summary["mapping"]
    activity, spikes = summary["activity"], summary["spikes"]
    versions = ", ".join(f"{k} {prov.get(k, '?')}" for k in ("brian2", "numpy", "h5py"))
    populations = ", ".join(f"{n} {size:,}" for n, size in net["populations"].items())
    lines = [
        f"trace {path} (format {summary['format_version']}), written {prov.get('date_utc', '?')} "
        f"by neuroemu {prov.get('neuroemu', '?')} ({versions})",
        f"command: {prov.get('command') or '(not recorded)'}",
        f"model {prov.get('model', '?')} ({prov.get('model_file') or 'no file'}), parameters "
        f"{json.dumps(prov.get('params', {}), sort_keys=True)}, seed {prov.get('seed', '?')}",
        f"network {net['name']}: {len(net['populations'])} population(s) ({populations}), "
        f"{sum(net['inputs'].values()):,} input sources, {len(net['synapses'])} projection(s), "
        f"{sum(net['synapses'].values()):,} synapses",
        f"mapping on {mapping['chip']} ({prov.get('chip_file') or 'descriptor stored'}): "
        f"strategy {mapping['strategy']}, {mapping['n_chips']} chip(s), "
        f"{mapping['n_cores_used']} of {mapping['n_chips'] * mapping['cores_per_chip']} cores used",
        f"activity: {activity['n_steps'] * activity['dt_ms']:g} ms at dt {activity['dt_ms']:g} ms "
        f"on {activity['device']}, {sum(spikes.values()):,} spikes ("
        + ", ".join(f"{n} {c:,}" for n, c in spikes.items())
        + ")",
    ]
    lines += [f"warning: {w}" for w in mapping["warnings"]]
    rows = [[kind, f"{total:,}"] for kind, total in summary["counts"].items()]
    lines += ["", tabulate(rows, headers=["event kind", "events"], colalign=("left", "right"))]
    rows = []
    for entry in summary["energy"]:
        total = entry["total_pj"]
        shown = _pj(total) if not entry["unpriced"] else "unpriced: " + ", ".join(entry["unpriced"])
        rows.append([entry["device"], entry["device_kind"], entry["style"],
                     format_si(entry["time_s"], "s"), shown])  # fmt: skip
    lines += ["", tabulate(rows, headers=["device", "kind", "style", "time on device", "energy"])]
    return lines


@click.command("inspect")
@click.argument("trace", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def inspect_command(trace: Path, as_json: bool) -> None:
    """Summarise a TRACE file (.h5) without loading its spikes.

    Shows the provenance (versions, command, seed), the network, the mapping, event totals and
    the energy of every device priced.
    """
    from neuroemu.traces.file import trace_summary

    summary = trace_summary(trace)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    for line in _summary_lines(summary, str(trace)):
        click.echo(line)


@click.command("plot")
@click.argument("traces", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))  # fmt: skip
@click.option("--kind", type=click.Choice(["raster", "rates", "cores", "energy"]),
              default="raster", show_default=True, help="What to draw.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG file to write (default: TRACE_KIND.png next to the trace).")  # fmt: skip
@click.option("--quantity", default="energy", show_default=True,
              help="For --kind cores: energy, events, or an event kind such as hop.")  # fmt: skip
def plot_command(traces: tuple[Path, ...], kind: str, output: Path | None, quantity: str) -> None:
    """Draw a PNG from one TRACE (raster, rates, cores), or compare several (energy).

    --kind energy draws every chip and GPU report of all the traces given, side by side.
    """
    from neuroemu.plots import PLOTS, plot_cores
    from neuroemu.traces.file import read_trace

    if kind != "energy" and len(traces) != 1:
        raise click.UsageError(f"--kind {kind} draws one trace; got {len(traces)}")
    loaded = [read_trace(path) for path in traces]
    target = output or traces[0].with_name(f"{traces[0].stem}_{kind}.png")
    if kind == "energy":
        written = PLOTS["energy"](loaded, target)
    elif kind == "cores":
        written = plot_cores(loaded[0], target, quantity=quantity)
    else:
        written = PLOTS[kind](loaded[0], target)
    click.echo(f"wrote {written}")


@click.command("experiment")
@click.argument("experiment", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite traces and the table of an earlier run.")
def experiment_command(experiment: Path, force: bool) -> None:
    """Run an EXPERIMENT file: every chip x seed, one trace per run, a CSV results table.

    See experiments/example.yaml for the format. Paths in the file are relative to it.
    """
    from neuroemu.experiment import load_experiment, run_experiment

    def progress(line: str) -> None:
        click.echo(line, err=True)

    loaded = load_experiment(experiment)
    rows = run_experiment(loaded, force=force, progress=progress)
    if not rows:
        raise NeuroEmuError(f"{experiment}: the experiment produced no results")
    table = [[r["chip"], r["seed"], r["device"], r["style"], format_si(r["time_s"], "s"),
              format_si(r["total_j"], "J"), _pj(r["energy_per_synaptic_event_pj"])]
             for r in rows]  # fmt: skip
    headers = ["run on chip", "seed", "device", "style", "time", "energy", "per synaptic event"]
    click.echo(tabulate(table, headers=headers))
    n_traces = sum(1 for r in {row["trace"] for row in rows} if r)
    click.echo(f"\nwrote {n_traces} trace(s) and {loaded.spec.outputs.table} to {loaded.folder}")


COMMANDS = [inspect_command, plot_command, experiment_command]
