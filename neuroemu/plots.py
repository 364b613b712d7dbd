"""Pictures of a run read from a trace: spike raster, population rates, per-core heat map on the
chip's mesh, and energy bars of chips and GPUs side by side.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through ``pyplot``, so
they render headless (Agg) without switching the backend of a notebook or GUI session that
imports neuroemu. Colours come from the Okabe-Ito palette and the heat map uses ``cividis``, both
readable with the common colour-vision deficiencies.

Two forms of each picture: ``figure_*`` takes a trace or a run's result (in a notebook, the
:class:`~neuroemu.pipeline.RunResult` that ``run_pipeline`` returned) and returns the Figure,
saving nothing; ``plot_*`` draws the same Figure and writes it as a PNG through a temporary
name and a rename, so a half-drawn file never appears.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from neuroemu.errors import NeuroEmuError
from neuroemu.events import EVENT_KINDS
from neuroemu.outputs import write_atomically
from neuroemu.report import EnergyReport
from neuroemu.units import format_si

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from neuroemu.accounting.counting import EventCounts
    from neuroemu.accounting.layers import LayerReport
    from neuroemu.activity import Activity
    from neuroemu.mapping.mapping import Mapping
    from neuroemu.network.network import Network
    from neuroemu.spec.chip import ChipSpec


class RunLike(Protocol):
    """What a picture reads: a :class:`~neuroemu.traces.file.Trace` or a
    :class:`~neuroemu.pipeline.RunResult` (both have these)."""

    @property
    def network(self) -> Network: ...
    @property
    def chip(self) -> ChipSpec: ...
    @property
    def mapping(self) -> Mapping: ...
    @property
    def activity(self) -> Activity: ...
    @property
    def counts(self) -> EventCounts: ...
    @property
    def report(self) -> EnergyReport: ...
    @property
    def gpu_reports(self) -> list[EnergyReport]: ...
    @property
    def model(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def layers(self) -> LayerReport: ...


# Okabe & Ito (2008), "Color Universal Design": distinguishable under all common CVD types.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
STATIC_COLOUR = "#999999"
HATCHES = ("", "//", "..", "xx")


def new_figure(width: float, height: float) -> Figure:
    """A Figure built without pyplot (headless, no backend switch); the sweep plots use it too."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_png(figure: Figure, path: str | Path) -> Path:
    """Write the PNG atomically (a temporary name in the target folder, then a rename)."""
    target = Path(path)
    if not target.parent.is_dir():
        raise NeuroEmuError(f"cannot write {target}: folder {target.parent} does not exist")
    return write_atomically(
        target, lambda partial: figure.savefig(partial, format="png", dpi=150), what="plot"
    )


def _title(trace: RunLike, what: str) -> str:
    return f"{what}: {trace.model} on {trace.chip.name}, seed {trace.seed}"


