"""Pictures of a sweep's summary table: energy against a swept parameter, one line per chip,
and energy against time on chip with the Pareto front.

The figures are built on the Figure that :mod:`neuroemu.plots` makes (matplotlib's one home:
this module calls methods of that Figure and never imports matplotlib itself) and written with
its atomic PNG writer, in its colour-blind-safe palette. The data work -- choosing the rows,
the series, the front -- is plain Python here and tested without drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neuroemu.errors import NeuroEmuError
from neuroemu.plots import OKABE_ITO, new_figure, save_png

# Columns a configuration is told apart by, besides its chip, in the legend.
_SERIES = ("strategy", "operating_point", "model", "params", "overrides", "duration_ms")


def chip_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The summary rows that price a chip (GPU rows left out), with an energy."""
    return [
        r for r in rows
        if r.get("device_kind") == "chip" and _finite(r.get("total_j_mean"))
    ]  # fmt: skip


def parameter_column(rows: Sequence[dict[str, Any]], name: str) -> str:
    """The column of a swept parameter: ``name`` itself, or ``param.NAME`` (a model
    parameter) or ``set.NAME`` (an override).

    Raises
    ------
    NeuroEmuError
        When no column matches; the message lists the swept ones.
    """
    columns = {key for row in rows for key in row}
    for candidate in (name, f"param.{name}", f"set.{name}"):
        if candidate in columns:
            return candidate
    swept = sorted(c for c in columns if c.startswith(("param.", "set.")) or c == "duration_ms")
    raise NeuroEmuError(
        f"the sweep has no parameter {name!r}; its swept parameters: {', '.join(swept) or 'none'}"
    )


def series_of(rows: Sequence[dict[str, Any]], x: str) -> dict[str, list[dict[str, Any]]]:
    """Rows by line of the plot: per chip (``chip_base``), and per other column that varies
    (strategy, operating point...), so that one line never mixes two configurations."""
    varying = [c for c in _SERIES if c != x and len({str(r.get(c)) for r in rows}) > 1]
    varying = [c for c in varying if not (c == "overrides" and x.startswith("set."))]
    varying = [c for c in varying if not (c == "params" and x.startswith("param."))]
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        label = " ".join([str(row.get("chip_base")), *(f"{c}={row.get(c)}" for c in varying)])
        out.setdefault(label, []).append(row)
    return out


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats in both coordinates (lower is better), in
    order of the first coordinate."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front: list[int] = []
    best = math.inf
    for index in order:
        if points[index][1] < best:
            front.append(index)
            best = points[index][1]
    return front


def plot_energy_vs_parameter(
    rows: Sequence[dict[str, Any]], parameter: str, path: str | Path, metric: str = "total_j"
) -> Path:
    """Energy (the mean over seeds, the spread as error bars) against a swept parameter, one
    line per chip.

    Parameters
    ----------
    rows : sequence of dict
        The summary table (:func:`neuroemu.sweep.results.read_table` of ``summary.parquet``).
    parameter : str
        The swept column (``rate_hz``, ``core.synapse_memory_bits``, ``duration_ms``).
    path : str or Path
        The PNG to write.
    metric : str
        The figure to plot (``total_j``, ``time_s``, ``energy_per_synaptic_event_pj``...).
    """
    chips = chip_rows(rows)
    if not chips:
        raise NeuroEmuError("the summary has no priced chip rows to plot")
    x = parameter_column(chips, parameter)
    if f"{metric}_mean" not in chips[0]:
        raise NeuroEmuError(f"the summary has no figure {metric!r}")
    figure = new_figure(7.5, 5)
    ax = figure.add_subplot()
    numeric = all(_finite(r.get(x)) for r in chips)
    for k, (label, members) in enumerate(sorted(series_of(chips, x).items())):
        members = sorted(members, key=lambda r: r[x] if numeric else str(r[x]))
        xs = [r[x] if numeric else str(r[x]) for r in members]
        ys = [r[f"{metric}_mean"] for r in members]
        spread = [r.get(f"{metric}_std") or 0.0 for r in members]
        ax.errorbar(xs, ys, yerr=spread, marker="o", capsize=3, label=label,
                    color=OKABE_ITO[k % len(OKABE_ITO)])  # fmt: skip
    ax.set_yscale("log")
    if numeric and min(r[x] for r in chips) > 0 and _spans_decades([r[x] for r in chips]):
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} (mean over seeds, log scale)")
    ax.set_title(f"{metric} against {x}, per chip")
    ax.legend(fontsize="small")
    return save_png(figure, path)


def plot_pareto(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Energy against time on chip, one point per configuration (mean over seeds), coloured
    by chip, with the Pareto front (nothing both cheaper and faster) drawn and labelled."""
    chips = [r for r in chip_rows(rows) if _finite(r.get("time_s_mean"))]
    if not chips:
        raise NeuroEmuError("the summary has no priced chip rows to plot")
    points = [(r["time_s_mean"], r["total_j_mean"]) for r in chips]
    front = pareto_front(points)
    figure = new_figure(7.5, 5.5)
    ax = figure.add_subplot()
    names = sorted({str(r.get("chip_base")) for r in chips})
    for k, name in enumerate(names):
        mine = [p for p, r in zip(points, chips, strict=True) if str(r.get("chip_base")) == name]
        ax.scatter([p[0] for p in mine], [p[1] for p in mine], label=name, s=28,
                   color=OKABE_ITO[k % len(OKABE_ITO)])  # fmt: skip
    ax.step([points[i][0] for i in front], [points[i][1] for i in front], where="post",
            color="black", linewidth=1, label="Pareto front")  # fmt: skip
    for i in front:
        ax.annotate(str(chips[i].get("chip")), points[i], fontsize="x-small",
                    xytext=(4, 4), textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time on chip (s, mean over seeds)")
    ax.set_ylabel("energy (J, mean over seeds)")
    ax.set_title("Energy against time on chip; the front: nothing both cheaper and faster")
    ax.legend(fontsize="small")
    return save_png(figure, path)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _spans_decades(values: list[float]) -> bool:
    return max(values) / min(values) >= 100
