"""``neuroemu plot``: PNG pictures drawn from trace files (:mod:`neuroemu.plots`)."""

from __future__ import annotations

from pathlib import Path

import click

from neuroemu.outputs import check_output


@click.command("plot")
@click.argument("traces", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))  # fmt: skip
@click.option("--kind", type=click.Choice(["raster", "rates", "cores", "energy", "layers"]),
              default="raster", show_default=True, help="What to draw.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG file to write (default: TRACE_KIND.png next to the trace).")  # fmt: skip
@click.option("--quantity", default="energy", show_default=True,
              help="For --kind cores: energy, events, or an event kind such as hop.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite an existing PNG (never a trace).")
def plot_command(
    traces: tuple[Path, ...], kind: str, output: Path | None, quantity: str, force: bool
) -> None:
    """Draw a PNG from one TRACE (raster, rates, cores, layers), or compare several (energy).

    --kind energy draws every chip and GPU report of all the traces given, side by side.
    """
    from neuroemu.plots import plot_cores, plot_energy, plot_layers, plot_raster, plot_rates
    from neuroemu.traces.file import read_trace

    if kind != "energy" and len(traces) != 1:
        raise click.UsageError(f"--kind {kind} draws one trace; got {len(traces)}")
    target = output or traces[0].with_name(f"{traces[0].stem}_{kind}.png")
    check_output(target, force, inputs=traces, what="plot")
    loaded = [read_trace(path) for path in traces]
    for path, trace in zip(traces, loaded, strict=True):
        if not trace.complete:
            click.echo(f"warning: {path} is an interrupted run (--keep-partial)", err=True)
    if kind == "energy":
        written = plot_energy(loaded, target)
    elif kind == "cores":
        written = plot_cores(loaded[0], target, quantity=quantity)
    elif kind == "rates":
        written = plot_rates(loaded[0], target)
    elif kind == "layers":
        written = plot_layers(loaded[0], target)
    else:
        written = plot_raster(loaded[0], target)
    click.echo(f"wrote {written}")
