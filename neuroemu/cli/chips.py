"""``neuroemu chips``: list, show and check chip and GPU descriptor files.

A thin layer over :mod:`neuroemu.spec.chip` and :mod:`neuroemu.spec.gpu`: the library validates,
this module only picks the right loader and prints. Errors are
:class:`~neuroemu.errors.NeuroEmuError` and reach the user through :mod:`neuroemu.cli.main` as one
``Error: ...`` paragraph.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import click
from pydantic import BaseModel
from tabulate import tabulate

from neuroemu.spec.chip import ChipSpec, bundled_chip_names, load_chip
from neuroemu.spec.descriptor import Quantity
from neuroemu.spec.gpu import GpuSpec, bundled_gpu_names, load_gpu
from neuroemu.spec.lookup import load_descriptor
from neuroemu.units import field_unit

# Top-level fields shown in the header of ``chips show`` (or not at all), not in its table.
_HEADER_FIELDS = {"format_version", "kind", "name", "description", "sources", "path", "text"}
# Column widths of `chips show` that keep a row within about 160 characters; longer text wraps.
_VALUE_WIDTH = 32
_NOTE_WIDTH = 60
_TEXT_WIDTH = 100


def _number(value: float | int) -> str:
    """``1048576`` -> ``1,048,576``; ``23.6`` -> ``23.6``; ``0.016833`` -> ``0.016833``."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.6g}"


def _quantity_row(loc: tuple[str | int, ...], quantity: Quantity) -> list[str]:
    unit = field_unit(loc)
    value = getattr(quantity, "value", None)
    shown = "unknown" if value is None else f"{_number(value)} {unit}".strip()
    span = "" if quantity.range is None else "[" + ", ".join(map(_number, quantity.range)) + "]"
    flags = ", ".join(name for name in ("estimated", "unknown") if getattr(quantity, name))
    return [_dotted(loc), shown, span, quantity.source or "", flags, quantity.note or ""]


