"""``neuroemu map``: would a network fit a chip, on how many cores, and what binds?

It only maps (no simulation, no Brian2 import), so it answers in seconds: chips and cores used,
per-resource utilisation over the used cores, the binding resource, the synapses that cross
cores, how each projection is stored (every synapse, or a convolution's kernel where the chip
shares weights) and why, and the warnings of the mapping. A network that does not fit ends with
the library's :class:`~neuroemu.errors.CapacityError` message (``Error: ...``, exit status 1).
"""

from __future__ import annotations

from typing import Any

import click
from tabulate import tabulate

from neuroemu.cli.format import echo_json
from neuroemu.cli.options import (
    apply_deprecated,
    deprecated_option,
    max_chips_option,
    param_option,
    placement_option,
    read_placement,
    set_option,
    strategy_option,
)
from neuroemu.network.model_files import parse_params
from neuroemu.pipeline import map_summary
from neuroemu.spec.overrides import load_overridden


def format_report(report: dict[str, Any]) -> str:
    """The report as text: a header, a utilisation table, the binding resource, traffic."""
    lines = [
        f"model {report['model']}: {report['n_neurons']:,} neurons, "
        f"{report['n_synapses']:,} synapses",
        f"chip: {report['chip']}   strategy: {report['strategy']}   chips used: "
        f"{report['n_chips']}   cores used: {report['n_cores_used']:,} of {report['n_cores']:,}",
        "",
    ]
    rows = [
        [
            name,
            f"{values['min_percent']:.1f}",
            f"{values['mean_percent']:.1f}",
            f"{values['max_percent']:.1f}",
            f"{values['limit']:,}",
        ]
        for name, values in report["utilisation"].items()
    ]
    headers = ["resource", "min %", "mean %", "max %", "limit per core"]
    lines.append(
        tabulate(rows, headers=headers, colalign=("left", *["right"] * 4), disable_numparse=True)
    )
    lines.append("")
    binding = report["binding_resource"]
    if binding is not None:
        peak = report["utilisation"][binding]["max_percent"]
        lines.append(f"binding resource: {binding} (max {peak:.1f} % of a core)")
    closed = {
        k: v for k, v in report.get("cores_closed_by", {}).items() if k in report["utilisation"]
    }
    if closed:
        counts = ", ".join(
            f"{name} {n}" for name, n in sorted(closed.items(), key=lambda kv: -kv[1])
        )
        lines.append(f"cores closed by: {counts} (the resource that forced the spread first)")
    lines.append(
        f"inter-core synapses: {report['inter_core_synapses']:,} of "
        f"{report['neuron_synapses']:,} between neurons "
        f"({100 * report['inter_core_fraction']:.1f} %)"
    )
    lines += _storage_lines(report.get("projection_encodings", []))
    lines += [f"warning: {text}" for text in report["warnings"]]
    return "\n".join(lines)


def _storage_lines(encodings: list[dict[str, str]], most: int = 4) -> list[str]:
    """One line per way projections are stored: the encoding, which projections, and why."""
    groups: dict[tuple[str, str], list[str]] = {}
    for item in encodings:
        groups.setdefault((item["encoding"], item["reason"]), []).append(item["projection"])
    lines = []
    for (encoding, reason), names in groups.items():
        shown = ", ".join(names[:most]) + (
            f" and {len(names) - most} more" if len(names) > most else ""
        )
        lines.append(f"stored as {encoding}: {shown} ({reason})")
    return lines


@click.command("map")
@click.argument("model")
@click.option("--chip", "chip", required=True, help="Bundled chip name or descriptor path.")
@strategy_option
@placement_option
@max_chips_option
@param_option
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@deprecated_option("--chips", "--max-chips N", "max_chips", int, type=int, metavar="N")
@click.pass_context
def map_command(
    ctx: click.Context,
    model: str,
    chip: str,
    strategy: str,
    placement_file: str | None,
    max_chips: int | None,
    params: tuple[str, ...],
    overrides: tuple[str, ...],
    as_json: bool,
) -> None:
    """Map MODEL (a bundled model name, a .py file or a .nir graph) onto the cores of a chip.

    Prints the chips and cores used, per-resource utilisation (min/mean/max over the used
    cores), the binding resource, the synapses between cores, how each projection is stored
    (explicit synapses, or kernels on chips that share convolution weights) and why, and
    warnings. A network that does not fit exits with status 1 and says which resource, where,
    and what would help.
    """
    max_chips = apply_deprecated(ctx, {"max_chips": max_chips})["max_chips"]
    (chip_spec,), _ = load_overridden([chip], [], overrides)
    report = map_summary(
        model, chip_spec, strategy, max_chips, parse_params(params), read_placement(placement_file)
    )
    if as_json:
        echo_json(report)
    else:
        click.echo(format_report(report))
