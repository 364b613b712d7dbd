"""``neuroemu export``: write a network as a NIR graph, for other NIR tools.

A thin layer over :func:`neuroemu.network.nir_export.export_nir`; a population NIR cannot
express ends with the library's :class:`~neuroemu.errors.NirError` (``Error: ...``, exit 1).
"""

from __future__ import annotations

from pathlib import Path

import click

from neuroemu.cli.options import param_option


@click.command("export")
@click.argument("model")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The NIR file to write, e.g. graph.nir.",
)
@param_option
def export_command(model: str, output: Path, params: tuple[str, ...]) -> None:
    """Write MODEL (a bundled model, a .py file or a .nir file) as a NIR graph.

    Only populations of the nir_* neuron models are expressible in NIR; the command names the
    first population that is not. The graph holds no input data: feed it spikes again where
    it is read (neuroemu run graph.nir -p spikes=inputs.npz).
    """
    from neuroemu.network.model_files import load_model, parse_params
    from neuroemu.network.nir_export import export_nir

    network = load_model(model, parse_params(params))
    export_nir(network, output)
    click.echo(
        f"wrote {output}: {len(network.populations)} population(s), "
        f"{len(network.projections)} projection(s), {network.n_synapses:,} synapses"
    )
