"""``neuroemu inspect``: a trace file summarised without loading its spikes.

A thin layer over :func:`neuroemu.traces.file.trace_summary`; the tables are drawn here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from neuroemu.cli.format import echo_json, pj
from neuroemu.units import format_si


def _summary_lines(summary: dict[str, Any], path: str) -> list[str]:
    prov, net, mapping = summary["provenance"], summary["network"], summary["mapping"]
    activity, spikes = summary["activity"], summary["spikes"]
    versions = ", ".join(f"{k} {prov.get(k, '?')}" for k in ("brian2", "numpy", "h5py"))
    populations = ", ".join(f"{n} {size:,}" for n, size in net["populations"].items())
    lines = (
        []
        if summary.get("complete", True)
        else [
            f"INCOMPLETE: an interrupted run, {activity['n_steps']} steps kept (--keep-partial); "
            f"never compare it with a full run"
        ]
    )
    lines += [
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
        shown = pj(total) if not entry["unpriced"] else "unpriced: " + ", ".join(entry["unpriced"])
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
        echo_json(summary)
        return
    for line in _summary_lines(summary, str(trace)):
        click.echo(line)
