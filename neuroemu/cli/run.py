"""``neuroemu run``: the main job (map, simulate, count, price) and its report.

With more than one ``--chip`` the network runs on the first and its activity is priced on the
others too; with ``--gpu`` on GPUs as well; a table then compares them all.
"""

from __future__ import annotations

import sys

import click

from neuroemu.cli.exit_codes import EXIT_INTERRUPTED
from neuroemu.cli.format import (
    echo_json,
    energy_table,
    format_comparison,
    headline_lines,
    inference_lines,
    layer_table,
    mapping_lines,
    scope_lines,
    top_cores,
)
from neuroemu.cli.options import (
    apply_deprecated,
    boards_option,
    chip_option,
    deprecated_option,
    device_option,
    dt_option,
    duration_option,
    gpu_option,
    gpu_scope_option,
    i_know_option,
    max_chips_option,
    max_neurons_option,
    operating_point_option,
    param_option,
    placement_option,
    quantise_option,
    read_placement,
    reset_offsets_option,
    scope_option,
    seed_option,
    set_option,
    steps_per_inference_option,
    strategy_option,
)
from neuroemu.comparison import price_elsewhere
from neuroemu.network.model_files import parse_params
from neuroemu.outputs import check_output
from neuroemu.pipeline import RunResult, run_pipeline
from neuroemu.report import EnergyReport
from neuroemu.spec.overrides import load_overridden


def _say(line: str) -> None:
    click.echo(line, err=True)


def print_result(
    result: RunResult, others: list[EnergyReport], notes: list[str], by: str | None = None
) -> None:
    """The run's report: network, mapping, activity, energy by kind, busiest cores, headline."""
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
    if by is not None:
        click.echo("\n" + layer_table(result.layers, by))
    click.echo("")
    for line in headline_lines(result.report):
        click.echo(line)
    if result.inferences is not None:
        click.echo("")
        for line in inference_lines(result.inferences):
            click.echo(line)
    if result.readout:  # the model's own results, next to the energy per inference
        figures = ", ".join(f"{name} {value:.4g}" for name, value in result.readout.items())
        click.echo(f"model readout: {figures}")
    if len(result.scope_reports) > 1:
        click.echo("energy by scope (chips used; whole boards; wall with supplies and host):")
        for line in scope_lines(result.scope_reports):
            click.echo(line)
    if others:
        click.echo("\n" + format_comparison([result.report, *others]))
    for note in notes:
        click.echo(f"note: {note}")


@click.command("run")
@click.argument("model")
@chip_option(
    required=True,
    help_text="Chip to run on (bundled name or descriptor path); repeat it to price the same "
    "activity on more chips.",
)
@duration_option
@dt_option
@seed_option
@device_option
@strategy_option
@placement_option
@max_chips_option
@max_neurons_option
@operating_point_option
@scope_option
@boards_option
@param_option
@click.option(
    "--window-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Also count events per window of this length.",
)
@steps_per_inference_option
@reset_offsets_option
@gpu_option
@gpu_scope_option
@click.option(
    "--trace",
    "trace",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the whole run to this HDF5 file.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing trace file.")
@click.option(
    "--keep-partial",
    is_flag=True,
    help="On Ctrl-C, keep the steps done: report them and write the trace marked complete=false "
    "(exit status 130 all the same).",
)
@quantise_option
@set_option
@i_know_option
@click.option(
    "--by",
    type=click.Choice(["population", "projection"]),
    default=None,
    help="Also print events, dynamic energy, work share and NeuroBench metrics per population "
    "(or per projection); they sum to the totals. --json always carries both as 'layers'.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", is_flag=True, help="No progress report.")
@deprecated_option("--chips", "--max-chips N", "max_chips", int, type=int, metavar="N")
@click.pass_context
def run_command(
    ctx: click.Context,
    model: str,
    chips: tuple[str, ...],
    duration_ms: float,
    dt_ms: float | None,
    seed: int,
    device: str,
    strategy: str,
    placement_file: str | None,
    max_chips: int | None,
    max_neurons_per_core: int | None,
    operating_point: str | None,
    scope: str,
    n_boards: int | None,
    params: tuple[str, ...],
    window_ms: float | None,
    steps_per_inference: int | None,
    reset_offsets: str,
    gpus: tuple[str, ...],
    gpu_scope: str | None,
    trace: str | None,
    force: bool,
    keep_partial: bool,
    quantise: bool,
    overrides: tuple[str, ...],
    allow_large: bool,
    by: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Map MODEL onto a chip, run it in Brian2, and report events, energy and time on chip.

    MODEL is a bundled model name (see models/), a Python file with build(**params), or a .nir
    graph (inputs: -p spikes=inputs.npz or -p rate_hz=20).
    """
    max_chips = apply_deprecated(ctx, {"max_chips": max_chips})["max_chips"]
    if reset_offsets != "none" and steps_per_inference is None:
        raise click.UsageError("--reset-offsets needs --steps-per-inference K")
    if trace is not None:  # before the (possibly long) run, not after it
        check_output(trace, force, inputs=[model, *chips], what="trace")
    # Every descriptor is read before the (possibly long) run, so a typo fails at once.
    chip_specs, gpu_specs = load_overridden(chips, gpus, overrides)
    first, *more = chip_specs
    if dt_ms is not None:
        more = [chip.with_timestep(dt_ms) for chip in more]
    result = run_pipeline(
        model,
        first,
        duration_ms=duration_ms,
        seed=seed,
        params=parse_params(params),
        strategy=strategy,
        device=device,
        n_chips=max_chips,
        placement=read_placement(placement_file),
        window_ms=window_ms,
        report=None if (quiet or as_json) else "stderr",
        gpus=tuple(gpu_specs),
        gpu_scope=gpu_scope or ("board" if scope == "chip" else scope),
        dt_ms=dt_ms,
        operating_point=operating_point,
        scope=scope,
        n_boards=n_boards,
        max_neurons_per_core=max_neurons_per_core,
        keep_partial=keep_partial,
        allow_large=allow_large,
        quantise=quantise,
        steps_per_inference=steps_per_inference,
        reset_offsets=reset_offsets,
        progress=None if (quiet or as_json) else _say,
        # Record changed neurons once if any chip priced here charges them.
        record_changes=any(c.needs_changed_neurons() for c in [first, *more]),
    )
    others, notes = price_elsewhere(
        result.network,
        result.activity,
        more,
        [],
        strategy=strategy,
        n_chips=max_chips,
        operating_point=operating_point,
        scope=scope,
    )
    if trace is not None:
        from neuroemu.traces.file import write_trace

        write_trace(trace, result, command=" ".join(["neuroemu", *sys.argv[1:]]), force=force)
    if as_json:
        summary = result.summary()
        summary["layers"] = result.layers.to_dict()
        if more:
            summary["chips"] = [r.summary() for r in others]
            summary["notes"] = [*notes, *result.notes]
        echo_json(summary)
    else:
        print_result(result, [*others, *result.gpu_reports], [*notes, *result.notes], by)
        if trace is not None:
            click.echo(f"trace written to {trace}")
    if not result.complete:
        click.echo(
            f"Interrupted: these figures are for the {result.activity.n_steps} steps done, "
            f"not the whole run" + (" (the trace says complete=false)" if trace else ""),
            err=True,
        )
        ctx.exit(EXIT_INTERRUPTED)
