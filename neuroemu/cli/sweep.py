"""``neuroemu sweep``: run a sweep file on Dask, resumably, with a progress line.

A thin layer over :mod:`neuroemu.sweep`. The progress line is drawn here with click (already a
dependency) rather than with tqdm or rich: it needs three counts (done, failed, running) and an
estimate of the time left, which is one formatted line, not a reason for another package.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from neuroemu.cli.exit_codes import EXIT_INTERRUPTED
from neuroemu.errors import NeuroEmuError

if TYPE_CHECKING:
    from neuroemu.sweep.execute import Progress


class ProgressLine:
    """``[#####.....] 5/12 done 4, failed 1, running 2, about 12 s left`` on a terminal
    (redrawn in place), or one plain line per change when stderr is a file or a pipe."""

    def __init__(self, width: int = 24) -> None:
        self.width = width
        self.tty = sys.stderr.isatty()
        self.last = ""
        self.drawn = 0.0

    def __call__(self, progress: Progress) -> None:
        finished = progress.skipped + progress.finished
        filled = round(self.width * finished / max(progress.total, 1))
        eta = progress.eta_s()
        left = "" if eta is None else f", about {_seconds(eta)} left"
        kept = f" ({progress.skipped} from before)" if progress.skipped else ""
        text = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {finished}/{progress.total}{kept}: "
            f"done {progress.done}, failed {progress.failed}, running {progress.running}{left}"
        )
        if self.tty:
            now = time.monotonic()
            if text != self.last or now - self.drawn > 1:
                click.echo(f"\r{text}\x1b[K", err=True, nl=False)
                self.drawn = now
        elif text.split(", about")[0] != self.last.split(", about")[0]:
            click.echo(text, err=True)
        self.last = text

    def close(self) -> None:
        """End the line drawn in place."""
        if self.tty and self.last:
            click.echo("", err=True)


def _seconds(value: float) -> str:
    if value < 90:
        return f"{value:.0f} s"
    if value < 5400:
        return f"{value / 60:.0f} min"
    return f"{value / 3600:.1f} h"


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Address of a running Dask scheduler (tcp://host:8786); its workers should run with "
    "--nthreads 1. Default: start a local cluster of worker processes.",
)
@click.option(
    "--workers",
    "n_workers",
    type=click.IntRange(min=1),
    default=None,
    help="Workers of the local cluster (default: one per CPU); ignored with --scheduler.",
)
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder instead of the file's outputs.folder.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="[DEVICE:]FIELD=VALUE",
    help="Override a descriptor field in every job (repeatable), e.g. --set "
    "core.synapse_memory_bits=2097152; a DEVICE: prefix aims it at one chip or GPU.",
)
@click.option("--retry-failed", is_flag=True, help="Run again the jobs that failed before.")
def sweep_command(
    sweep_file: Path,
    scheduler: str | None,
    n_workers: int | None,
    folder: Path | None,
    overrides: tuple[str, ...],
    retry_failed: bool,
) -> None:
    """Run a SWEEP file on Dask: every job once, resumable, with result tables.

    See sweeps/example.yaml for the format. Each finished job is journaled at once, so an
    interrupted sweep (Ctrl-C, exit status 130) resumes where it stopped when run again; a
    failing job is recorded with its error and the others go on. Writes journal.jsonl,
    jobs.csv/.parquet (one row per job and device) and summary.csv/.parquet (mean and spread
    over seeds) to the output folder.
    """
    from neuroemu.cli.main import Terminated
    from neuroemu.sweep import load_sweep, run_sweep

    sweep = load_sweep(sweep_file, overrides)
    out = folder if folder is not None else sweep.folder
    line = ProgressLine()
    click.echo(
        f"{len(sweep.jobs)} job(s), {len(sweep.groups())} simulation(s), on "
        f"{scheduler or 'a local cluster'}; results in {out}",
        err=True,
    )
    try:
        outcome = run_sweep(
            sweep, scheduler, n_workers, folder, retry_failed=retry_failed, on_progress=line
        )
    except (KeyboardInterrupt, Terminated) as exc:
        line.close()
        code = exc.code if isinstance(exc, Terminated) else EXIT_INTERRUPTED
        click.echo(
            f"Interrupted: the jobs that finished are kept in {out} (journal.jsonl and the "
            f"tables); run the same command again to do the rest",
            err=True,
        )
        click.get_current_context().exit(code)
    line.close()
    done = sum(r.status == "done" for r in outcome.results.values())
    click.echo(
        f"{done} of {len(sweep.jobs)} job(s) done ({len(outcome.ran)} run now, {outcome.kept} "
        f"from before); wrote {', '.join(sorted(p.name for p in outcome.tables.values()))} to "
        f"{out}"
    )
    failed = outcome.failed
    if failed:
        for result in failed[:10]:
            click.echo(f"  failed job {result.index}: {result.error.splitlines()[0]}", err=True)
        raise NeuroEmuError(
            f"{len(failed)} of {len(sweep.jobs)} job(s) failed (their errors are in "
            f"{out / 'jobs.csv'}); fix them and run again with --retry-failed"
        )
