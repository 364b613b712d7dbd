"""HTML tables for Jupyter: the ``_repr_html_`` of each public result type calls one function here.

A notebook shows an object's ``_repr_html_`` instead of its ``repr``. Each renderer returns a
small table with the figures of the object's short ``repr`` and ``to_dataframe`` (a summary and
at most :data:`MAX_ROWS` rows of parts, populations or jobs, with a line saying how many were
left out), never an array: a million-neuron run renders as fast and as short as a toy one.
Every text that comes from the object (names, paths, errors) goes through ``html.escape``, so a
population called ``<script>`` shows as text.

The objects are read by attribute, not imported: this module sits in layer 0 so that every
layer's classes can call it (lazily, from the method), and importing their classes here would
import upward and make cycles (see ``tests/test_boundaries.py``). It imports the standard
library and :mod:`neuroemu.units` only.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from neuroemu.units import format_si

#: Rows of a part, population, job or case table before the rest are summed up in one line.
MAX_ROWS = 12

#: Characters of one cell (an error with its traceback, a long path) before it is cut.
MAX_CELL = 160

_STYLE = "border-collapse:collapse;text-align:left"


def _text(value: Any) -> str:
    """A cell: ``None`` as an em dash, numbers as given, long text cut; always escaped."""
    if value is None:
        text = "\u2014"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}"
    else:
        text = str(value)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "\u2026"
    return html.escape(text)


def _caption(text: str) -> str:
    return f"<caption style='text-align:left'><b>{html.escape(text)}</b></caption>"


def fields_table(title: str, fields: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of ``(label, value)`` pairs under a caption.

    Parameters
    ----------
    title : str
        The caption (escaped).
    fields : iterable of (str, object)
        Labels and values (each escaped; ``None`` shows as a dash).

    Returns
    -------
    str
        One ``<table>`` element.
    """
    rows = "".join(f"<tr><th>{_text(label)}</th><td>{_text(value)}</td></tr>"
                   for label, value in fields)  # fmt: skip
    return f"<table style='{_STYLE}'>{_caption(title)}{rows}</table>"