def figure_raster(trace: RunLike, max_spikes: int = 300_000) -> Figure:
    """Spike raster, one colour band per population (inputs left out).

    Parameters
    ----------
    trace : Trace or RunResult
        A trace read with :func:`neuroemu.traces.file.read_trace`, or a run's result.
    max_spikes : int
        Draw at most this many spikes (a uniform random subset beyond, said in the title), so
        that a long run still renders in seconds.
    """
    activity, network = trace.activity, trace.network
    figure = new_figure(9, 5)
    ax = figure.add_subplot()
    total = sum(len(activity.spikes.get(p.name, ())) for p in network.populations)
    keep = min(1.0, max_spikes / total) if total else 1.0
    rng = np.random.default_rng(0)
    size = float(np.clip(3e4 / max(total * keep, 1), 0.5, 16.0))  # dots shrink as spikes grow
    offset = 0
    for index, pop in enumerate(network.populations):
        spikes = activity.spikes.get(pop.name)
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        n = 0 if spikes is None else len(spikes)
        rate = n / (pop.size * activity.duration_ms * 1e-3)
        label = f"{pop.name}: {pop.size:,} neurons, {rate:.3g} Hz"
        if spikes is not None and n:
            chosen = rng.random(n) < keep if keep < 1 else slice(None)
            t_ms = spikes.step[chosen] * activity.dt_ms
            y = spikes.neuron[chosen] + offset
            ax.scatter(t_ms, y, s=size, c=colour, marker=".", linewidths=0, rasterized=True,
                       label=label)  # fmt: skip
        else:
            ax.scatter([], [], c=colour, marker=".", label=label + " (silent)")
        offset += pop.size
        ax.axhline(offset - 0.5, color="#555555", linewidth=0.6)
    ax.set_xlim(0, activity.duration_ms)
    ax.set_ylim(-0.5, offset - 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (index, populations stacked)")
    sampled = f"; {100 * keep:.2g}% of {total:,} spikes drawn" if keep < 1 else ""
    ax.set_title(_title(trace, f"Spike raster ({total:,} spikes{sampled})"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=2, fontsize="small",
              title="population")  # fmt: skip
    return figure


def figure_rates(trace: RunLike, bin_ms: float | None = None) -> Figure:
    """Population firing rates over time (spikes per neuron per second in each bin).

    ``bin_ms`` defaults to about a hundredth of the run, rounded to whole timesteps.
    """
    activity, network = trace.activity, trace.network
    dt = activity.dt_ms
    steps_per_bin = max(1, round((bin_ms or activity.duration_ms / 100) / dt))
    n_bins = math.ceil(activity.n_steps / steps_per_bin)
    edges_ms = np.arange(n_bins + 1) * steps_per_bin * dt
    edges_ms[-1] = activity.duration_ms
    figure = new_figure(9, 4.5)
    ax = figure.add_subplot()
    for index, pop in enumerate(network.populations):
        spikes = activity.spikes.get(pop.name)
        steps = np.empty(0, np.int32) if spikes is None else spikes.step
        counts = np.bincount(steps // steps_per_bin, minlength=n_bins)[:n_bins]
        rate_hz = counts / (pop.size * np.diff(edges_ms) * 1e-3)
        ax.stairs(rate_hz, edges_ms, color=OKABE_ITO[index % len(OKABE_ITO)], linewidth=1.5,
                  label=f"{pop.name} ({pop.size:,} neurons)")  # fmt: skip
    ax.set_xlim(0, activity.duration_ms)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("population rate (Hz)")
    ax.set_title(_title(trace, f"Population rates in {steps_per_bin * dt:g} ms bins"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", title="population")
    return figure


def _core_grid(trace: RunLike) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Row and column of every core's cell: tiles on the mesh, a tile's cores side by side."""
    mapping = trace.mapping
    per_tile = trace.chip.topology.cores_per_tile.require()
    sub_w = math.ceil(math.sqrt(per_tile))
    sub_h = math.ceil(per_tile / sub_w)
    local = (np.arange(mapping.n_cores) % mapping.cores_per_chip) % per_tile
    xy = np.asarray(mapping.core_xy)
    return xy[:, 1] * sub_h + local // sub_w, xy[:, 0] * sub_w + local % sub_w, sub_w, sub_h


def _scaled(values: np.ndarray, unit: str) -> tuple[np.ndarray, str]:
    """Counts in the SI prefix that keeps the colour bar's numbers short (``k events``)."""
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if peak >= factor:
            return values / factor, f"{prefix}{unit}"
    return values, unit


def _energy_unit(values_pj: np.ndarray) -> tuple[np.ndarray, str]:
    """Energies from pJ to the unit (pJ ... J) that keeps the colour bar's numbers short."""
    peak = float(np.max(np.abs(values_pj))) if values_pj.size else 0.0
    for factor, unit in ((1e12, "J"), (1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ")):
        if peak >= factor:
            return values_pj / factor, unit
    return values_pj, "pJ"


def figure_cores(trace: RunLike, quantity: str = "energy") -> Figure:
    """Per-core heat map laid out on the chip's mesh; unused cores grey, chip edges drawn.

    Parameters
    ----------
    quantity : str
        ``energy`` (dynamic energy per core), ``events`` (synaptic events per core), or any
        event kind (``spike_out``, ``hop``...).
    """
    from matplotlib import colormaps

    mapping, chip = trace.mapping, trace.chip
    if quantity == "energy":
        per_core = trace.report.per_core_pj
        if per_core is None:
            raise NeuroEmuError(
                f"per-core energy is unpriced on {chip.name} ({', '.join(trace.report.unpriced)} "
                f"unknown): plot quantity 'events' instead"
            )
        values, unit = _energy_unit(np.asarray(per_core, dtype=float))
        label = f"dynamic energy per core ({unit})"
    else:
        kind = "synaptic_event" if quantity == "events" else quantity
        if kind not in trace.counts.per_core:
            raise NeuroEmuError(
                f"unknown quantity {quantity!r}: expected 'energy', 'events' or an event kind "
                f"({', '.join(trace.counts.per_core)})"
            )
        values, unit = _scaled(trace.counts.per_core[kind].astype(float), "")
        label = f"{kind} per core ({unit + ' ' if unit else ''}events)"
    rows, cols, sub_w, sub_h = _core_grid(trace)
    grid = np.full((rows.max() + 1, cols.max() + 1), np.nan)
    used = mapping.usage["neurons"] > 0
    grid[rows[used], cols[used]] = values[used]
    width_cells = chip.topology.mesh_width_tiles.require() * sub_w
    height_cells = chip.topology.mesh_height_tiles.require() * sub_h
    figure = new_figure(float(np.clip(3 + 0.6 * grid.shape[1], 7, 14)),
                     float(np.clip(2 + 0.6 * grid.shape[0], 3.5, 10)))  # fmt: skip
    ax = figure.add_subplot()
    cmap = colormaps["cividis"].with_extremes(bad="#e5e5e5")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, interpolation="nearest",
                      extent=(0, grid.shape[1], grid.shape[0], 0))  # fmt: skip
    figure.colorbar(image, ax=ax, label=label, shrink=0.9)
    _grid_lines(ax, grid.shape, sub_w, sub_h, "white", 0.5)
    _grid_lines(ax, grid.shape, width_cells, height_cells, "black", 2.0)
    ax.set_xlabel(f"mesh x (tiles; {sub_w} x {sub_h} cells per tile, one per core)")
    ax.set_ylabel("mesh y (tiles)")
    _tile_ticks(ax, grid.shape, sub_w, sub_h)
    what = "Dynamic energy" if quantity == "energy" else label.split(" (")[0]
    ax.set_title(
        _title(trace, f"{what} per core")
        + f"\n{mapping.n_cores_used} of {mapping.n_cores} cores used on {mapping.n_chips} chip(s);"
        " grey: unused; thick lines: chip edges"
    )
    return figure


def _grid_lines(ax: Axes, shape: tuple[int, int], every_x: int, every_y: int, colour: str,
                width: float) -> None:  # fmt: skip
    for x in range(0, shape[1] + 1, every_x):
        ax.axvline(x, color=colour, linewidth=width)
    for y in range(0, shape[0] + 1, every_y):
        ax.axhline(y, color=colour, linewidth=width)


def _tile_ticks(ax: Axes, shape: tuple[int, int], sub_w: int, sub_h: int) -> None:
    """Tick labels at tile centres, thinned so that at most about 16 show per axis."""
    for axis, cells, sub in ((ax.xaxis, shape[1], sub_w), (ax.yaxis, shape[0], sub_h)):
        tiles = cells // sub
        step = max(1, math.ceil(tiles / 16))
        ticks = np.arange(0, tiles, step)
        axis.set_ticks((ticks + 0.5) * sub, [str(t) for t in ticks])


def _reports(
    items: RunLike | EnergyReport | Sequence[RunLike | EnergyReport],
) -> list[EnergyReport]:
    if isinstance(items, EnergyReport) or hasattr(items, "report"):
        # One report, or one trace or run (recognised by its attribute: importing Trace imports
        # h5py).
        items = [cast("RunLike | EnergyReport", items)]
    reports: list[EnergyReport] = []
    for item in items:
        if isinstance(item, EnergyReport):
            reports.append(item)
        else:
            reports += [item.report, *item.gpu_reports]
    if not reports:
        raise NeuroEmuError("plot_energy needs at least one trace or energy report")
    return reports


def figure_energy(items: RunLike | EnergyReport | Sequence[RunLike | EnergyReport]) -> Figure:
    """Energy of each chip and GPU as stacked bars by part (event kinds, GPU terms, static).

    A log axis, so that chips and GPUs orders of magnitude apart share one picture; within a bar
    the largest part is at the bottom, where the log scale draws parts most faithfully. Traces
    contribute their chip report and all their GPU reports.
    """
    reports = _reports(items)
    parts: list[str] = []
    for report in reports:
        parts += [p for p in report.dynamic_pj if p not in parts]
    styles = {p: (OKABE_ITO[k % 8], HATCHES[(k // 8) % len(HATCHES)]) for k, p in enumerate(parts)}
    styles["static"] = (STATIC_COLOUR, "\\\\")
    figure = new_figure(max(7, 1.3 * len(reports) + 4), 5.5)
    ax = figure.add_subplot()
    drawn: set[str] = set()
    for x, report in enumerate(reports):
        pieces = {p: v for p, v in report.dynamic_pj.items() if v}
        if report.static_pj:
            pieces["static"] = report.static_pj
        bottom = 0.0
        for part, energy_pj in sorted(pieces.items(), key=lambda kv: -kv[1]):
            colour, hatch = styles[part]
            label = None if part in drawn else part
            ax.bar(x, energy_pj * 1e-12, bottom=bottom, color=colour, hatch=hatch, width=0.6,
                   edgecolor="white", linewidth=0.5, label=label)  # fmt: skip
            drawn.add(part)
            bottom += energy_pj * 1e-12
        total = report.total_j
        if total is None:
            text = "unpriced:\n" + ", ".join(report.unpriced)
        else:
            text = (
                format_si(total, "J")
                + f"\nstatic {100 * (report.static_pj or 0) * 1e-12 / total:.0f}%"
            )
        ax.text(x, max(bottom, 1e-30) * 1.15, text, ha="center", va="bottom", fontsize="small")
    ax.set_yscale("log")
    ax.set_xticks(range(len(reports)), [_bar_label(r) for r in reports], fontsize="small")
    ax.set_ylabel("energy (J, log scale)")
    ax.set_xlabel("device (execution style)")
    simulated = sorted({f"{r.simulated_ms:g}" for r in reports})
    ax.set_title(f"Energy by part (stacked) for {' / '.join(simulated)} ms of simulated time")
    handles, labels = ax.get_legend_handles_labels()
    order = [labels.index(p) for p in [*parts, "static"] if p in labels]
    ax.legend([handles[k] for k in order], [labels[k] for k in order], fontsize="small",
              loc="upper left", bbox_to_anchor=(1.01, 1.0), title="part")  # fmt: skip
    # From a decade below the smallest bar's own decade (so every bar's base part shows) to a
    # decade above the tallest (room for the totals).
    tops = [sum(v for v in r.dynamic_pj.values() if v) + (r.static_pj or 0) for r in reports]
    tops_j = np.array([t for t in tops if t > 0]) * 1e-12
    if tops_j.size:
        ax.set_ylim(10 ** (np.floor(np.log10(tops_j.min())) - 1), tops_j.max() * 10)
    return figure


def _bar_label(report: EnergyReport) -> str:
    kind = "chip" if report.device_kind == "chip" else report.style
    return f"{report.device}\n({kind})"


def figure_layers(trace: RunLike) -> Figure:
    """Dynamic energy per population (and input), stacked by event kind, with its work share.

    The bars sum to the run's dynamic energy (static energy belongs to no layer and is left
    out, said in the title); the label over each bar is the layer's share of the cores' work.
    """
    layers = trace.layers
    rows = layers.group_rows()
    names = [str(row["name"]) for row in rows]
    kinds = [k for k in EVENT_KINDS if any(row.get(f"{k}_pj") for row in rows)]
    figure = new_figure(max(6.0, 1.1 * len(rows) + 4), 4.8)
    ax = figure.add_subplot()
    bottom = np.zeros(len(rows))
    for index, kind in enumerate(kinds):
        values = np.array([float(row.get(f"{kind}_pj") or 0.0) for row in rows]) * 1e-12
        ax.bar(names, values, bottom=bottom, color=OKABE_ITO[index % len(OKABE_ITO)],
               label=kind, width=0.6, edgecolor="white", linewidth=0.5)  # fmt: skip
        bottom += values
    for x, (row, top) in enumerate(zip(rows, bottom, strict=True)):
        ax.text(x, top, f"{100 * float(row.get('work_share') or 0.0):.0f} % of work",
                ha="center", va="bottom", fontsize="small")  # fmt: skip
    ax.set_ylabel("dynamic energy (J)")
    ax.set_xlabel("population or input")
    ax.set_title(_title(trace, "Dynamic energy per layer (static energy not split)"))
    if kinds:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", title="kind")
    return figure


def plot_layers(trace: RunLike, path: str | Path) -> Path:
    """:func:`figure_layers`, written to the PNG file ``path``."""
    return save_png(figure_layers(trace), path)


def plot_raster(trace: RunLike, path: str | Path, max_spikes: int = 300_000) -> Path:
    """:func:`figure_raster`, written to the PNG file ``path``."""
    return save_png(figure_raster(trace, max_spikes), path)


def plot_rates(trace: RunLike, path: str | Path, bin_ms: float | None = None) -> Path:
    """:func:`figure_rates`, written to the PNG file ``path``."""
    return save_png(figure_rates(trace, bin_ms), path)


def plot_cores(trace: RunLike, path: str | Path, quantity: str = "energy") -> Path:
    """:func:`figure_cores`, written to the PNG file ``path``."""
    return save_png(figure_cores(trace, quantity), path)


def plot_energy(
    items: RunLike | EnergyReport | Sequence[RunLike | EnergyReport], path: str | Path
) -> Path:
    """:func:`figure_energy`, written to the PNG file ``path``."""
    return save_png(figure_energy(items), path)


PLOTS: dict[str, Any] = {
    "raster": plot_raster,
    "rates": plot_rates,
    "cores": plot_cores,
    "energy": plot_energy,
    "layers": plot_layers,
}
