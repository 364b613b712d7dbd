"""``neuroemu export``: write a network as a NIR graph, for other NIR tools.

A thin layer over :func:`neuroemu.network.nir_export.export_nir`; a population NIR cannot
express ends with the library's :class:`~neuroemu.errors.NirError` (``Error: ...``, exit 1).
"""

from __future__ import annotations

from pathlib import Path

import click

from neuroemu.cli.options import param_option
from neuroemu.outputs import check_output, write_atomically


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
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def export_command(model: str, output: Path, params: tuple[str, ...], force: bool) -> None:
    """Write MODEL (a bundled model, a .py file or a .nir file) as a NIR graph.

    Only populations of the nir_* neuron models are expressible in NIR; the command names the
    first population that is not. The graph holds no input data: feed it spikes again where
    it is read (neuroemu run graph.nir -p spikes=inputs.npz).
    """
    from neuroemu.network.model_files import load_model, parse_params
    from neuroemu.network.nir_export import export_nir

    check_output(output, force, inputs=[model], what="NIR graph")
    network = load_model(model, parse_params(params))
    # Through a temporary file and a rename: a failed or interrupted export leaves no half
    # graph and any previous file as it was.
    write_atomically(output, lambda partial: export_nir(network, partial), what="NIR graph")
    click.echo(
        f"wrote {output}: {len(network.populations)} population(s), "
        f"{len(network.projections)} projection(s), {network.n_synapses:,} synapses"
    )
