"""Running groups of sweep jobs on Dask: the only module that imports ``dask``/``distributed``.

Without a scheduler address a :class:`distributed.LocalCluster` of worker *processes* with one
thread each is started (Brian2 keeps process-wide state, so two runs must never share a
process at once); with an address (``tcp://host:8786``) the jobs go to that scheduler's
workers, which should be started with ``--nthreads 1`` for the same reason (a worker with more
threads stays correct, runs one simulation at a time, and wastes the rest). Each group of jobs
sharing a simulation is one Dask task. Results are handed to the caller as they arrive, in
completion order, so the caller can record them before anything else can go wrong.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from neuroemu.errors import NeuroEmuError
from neuroemu.sweep.jobs import Job, JobResult, failed_result, preload_engine, run_group


@dataclass
class Progress:
    """Where a sweep stands, in jobs."""

    total: int
    done: int = 0
    failed: int = 0
    running: int = 0
    skipped: int = 0
    started: float = 0.0

    @property
    def finished(self) -> int:
        """Jobs finished in this session, done or failed."""
        return self.done + self.failed

    def eta_s(self) -> float | None:
        """Seconds left at the rate jobs have finished in this session (None before one has)."""
        left = self.total - self.skipped - self.finished
        if self.finished == 0:
            return None
        return (time.perf_counter() - self.started) / self.finished * left


def execute(
    groups: Sequence[list[Job]],
    on_results: Callable[[list[JobResult]], None],
    scheduler: str | None = None,
    n_workers: int | None = None,
    trace_folder: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    total: int | None = None,
    tick_s: float = 0.5,
) -> Progress:
    """Run every group on Dask and pass each group's results to ``on_results`` as it ends.

    Parameters
    ----------
    groups : sequence of list of Job
        Jobs grouped by shared simulation (one Dask task each), in the order to start them.
    on_results : callable
        Called in this process with the results of each finished group.
    scheduler : str or None
        Address of a running Dask scheduler; ``None`` starts a LocalCluster.
    n_workers : int or None
        Workers of the LocalCluster (default: the CPUs, at most one per group); ignored with a
        scheduler address.
    trace_folder : str or None
        Where workers write traces (``None``: no traces).
    on_progress : callable or None
        Called with the :class:`Progress` every ``tick_s`` seconds and after each group.
    total : int or None
        Jobs in the whole sweep (including those done before), for the progress.

    Returns
    -------
    Progress
        The final counts. An interrupt (KeyboardInterrupt) cancels the tasks still queued,
        closes the cluster and propagates.
    """
    from distributed import Client, LocalCluster, wait

    n_jobs = sum(len(g) for g in groups)
    progress = Progress(total=total or n_jobs, skipped=(total or n_jobs) - n_jobs,
                        started=time.perf_counter())  # fmt: skip
    if not groups:
        return progress
    cluster = None
    try:
        if scheduler is None:
            workers = n_workers or min(os.cpu_count() or 1, len(groups))
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                # Loopback only; the scheduler's HTTP server (on even without a dashboard) on
                # a free port, not 8787, which another cluster may hold.
                host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
            )  # fmt: skip
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="10s")
    except (OSError, RuntimeError) as exc:
        # OSError: no scheduler at the address; RuntimeError: a local worker process did not
        # come up in time (a machine loaded far past its cores).
        if cluster is not None:
            cluster.close()
        cause = exc.__cause__ or exc
        where = f"reach the Dask scheduler {scheduler}" if scheduler else "start a local cluster"
        raise NeuroEmuError(f"cannot {where}: {type(cause).__name__}: {cause}") from None
    try:
        client.register_plugin(_engine_plugin(), name="neuroemu-engine")
        _run(client, groups, on_results, trace_folder, progress, on_progress, tick_s, wait)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return progress


def _engine_plugin() -> Any:
    """A worker plugin that imports Brian2 in each worker's main thread as it starts (see
    :func:`~neuroemu.sweep.jobs.preload_engine`), on workers that join later too."""
    from distributed import WorkerPlugin

    class EnginePreload(WorkerPlugin):
        def setup(self, worker: Any) -> None:
            preload_engine()

    return EnginePreload()


def _run(
    client: Any,
    groups: Sequence[list[Job]],
    on_results: Callable[[list[JobResult]], None],
    trace_folder: str | None,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
    tick_s: float,
    wait: Any,
) -> None:
    """Submit, then collect in completion order until nothing is pending."""
    from distributed import TimeoutError as DaskTimeout

    futures = {}
    for index, group in enumerate(groups):
        # Earlier groups first: an interrupted sweep has finished a prefix, as a loop would.
        future = client.submit(run_group, group, trace_folder, pure=False, priority=-index)
        futures[future.key] = (future, group)
    pending = {f for f, _ in futures.values()}
    try:
        while pending:
            try:
                finished, pending = wait(pending, timeout=tick_s, return_when="FIRST_COMPLETED")
            except (TimeoutError, DaskTimeout):
                finished = set()
            for future in finished:
                group = futures[future.key][1]
                try:
                    results = future.result()
                except Exception as exc:  # a worker died or the task was lost: the jobs failed
                    results = [failed_result(job, f"the Dask task failed: {type(exc).__name__}: "
                                                  f"{exc}") for job in group]  # fmt: skip
                on_results(results)
                progress.done += sum(r.status == "done" for r in results)
                progress.failed += sum(r.status != "done" for r in results)
            if on_progress is not None:
                progress.running = _running(client, futures, pending)
                on_progress(progress)
    except BaseException:
        client.cancel(list(pending))
        raise
    progress.running = 0


def _running(client: Any, futures: dict[Any, Any], pending: set[Any]) -> int:
    """Jobs in tasks a worker is processing now (0 if the scheduler does not say)."""
    try:
        processing = client.processing()
    except Exception:
        return 0
    try:
        threads = client.nthreads()
    except Exception:
        threads = {}
    pending_keys = {f.key for f in pending}
    running = 0
    for worker, tasks in processing.items():
        # A worker is handed a task or so ahead of the ones it runs: at most its threads run.
        ours = [key for key in tasks if key in pending_keys and key in futures]
        running += sum(len(futures[key][1]) for key in ours[: threads.get(worker, len(ours))])
    return running
