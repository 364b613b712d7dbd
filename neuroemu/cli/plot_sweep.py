"""``neuroemu plot-sweep``: energy against a swept parameter per chip, or the Pareto front of
energy against time on chip, from a sweep's summary table.

A thin layer over :mod:`neuroemu.sweep.plots`.
"""

from __future__ import annotations

from pathlib import Path

import click

from neuroemu.errors import NeuroEmuError


@click.command("plot-sweep")
@click.argument("results", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--parameter",
    "-x",
    default=None,
    metavar="NAME",
    help="Plot energy against this swept parameter (a model parameter such as rate_hz, an "
    "override such as core.synapse_memory_bits, or duration_ms), one line per chip.",
)
@click.option(
    "--pareto", is_flag=True, help="Plot energy against time on chip with the Pareto front."
)
@click.option(
    "--metric",
    default="total_j",
    show_default=True,
    help="The figure plotted against --parameter (total_j, time_s, "
    "energy_per_synaptic_event_pj, energy_delay_product_js...).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PNG to write (default: energy_vs_<parameter>.png or pareto.png in the results folder).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing PNG.")
def plot_sweep_command(
    results: Path,
    parameter: str | None,
    pareto: bool,
    metric: str,
    output: Path | None,
    force: bool,
) -> None:
    """Draw a PNG from a sweep's RESULTS (its output folder or its summary table).

    With --parameter NAME: energy (mean over seeds, spread as error bars) against NAME, one
    line per chip. With --pareto: energy against time on chip, one point per configuration,
    with the Pareto front. Reads summary.parquet (or summary.csv) as `neuroemu sweep` wrote it.
    """
    from neuroemu.outputs import check_output
    from neuroemu.sweep.plots import plot_energy_vs_parameter, plot_pareto
    from neuroemu.sweep.results import read_table

    if (parameter is None) == (not pareto):
        raise NeuroEmuError("give either --parameter NAME or --pareto (one picture per call)")
    table = results
    if results.is_dir():
        table = next(
            (results / n for n in ("summary.parquet", "summary.csv") if (results / n).exists()),
            results / "summary.parquet",
        )
        if not table.exists():
            raise NeuroEmuError(f"{results} holds no summary.parquet or summary.csv of a sweep")
    folder = table.parent
    name = "pareto.png" if pareto else f"energy_vs_{parameter}.png"
    target = check_output(output or folder / name, force=force, inputs=[table], what="plot")
    rows = read_table(table)
    if parameter is None:
        written = plot_pareto(rows, target)
    else:
        written = plot_energy_vs_parameter(rows, parameter, target, metric=metric)
    click.echo(f"wrote {written}")
