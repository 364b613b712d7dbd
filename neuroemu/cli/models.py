"""``neuroemu models``: the bundled model library (``models/*.py``) and what each one is.

A thin layer over :func:`neuroemu.network.model_files.model_info`: model files are imported,
never built, so listing is fast whatever their size; the sizes are the ones each file declares
for its default parameters.
"""

from __future__ import annotations

import dataclasses
import json

import click
from tabulate import tabulate

from neuroemu.network.model_files import bundled_model_names, model_info

# Width of the summary column, so that a row stays within about 160 characters.
_SUMMARY_WIDTH = 60


def _count(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def _short(text: str, width: int = _SUMMARY_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


@click.group()
def models() -> None:
    """List the bundled models (models/*.py) with their sizes and references.

    Run one with `neuroemu run NAME --chip CHIP`; its parameters are set with `-p key=value`
    and documented in the model file's docstring.
    """


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def list_command(as_json: bool) -> None:
    """List the bundled models: neurons and synapses at default parameters, and the reference."""
    infos = [model_info(name) for name in bundled_model_names()]
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(info) for info in infos], indent=2))
        return
    rows = [
        [
            info.name,
            _count(info.n_neurons),
            _count(info.n_synapses),
            info.reference or "",
            _short(info.summary),
        ]
        for info in infos
    ]
    headers = ["name", "neurons", "synapses", "reference", "what"]
    click.echo(tabulate(rows, headers, colalign=("left", "right", "right", "left", "left")))
