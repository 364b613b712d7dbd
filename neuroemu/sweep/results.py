"""A sweep's results on disk: the journal of finished jobs, and the tables made from it.

The **journal** (``journal.jsonl``) is what makes a sweep resumable: one JSON line per finished
job (done or failed), appended by the client the moment the job's result arrives, flushed and
synced before the next. A job is in the journal exactly when it finished, so a rerun skips
those and runs the rest; a line torn by a kill mid-write is not valid JSON and is ignored (that
job simply runs again). Nothing else is ever rewritten in place.

The **tables** are rebuilt from the journal, in job order, with
:func:`~neuroemu.outputs.write_atomically`: ``jobs.csv`` / ``jobs.parquet`` (one row per job
and device priced, failed jobs with their error) and ``summary.csv`` / ``summary.parquet`` (the
mean, spread, low and high of each figure over the seeds of otherwise equal jobs). This module
is the only importer of pyarrow.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from neuroemu.errors import TraceError
from neuroemu.experiment import REPORT_COLUMNS
from neuroemu.outputs import write_atomically
from neuroemu.sweep.jobs import JOB_COLUMNS, ROW_VERSION, JobResult

JOURNAL = "journal.jsonl"

#: Figures averaged over seeds in the summary table.
METRICS = (
    "total_j", "time_s", "static_j", "dynamic_j", "energy_per_synaptic_event_pj",
    "energy_delay_product_js", "synaptic_events", "n_spikes", "n_cores_used",
)  # fmt: skip
# Columns that differ between the seeds of one configuration, left out of its summary key.
_PER_SEED = frozenset(
    {"job_key", "seed", "trace", "n_spikes", "n_synapses", "n_cores_used", "n_chips", "error",
     "status", *REPORT_COLUMNS}
)  # fmt: skip
_KEY_REPORT = ("device", "device_kind", "style", "method", "scope")


class Journal:
    """The append-only record of finished jobs in a sweep's output folder."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL

    def read(self) -> dict[str, JobResult]:
        """Finished jobs by key (the last entry of a key wins; torn lines are skipped)."""
        found: dict[str, JobResult] = {}
        if not self.path.exists():
            return found
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TraceError(f"{self.path}: cannot read the sweep journal: {exc}") from None
        for line in text.splitlines():
            try:
                data = json.loads(line)
                if data.get("v") != ROW_VERSION:
                    continue
                result = JobResult.from_json(data)
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a line cut short by a kill: that job runs again
            found[result.key] = result
        return found

    def append(self, results: Iterable[JobResult]) -> None:
        """Record finished jobs: one line each, on disk before this returns."""
        lines = "".join(json.dumps(r.to_json(), allow_nan=True) + "\n" for r in results)
        if not lines:
            return
        try:
            # A torn tail from a killed run must not glue onto our first line.
            needs_newline = False
            if self.path.exists() and self.path.stat().st_size > 0:
                with open(self.path, "rb") as tail:
                    tail.seek(-1, os.SEEK_END)
                    needs_newline = tail.read(1) != b"\n"
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(("\n" if needs_newline else "") + lines)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise TraceError(f"{self.path}: cannot record finished jobs: {exc}") from None


def table_rows(results: Iterable[JobResult]) -> list[dict[str, Any]]:
    """The rows of the jobs table, in job order."""
    rows: list[dict[str, Any]] = []
    for result in sorted(results, key=lambda r: r.index):
        rows.extend(result.rows)
    return rows


def columns_of(rows: list[dict[str, Any]], first: Iterable[str]) -> list[str]:
    """``first`` and then every other column the rows have, in order of appearance."""
    names = list(first)
    seen = set(names)
    for row in rows:
        for name in row:
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean, spread (sample standard deviation, 0 for one seed), low and high of each of
    :data:`METRICS` over the seeds of jobs that are otherwise equal, per device priced."""
    groups: dict[str, list[dict[str, Any]]] = {}
    keys: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.get("status") != "done":
            continue
        key_fields = {k: v for k, v in row.items() if k not in _PER_SEED}
        key_fields.update({k: row.get(k) for k in _KEY_REPORT})
        key = json.dumps(key_fields, sort_keys=True, default=str)
        groups.setdefault(key, []).append(row)
        keys[key] = key_fields
    out = []
    for key, members in groups.items():
        summary: dict[str, Any] = {**keys[key], "n_seeds": len(members),
                                   "seeds": " ".join(str(m["seed"]) for m in members)}  # fmt: skip
        for metric in METRICS:
            values = [float(m[metric]) for m in members if _number(m.get(metric))]
            if not values:
                summary.update({f"{metric}_{s}": None for s in ("mean", "std", "min", "max")})
                continue
            mean = math.fsum(values) / len(values)
            spread = (
                math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))
                if len(values) > 1 else 0.0
            )  # fmt: skip
            summary[f"{metric}_mean"], summary[f"{metric}_std"] = mean, spread
            summary[f"{metric}_min"], summary[f"{metric}_max"] = min(values), max(values)
        out.append(summary)
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def write_tables(folder: Path, results: Iterable[JobResult]) -> dict[str, Path]:
    """Write ``jobs`` and ``summary`` as CSV and Parquet, atomically; their paths by name."""
    rows = table_rows(results)
    jobs_columns = columns_of(rows, [*JOB_COLUMNS, *REPORT_COLUMNS])
    summary = summarise(rows)
    summary_columns = columns_of(summary, [])
    written = {}
    for name, data, columns in (("jobs", rows, jobs_columns), ("summary", summary,
                                                               summary_columns)):  # fmt: skip
        written[f"{name}.csv"] = _write_csv(folder / f"{name}.csv", data, columns)
        written[f"{name}.parquet"] = _write_parquet(folder / f"{name}.parquet", data, columns)
    return written


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    text = buffer.getvalue()

    def write(partial: Path) -> None:
        partial.write_text(text, encoding="utf-8")

    return write_atomically(path, write, what="sweep table")


def _write_parquet(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> Path:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    arrays = {}
    for name in columns:
        values = [row.get(name) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds and kinds <= {int, float} and kinds != {int}:
            values = [None if v is None else float(v) for v in values]
        elif len(kinds) > 1:  # mixed text and numbers (a parameter swept over both)
            values = [None if v is None else str(v) for v in values]
        arrays[name] = values
    table = pa.table(arrays) if rows else pa.table({name: pa.array([]) for name in columns})
    return write_atomically(path, lambda partial: pq.write_table(table, partial),
                            what="sweep table")  # fmt: skip


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a sweep table written by :func:`write_tables` (Parquet or CSV)."""
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_table(path).to_pylist())
        with open(path, newline="", encoding="utf-8") as handle:
            rows: list[dict[str, Any]] = list(csv.DictReader(handle))
    except Exception as exc:  # pyarrow raises its own types for a damaged file
        raise TraceError(f"{path}: cannot read the sweep table: {exc}") from None
    for row in rows:
        for name, value in row.items():
            row[name] = _parsed(value)
    return rows


def _parsed(text: Any) -> Any:
    if text == "" or text is None:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            continue
    return text
