"""``neuroemu validate``: published figures next to neuroemu's estimates, with ratios.

A thin layer over :mod:`neuroemu.validate` and the cases of :mod:`neuroemu.validation_cases`.
"""

from __future__ import annotations

import click
from tabulate import tabulate

from neuroemu.cli.format import echo_json
from neuroemu.errors import NeuroEmuError
from neuroemu.validate import UNITS, Row, run_cases
from neuroemu.validation_cases import CASES


def _shown(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value / UNITS[unit]:.3g}"


def _estimate(row: Row) -> str:
    unit = row.case.unit
    text = _shown(row.estimate, unit)
    if row.estimate is None:
        return text
    if row.low is not None and row.high is not None and not row.low == row.high == row.estimate:
        return text + f" [{_shown(row.low, unit)}-{_shown(row.high, unit)}]"
    return text + " (no range)"


def _setup(row: Row) -> str:
    case = row.case
    if case.device_kind == "gpu":  # the note says fitted, holdout or not fitted
        return f"{case.note}: {case.what}"
    boards = f", {case.n_boards} boards" if case.n_boards else ""
    return f"{case.scope}, {case.operating_point or 'chip default'}{boards}"


def row_data(row: Row) -> dict[str, object]:
    """A row as plain data (``--json``)."""
    case = row.case
    scale = UNITS[case.unit]
    return {
        "case": case.id,
        "device_kind": case.device_kind,
        "chip": case.chip,
        "workload": case.what,
        "scope": case.scope,
        "operating_point": case.operating_point,
        "n_boards": case.n_boards,
        "unit": case.unit,
        "published": case.published,
        "estimate": None if row.estimate is None else row.estimate / scale,
        "low": None if row.low is None else row.low / scale,
        "high": None if row.high is None else row.high / scale,
        "ratio": row.ratio,
        "band": list(case.band),
        "verdict": row.verdict,
        "source": case.source,
        "note": case.note or None,
        "notes": list(row.notes),
    }


@click.command("validate")
@click.option(
    "--quick",
    is_flag=True,
    help="The small cases only: all of the built-in ones, chip figures priced from published "
    "statistics and GPU runs rebuilt with synthetic spikes (about 15 s together). The full-scale "
    "microcircuit simulated in Brian2 is benchmarks/validate_full.py.",
)
@click.option(
    "--case", "only", multiple=True, metavar="ID", help="Run only this case (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def validate_command(quick: bool, only: tuple[str, ...], as_json: bool) -> None:
    """Price every public validation case at its published operating point and scope.

    Chip cases compare energies and power with their publications; GPU cases compare published
    GeNN, Brian2GeNN and NEST GPU simulation times with the GPU model on the bundled descriptor.
    Prints the published figure, neuroemu's estimate with its range, the ratio, and pass or miss
    against the case's band. A miss is reported, never tuned away.
    """
    # Every built-in case is quick (the GPU ones add about 10 s on two cores); the flag names
    # the set the README and CI run.
    del quick
    known = {case.id for case in CASES}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise NeuroEmuError(f"no validation case {unknown[0]!r}: expected one of {sorted(known)}")
    rows = run_cases([case for case in CASES if not only or case.id in only])
    if as_json:
        echo_json([row_data(row) for row in rows])
        return
    table = [
        [
            row.case.id,
            row.case.chip,
            f"{row.case.published:g} {row.case.unit}",
            _estimate(row),
            "-" if row.ratio is None else f"{row.ratio:.2f}",
            f"{row.case.band[0]:g}-{row.case.band[1]:g}",
            row.verdict,
            _setup(row),
        ]
        for row in rows
    ]
    headers = ["case", "device", "published", "estimate [range]", "ratio", "band", "verdict"]
    headers.append("setup")
    click.echo(tabulate(table, headers=headers, disable_numparse=True))
    for row in rows:
        for note in row.notes:
            click.echo(f"{row.case.id}: {note}")
    misses = sum(row.verdict != "pass" for row in rows)
    click.echo(f"\n{len(rows) - misses} of {len(rows)} cases within their band; sources:")
    for case in {row.case.source: row.case for row in rows}.values():
        click.echo(f"  {case.source}")