def rows_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table with a header, at most :data:`MAX_ROWS` of ``rows`` and a line for the rest.

    Parameters
    ----------
    title : str
        The caption (escaped).
    columns : sequence of str
        Column headings.
    rows : sequence of sequences
        One sequence of cell values per row, as long as ``columns``.

    Returns
    -------
    str
        One ``<table>`` element; empty when there are no rows.
    """
    if not rows:
        return ""
    head = "".join(f"<th>{_text(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_text(v)}</td>" for v in row) + "</tr>" for row in rows[:MAX_ROWS]
    )
    if len(rows) > MAX_ROWS:
        more = f"\u2026 {len(rows) - MAX_ROWS:,} more"
        body += f"<tr><td colspan='{len(columns)}'><i>{html.escape(more)}</i></td></tr>"
    return f"<table style='{_STYLE}'>{_caption(title)}<tr>{head}</tr>{body}</table>"


def _block(*tables: str) -> str:
    return "<div>" + "".join(tables) + "</div>"


def _joules(pj: float | None) -> str:
    return format_si(None if pj is None else pj * 1e-12, "J")


def _ms(value: float | None) -> str | None:
    return None if value is None else f"{value:g} ms"


def _listed(items: Iterable[Any]) -> str | None:
    """Items joined with ``; `` (the first :data:`MAX_ROWS` and a count), ``None`` if none."""
    shown = list(itertools.islice(items, MAX_ROWS + 1))
    more = "; \u2026" if len(shown) > MAX_ROWS else ""
    return "; ".join(str(item) for item in shown[:MAX_ROWS]) + more or None


def energy_report_html(report: Any) -> str:
    """An :class:`~neuroemu.report.EnergyReport` as HTML: its totals, then energy per part
    (event kind or GPU term, and static) with the low and high ends, as ``to_dataframe``."""
    summary = fields_table(
        f"EnergyReport {report.device} ({report.device_kind}, {report.style}, "
        f"{report.scope} scope)",
        [
            ("total", format_si(report.total_j, "J")),
            ("time on device", format_si(report.time_s, "s")),
            ("simulated", f"{report.simulated_ms:g} ms"),
            ("energy per synaptic event", _joules(report.energy_per_synaptic_event_pj)),
            ("synaptic events", report.synaptic_events),
            ("method", report.method),
            ("operating point", report.operating_point or None),
            ("unpriced", _listed(report.unpriced)),
            ("notes", _listed(report.notes)),
        ],
    )

    def part_of(each: Any, part: str) -> float | None:
        if each is None:
            each = report
        value = each.static_pj if part == "static" else each.dynamic_pj.get(part)
        return None if value is None else float(value)

    parts = [
        (part, _joules(part_of(report, part)), _joules(part_of(report.low, part)),
         _joules(part_of(report.high, part)))
        for part in [*report.dynamic_pj, "static"]
    ]  # fmt: skip
    return _block(summary, rows_table("energy per part", ("part", "energy", "low", "high"), parts))


def event_counts_html(counts: Any) -> str:
    """:class:`~neuroemu.accounting.counting.EventCounts` as HTML: the run's size, then per
    event kind its total and its busiest core (``to_dataframe`` has one row per core)."""
    summary = fields_table(
        f"EventCounts on {counts.chip_name}",
        [
            ("steps", counts.n_steps),
            ("dt", f"{counts.dt_ms:g} ms"),
            ("simulated", f"{counts.simulated_ms:g} ms"),
            ("cores used", f"{counts.n_cores_used:,} of {counts.n_cores:,}"),
            ("chips", counts.n_chips),
        ],
    )
    rows = []
    for kind, total in counts.totals().items():
        per_core = counts.per_core[kind]
        busiest = int(per_core.argmax()) if len(per_core) else None
        rows.append((kind, total, busiest, None if busiest is None else int(per_core[busiest])))
    kinds = rows_table("events", ("kind", "total", "busiest core", "on it"), rows)
    return _block(summary, kinds)


def activity_html(activity: Any) -> str:
    """An :class:`~neuroemu.activity.Activity` as HTML: the run, then spikes per group."""
    summary = fields_table(
        f"Activity of seed {activity.seed}",
        [
            ("simulated", f"{activity.duration_ms:g} ms"),
            ("steps", f"{activity.n_steps:,} of {activity.dt_ms:g} ms"),
            ("spikes", activity.n_spikes),
            ("device", activity.device),
            ("wall time", format_si(activity.wall_time_s, "s")),
            ("state recorded", _listed(activity.state) or "no"),
            ("plastic projections", _listed(activity.final_weights)),
        ],
    )
    rows = [(name, len(spikes)) for name, spikes in activity.spikes.items()]
    return _block(summary, rows_table("spikes per group", ("group", "spikes"), rows))


def mapping_html(mapping: Any) -> str:
    """A :class:`~neuroemu.mapping.mapping.Mapping` as HTML: chips and cores used, then the
    utilisation of each resource over the used cores (minimum, mean, maximum)."""
    summary = fields_table(
        f"Mapping on {mapping.chip.name} ({mapping.strategy})",
        [
            ("neurons", len(mapping.core_of_neuron)),
            ("cores used", f"{mapping.n_cores_used:,} of {mapping.n_cores:,}"),
            ("chips", mapping.n_chips),
            ("warnings", _listed(mapping.warnings)),
        ],
    )
    rows = []
    for name, values in mapping.utilisation().items():
        if len(values):
            low, mean, high = (100 * float(v) for v in (values.min(), values.mean(), values.max()))
            rows.append((name, mapping.limits[name], f"{low:.1f}", f"{mean:.1f}", f"{high:.1f}"))
    usage = rows_table(
        "utilisation of the used cores (%)", ("resource", "limit", "min", "mean", "max"), rows
    )
    return _block(summary, usage)


def network_html(network: Any) -> str:
    """A :class:`~neuroemu.network.network.Network` as HTML: its size, then its populations,
    projections and inputs (names, sizes, neuron models)."""
    summary = fields_table(
        f"Network {network.name!r}",
        [
            ("neurons", network.n_neurons),
            ("synapses", network.n_synapses),
            ("input sources", network.n_input_sources),
            ("inference", _ms(network.inference_ms)),
        ],
    )
    pops = [
        (p.name, p.size, getattr(p.model, "name", p.model), "chip" if p.on_chip else "host")
        for p in network.populations
    ]
    projs = [(p.name, f"{p.pre} \u2192 {p.post}", p.n_synapses, p.target)
             for p in network.projections]  # fmt: skip
    inputs = [(s.name, s.size, type(s).__name__) for s in network.inputs]
    return _block(
        summary,
        rows_table("populations", ("population", "neurons", "model", "on"), pops),
        rows_table("projections", ("projection", "from \u2192 to", "synapses", "target"), projs),
        rows_table("inputs", ("input", "sources", "kind"), inputs),
    )


def _energy_rows(reports: Iterable[Any]) -> list[tuple[str, str, str, str]]:
    return [
        (f"{r.device} ({r.scope})", format_si(r.total_j, "J"), format_si(r.time_s, "s"),
         _joules(r.energy_per_synaptic_event_pj))
        for r in reports
    ]  # fmt: skip


_ENERGY_COLUMNS = ("device", "energy", "time", "per synaptic event")


def trace_html(trace: Any) -> str:
    """A :class:`~neuroemu.traces.file.Trace` as HTML: which run it holds, then its energy and
    time on the chip (each scope) and on each GPU priced."""
    summary = fields_table(
        f"Trace {trace.path}",
        [
            ("model", trace.model),
            ("chip", trace.chip.name),
            ("seed", trace.seed),
            ("neurons", trace.network.n_neurons),
            ("simulated", f"{trace.activity.duration_ms:g} ms"),
            ("spikes", trace.activity.n_spikes),
            ("cores used", trace.mapping.n_cores_used),
            ("format version", trace.format_version),
            ("complete", "yes" if trace.complete else "no (interrupted)"),
        ],
    )
    reports = [*(trace.scope_reports.values() or [trace.report]), *trace.gpu_reports]
    return _block(summary, rows_table("energy and time", _ENERGY_COLUMNS, _energy_rows(reports)))


def run_result_html(result: Any) -> str:
    """A :class:`~neuroemu.pipeline.RunResult` as HTML: which run, its size, then its energy and
    time on the chip (each scope) and on each GPU priced."""
    summary = fields_table(
        f"RunResult {result.model} on {result.chip.name}, seed {result.seed}",
        [
            ("neurons", result.network.n_neurons),
            ("cores used", result.mapping.n_cores_used),
            ("chips", result.mapping.n_chips),
            ("simulated", f"{result.activity.duration_ms:g} ms"),
            ("spikes", result.activity.n_spikes),
            ("complete", "yes" if result.complete else "no (interrupted)"),
            ("notes", _listed(result.notes)),
        ],
    )
    reports = [*(result.scope_reports.values() or [result.report]), *result.gpu_reports]
    return _block(summary, rows_table("energy and time", _ENERGY_COLUMNS, _energy_rows(reports)))


def sweep_html(outcome: Any) -> str:
    """A :class:`~neuroemu.sweep.runner.SweepOutcome` as HTML: jobs done and failed, the
    tables written, then each job's chip energy and time (failed ones with their error)."""
    results = sorted(outcome.results.values(), key=lambda r: r.index)
    failed = [r for r in results if r.status != "done"]
    summary = fields_table(
        "Sweep",
        [
            ("jobs", len(results)),
            ("done", len(results) - len(failed)),
            ("failed", len(failed)),
            ("run now", len(outcome.ran)),
            ("kept from before", outcome.kept),
            ("tables", _listed(str(p) for p in outcome.tables.values())),
        ],
    )
    rows = []
    for result in results:  # failed jobs first: they are what a user looks for
        row = result.rows[0] if result.rows else {}
        figures = (
            (format_si(row.get("total_j"), "J"), format_si(row.get("time_s"), "s"))
            if result.status == "done" else (None, None)
        )  # fmt: skip
        rows.append((result.index, row.get("model"), row.get("chip"), row.get("seed"),
                     result.status, *figures, result.error.split("\n")[0] or None))  # fmt: skip
    rows.sort(key=lambda r: r[4] == "done")
    columns = ("job", "model", "chip", "seed", "status", "energy", "time", "error")
    return _block(summary, rows_table("jobs (first row of each)", columns, rows))


def validation_html(rows: Sequence[Any]) -> str:
    """:class:`~neuroemu.validate.Row` results as HTML: each case's estimate against the
    published figure, the ratio and the verdict (misses first)."""
    cells = []
    for row in rows:
        ratio = row.ratio
        case = row.case
        # The estimate in the case's unit (the row holds it in SI base units).
        estimate = None if ratio is None else f"{ratio * case.published:.3g} {case.unit}"
        cells.append((case.id, case.chip, estimate, f"{case.published:g} {case.unit}",
                      None if ratio is None else f"{ratio:.2f}", row.verdict))  # fmt: skip
    cells.sort(key=lambda c: c[5] == "pass")
    counts = {v: sum(c[5] == v for c in cells) for v in ("pass", "miss", "unpriced")}
    title = ", ".join(f"{n} {v}" for v, n in counts.items() if n) or "no cases"
    columns = ("case", "chip", "estimate", "published", "ratio", "verdict")
    return rows_table(f"Validation: {title}", columns, cells) or fields_table(title, [])
