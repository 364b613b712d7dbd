"""``neuroemu experiment``: every chip x seed of an experiment file, traces and a results table.

A thin layer over :mod:`neuroemu.experiment`, which validates the file and runs it.
"""

from __future__ import annotations

from pathlib import Path

import click
from tabulate import tabulate

from neuroemu.cli.format import pj
from neuroemu.cli.options import (
    chip_option,
    gpu_option,
    gpu_scope_option,
    i_know_option,
    max_chips_option,
    operating_point_option,
    scope_option,
    set_option,
)
from neuroemu.errors import NeuroEmuError
from neuroemu.units import format_si


@click.command("experiment")
@click.argument("experiment", type=click.Path(dir_okay=False, path_type=Path))
@chip_option(
    required=False,
    help_text="Run on this chip instead of the file's chips (repeatable; a bundled name or a "
    "path as typed).",
)
@gpu_option
@max_chips_option
@operating_point_option
@scope_option
@gpu_scope_option
@click.option("--force", is_flag=True, help="Overwrite traces and the table of an earlier run.")
@i_know_option
@set_option
def experiment_command(
    experiment: Path,
    chips: tuple[str, ...],
    gpus: tuple[str, ...],
    max_chips: int | None,
    operating_point: str | None,
    scope: str,
    gpu_scope: str | None,
    force: bool,
    allow_large: bool,
    overrides: tuple[str, ...],
) -> None:
    """Run an EXPERIMENT file: every chip x seed, one trace per run, a CSV results table.

    See experiments/example.yaml for the format. Paths in the file are relative to it.
    --chip, --gpu, --max-chips and --gpu-scope override the file's chips, gpus, n_chips and
    the GPU scope (board); --operating-point and --scope price every chip that way.
    """
    from neuroemu.experiment import load_experiment, run_experiment

    def progress(line: str) -> None:
        click.echo(line, err=True)

    loaded = load_experiment(
        experiment, chips, gpus, max_chips, gpu_scope, operating_point, scope, overrides
    )
    rows = run_experiment(loaded, force=force, progress=progress, allow_large=allow_large)
    if not rows:
        raise NeuroEmuError(f"{experiment}: the experiment produced no results")
    table = [[r["chip"], r["seed"], r["device"], r["style"], format_si(r["time_s"], "s"),
              format_si(r["total_j"], "J"), pj(r["energy_per_synaptic_event_pj"])]
             for r in rows]  # fmt: skip
    headers = ["run on chip", "seed", "device", "style", "time", "energy", "per synaptic event"]
    click.echo(tabulate(table, headers=headers))
    n_traces = sum(1 for r in {row["trace"] for row in rows} if r)
    click.echo(f"\nwrote {n_traces} trace(s) and {loaded.spec.outputs.table} to {loaded.folder}")