def _dotted(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _rows(model: BaseModel, loc: tuple[str | int, ...] = ()) -> list[list[str]]:
    """One table row per value of ``model``, in file order: quantities with their provenance."""
    rows: list[list[str]] = []
    for name in type(model).model_fields:
        if not loc and name in _HEADER_FIELDS:
            continue
        rows += _value_rows(getattr(model, name), (*loc, name))
    return rows


def _value_rows(value: Any, loc: tuple[str | int, ...]) -> list[list[str]]:
    if value is None:
        return []
    if isinstance(value, Quantity):
        return [_quantity_row(loc, value)]
    if isinstance(value, BaseModel):
        return _rows(value, loc)
    if isinstance(value, dict):
        return [row for key, item in value.items() for row in _value_rows(item, (*loc, key))]
    if isinstance(value, list | tuple):
        if any(isinstance(item, BaseModel) for item in value):
            # e.g. core.per_core: one block of rows per core, numbered
            return [row for k, item in enumerate(value) for row in _value_rows(item, (*loc, k))]
        return [[_dotted(loc), ", ".join(map(str, value)), "", "", "", ""]]
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    return [[_dotted(loc), shown, "", "", "", ""]]


def _chip_row(spec: ChipSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "kind": "chip",
        "cores_per_chip": spec.cores_per_chip,
        "neurons_per_core": spec.core.neurons.value,
        "synapse_memory_bits": spec.core.synapse_memory_bits.value,
        "weight_bits": spec.core.weight_bits.value,
        "synaptic_event_pj": spec.energy_pj("synaptic_event"),
        "static_power_mw": spec.static_power_mw(1, spec.cores_per_chip),
        "accounting": spec.energy.accounting,
        "timing_mode": spec.timing.mode,
    }


def _gpu_row(spec: GpuSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "kind": "gpu",
        "board_power_w": spec.power.board_power_w.value,
        "idle_power_w": spec.power.idle_power_w.value,
        "fp32_tflops": spec.compute.peak_tflops["fp32"].value,
        "bandwidth_gb_s": spec.memory.bandwidth_gb_s.value,
    }


def _cell(value: Any) -> str:
    if value is None:
        return "unknown"
    return _number(value) if isinstance(value, int | float) else str(value)


@click.group()
def chips() -> None:
    """List, show and check chip and GPU descriptors (chips/*.yaml, chips/gpu/*.yaml).

    Every number in a descriptor carries its source; `chips show` prints them. To use your own
    chip, write a YAML file (see chips/README.md), run `neuroemu chips check my.yaml`, then pass
    `--chip my.yaml` to the other commands.
    """


@chips.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of tables.")
def list_command(as_json: bool) -> None:
    """List the bundled chips and GPUs with their headline numbers."""
    chip_rows = [_chip_row(load_chip(name)) for name in bundled_chip_names()]
    gpu_rows = [_gpu_row(load_gpu(name)) for name in bundled_gpu_names()]
    if as_json:
        click.echo(json.dumps(chip_rows + gpu_rows, indent=2))
        return
    # Text columns left, numbers right; numbers arrive pre-formatted (thousands separators).
    text_columns = {"name", "kind", "accounting", "timing_mode"}
    chip_headers = {
        "name": "name",
        "kind": "kind",
        "cores_per_chip": "cores/chip",
        "neurons_per_core": "neurons/core",
        "synapse_memory_bits": "synapse memory bits",
        "weight_bits": "weight bits",
        "synaptic_event_pj": "pJ/synaptic event",
        "static_power_mw": "static mW/chip",
        "accounting": "accounting",
        "timing_mode": "timing",
    }
    gpu_headers = {
        "name": "name",
        "kind": "kind",
        "board_power_w": "board W",
        "idle_power_w": "idle W",
        "fp32_tflops": "FP32 TFLOPS",
        "bandwidth_gb_s": "GB/s",
    }
    for rows, headers in ((chip_rows, chip_headers), (gpu_rows, gpu_headers)):
        table = [[_cell(row[key]) for key in headers] for row in rows]
        align = ["left" if key in text_columns else "right" for key in headers]
        click.echo(
            tabulate(table, headers=list(headers.values()), colalign=align, disable_numparse=True)
        )
        click.echo()
    click.echo(
        "Energies are marked 'unknown' where nobody has published them; `neuroemu chips show "
        "NAME` gives every value with its source."
    )


@chips.command("show")
@click.argument("name_or_path")
def show_command(name_or_path: str) -> None:
    """Show every value of a chip or GPU descriptor with its source, range and flags.

    NAME_OR_PATH is a bundled name (`neuroemu chips list`) or a descriptor file.
    """
    spec = load_descriptor(name_or_path)
    identity = spec.identity
    click.echo(f"{spec.name} ({spec.kind}): {identity.full_name}, {identity.vendor}")
    click.echo(f"file: {spec.path}")
    if spec.description:
        click.echo(textwrap.fill(spec.description.strip(), _TEXT_WIDTH))
    click.echo()
    # Wrap long cells here: tabulate's own maxcolwidths re-parses '4,096' as a number and fails.
    rows = [
        [
            row[0],
            textwrap.fill(row[1], _VALUE_WIDTH),
            *row[2:5],
            textwrap.fill(row[5], _NOTE_WIDTH),
        ]
        for row in _rows(spec)
    ]
    headers = ["field", "value", "range", "source", "flags", "note"]
    click.echo(tabulate(rows, headers=headers, disable_numparse=True))
    click.echo()
    click.echo("sources:")
    for tag, citation in spec.sources.items():
        click.echo(f"  {tag}: {citation}")


@chips.command("check")
@click.argument("path")
def check_command(path: str) -> None:
    """Validate a chip or GPU descriptor file; exit status 1 and every problem found if invalid.

    Each problem is reported as FILE:LINE: FIELD: what was expected, what was found.
    """
    spec = load_descriptor(path)
    click.echo(f"OK: {spec.path} is a valid {spec.kind} descriptor ({spec.name})")
