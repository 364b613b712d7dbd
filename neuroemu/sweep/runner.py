"""``run_sweep``: a sweep file to a journal and tables, resuming where an earlier run stopped.

The client keeps the bookkeeping and Dask (:mod:`neuroemu.sweep.execute`) the work: jobs the
journal already holds are not submitted, each finished group is journaled the moment it
arrives, and the tables are rebuilt from the journal at the end -- also after an interrupt or
an error, so what finished is always in them. A lock on the output folder keeps two sweeps
from writing one journal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from neuroemu.errors import NeuroEmuError
from neuroemu.sweep.execute import Progress, execute
from neuroemu.sweep.jobs import JobResult
from neuroemu.sweep.results import Journal, write_tables
from neuroemu.sweep.spec import Sweep, load_sweep

LOCK = ".sweep.lock"


@dataclass
class SweepOutcome:
    """What a sweep left behind: every job's result (this run's and earlier ones'), the jobs
    run now, and the table files."""

    results: dict[str, JobResult]
    ran: list[str]
    kept: int
    tables: dict[str, Path]
    progress: Progress

    def __repr__(self) -> str:
        # The default repr printed every job's rows (a line of ~2,000 characters per job).
        failed = len(self.failed)
        return (
            f"<SweepOutcome: {len(self.results):,} jobs, {len(self.results) - failed:,} done, "
            f"{failed:,} failed; {len(self.ran):,} run now, {self.kept:,} kept from before>"
        )

    def _repr_html_(self) -> str:
        from neuroemu.notebook import sweep_html

        return sweep_html(self)

    @property
    def failed(self) -> list[JobResult]:
        """Results of the jobs that failed, in job order."""
        return sorted((r for r in self.results.values() if r.status != "done"),
                      key=lambda r: r.index)  # fmt: skip


def run_sweep(
    sweep: str | Path | Sweep,
    scheduler: str | None = None,
    n_workers: int | None = None,
    folder: str | Path | None = None,
    retry_failed: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    on_results: Callable[[list[JobResult]], None] | None = None,
) -> SweepOutcome:
    """Run the jobs of a sweep not finished before; write the journal and the tables.

    Parameters
    ----------
    sweep : str, Path or Sweep
        The sweep file, or one loaded with :func:`~neuroemu.sweep.spec.load_sweep`.
    scheduler : str or None
        A Dask scheduler address; ``None`` starts a LocalCluster.
    n_workers : int or None
        Workers of the LocalCluster.
    folder : str, Path or None
        Output folder instead of the file's ``outputs.folder``.
    retry_failed : bool
        Run again the jobs that failed before (by default a failure is a finished job).
    on_progress, on_results : callable or None
        Called with the progress every tick, and with each group's results once journaled.

    Returns
    -------
    SweepOutcome
    """
    from filelock import FileLock, Timeout

    loaded = sweep if isinstance(sweep, Sweep) else load_sweep(sweep)
    out = Path(folder) if folder is not None else loaded.folder
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeuroEmuError(f"cannot create the sweep's output folder {out}: {exc}") from None
    lock = FileLock(str(out / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise NeuroEmuError(
            f"{out} is in use by another sweep (lock {out / LOCK}); wait for it or choose "
            f"another --out folder"
        ) from None
    try:
        return _run_locked(loaded, out, scheduler, n_workers, retry_failed, on_progress,
                           on_results)  # fmt: skip
    finally:
        lock.release()


def _run_locked(
    sweep: Sweep,
    out: Path,
    scheduler: str | None,
    n_workers: int | None,
    retry_failed: bool,
    on_progress: Callable[[Progress], None] | None,
    on_results: Callable[[list[JobResult]], None] | None,
) -> SweepOutcome:
    journal = Journal(out)
    planned = {job.key for job in sweep.jobs}
    earlier = {k: r for k, r in journal.read().items() if k in planned}
    if retry_failed:
        earlier = {k: r for k, r in earlier.items() if r.status == "done"}
    todo = [job for job in sweep.jobs if job.key not in earlier]
    groups: dict[str, list] = {}
    for job in todo:
        groups.setdefault(job.simulation_key, []).append(job)
    ran: list[str] = []
    trace_folder = str(out.resolve()) if sweep.spec.outputs.traces else None

    def record(finished: list[JobResult]) -> None:
        journal.append(finished)
        ran.extend(result.key for result in finished)
        if on_results is not None:
            on_results(finished)

    progress = Progress(total=len(sweep.jobs), skipped=len(earlier))
    try:
        progress = execute(list(groups.values()), record, scheduler, n_workers, trace_folder,
                           on_progress, total=len(sweep.jobs))  # fmt: skip
    finally:
        # The journal, not this process's memory, says what finished: an interrupt between a
        # journal line and the bookkeeping after it must not leave a job out of the tables.
        results = {k: r for k, r in journal.read().items() if k in planned}
        tables = write_tables(out, results.values())
    return SweepOutcome(results, ran, len(earlier), tables, progress)
