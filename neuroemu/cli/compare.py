"""``neuroemu compare``: one network, run once, priced on several chips and GPUs in one table.

A thin layer over :func:`neuroemu.pipeline.run_pipeline` (the run, on the first chip) and
:func:`neuroemu.comparison.price_elsewhere` (the other chips, and every GPU in both styles).
"""

from __future__ import annotations

import click

from neuroemu.cli.format import echo_json, format_comparison
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
    names,
    operating_point_option,
    param_option,
    placement_option,
    quantise_option,
    read_placement,
    scope_option,
    seed_option,
    set_option,
    strategy_option,
)
from neuroemu.comparison import comparison_rows, price_elsewhere
from neuroemu.network.model_files import parse_params
from neuroemu.pipeline import run_pipeline
from neuroemu.spec.overrides import load_overridden


@click.command("compare")
@click.argument("model")
@chip_option(
    required=False,
    help_text="Chip (bundled name or descriptor path), repeatable; the network runs on the "
    "first and its activity is priced on all.",
)
@gpu_option
@duration_option
@dt_option
@seed_option
@strategy_option
@placement_option
@max_chips_option
@device_option
@operating_point_option
@scope_option
@boards_option
@gpu_scope_option
@param_option
@quantise_option
@set_option
@i_know_option
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@deprecated_option("--chips", "--chip NAME (repeatable)", "chips", names, metavar="A,B")
@deprecated_option("--gpus", "--gpu NAME (repeatable)", "gpus", names, metavar="X,Y")
@click.pass_context
def compare(
    ctx: click.Context,
    model: str,
    chips: tuple[str, ...],
    gpus: tuple[str, ...],
    duration_ms: float,
    dt_ms: float | None,
    seed: int,
    strategy: str,
    placement_file: str | None,
    max_chips: int | None,
    device: str,
    operating_point: str | None,
    scope: str,
    n_boards: int | None,
    gpu_scope: str | None,
    params: tuple[str, ...],
    quantise: bool,
    overrides: tuple[str, ...],
    allow_large: bool,
    as_json: bool,
) -> None:
    """Run MODEL once and compare its energy and time on chips and GPUs in one table.

    Every descriptor is checked before the run. A chip the network does not fit on is listed
    with the reason instead of a row.
    """
    given = apply_deprecated(ctx, {"chips": chips, "gpus": gpus})
    chip_specs, gpu_specs = load_overridden(given["chips"], given["gpus"], overrides)
    if not chip_specs:
        raise click.UsageError("--chip is needed at least once (the network runs on the first)")
    if dt_ms is not None:
        chip_specs = [chip.with_timestep(dt_ms) for chip in chip_specs]
    result = run_pipeline(
        model,
        chip_specs[0],
        duration_ms=duration_ms,
        seed=seed,
        params=parse_params(params),
        strategy=strategy,
        device=device,
        n_chips=max_chips,
        placement=read_placement(placement_file),
        operating_point=operating_point,
        scope=scope,
        n_boards=n_boards,
        allow_large=allow_large,
        quantise=quantise,
        # Record changed neurons once if any chip priced here charges them.
        record_changes=any(c.needs_changed_neurons() for c in chip_specs),
    )
    network, activity = result.network, result.activity
    others, notes = price_elsewhere(
        network,
        activity,
        chip_specs[1:],
        gpu_specs,
        strategy=strategy,
        n_chips=max_chips,
        gpu_scope=gpu_scope or ("board" if scope == "chip" else scope),
        operating_point=operating_point,
        scope=scope,
    )
    reports = [result.report, *others]
    if as_json:
        echo_json(
            {
                "model": model,
                "simulated_ms": activity.duration_ms,
                "dt_ms": activity.dt_ms,
                "rows": comparison_rows(reports),
                "notes": notes,
            }
        )
        return
    click.echo(
        f"model {model}: {network.n_neurons:,} neurons, {network.n_synapses:,} synapses, "
        f"{activity.duration_ms:g} ms simulated on {chip_specs[0].name} "
        f"(dt {activity.dt_ms:g} ms)\n"
    )
    click.echo(format_comparison(reports))
    for note in notes:
        click.echo(f"note: {note}")
