"""What running a sweep on Dask gains (2 workers against 1) and costs (against a plain loop).

Jobs: the bundled CUBA model at ``--scale`` on Loihi, one seed per job so that no two jobs
share a simulation, Brian2's numpy device (no compiler, the same cost in every process).

Part 1 (speed-up): ``--small`` jobs of ``--small-ms`` of biological time each, run through
:func:`neuroemu.sweep.execute.execute` on a LocalCluster of 1 worker, then of 2. The rate is
taken between the first and the last job to finish, so the one-off start of the cluster (worker
processes importing Brian2: seconds, more on a busy machine) is left out of it and reported on
its own line, with the wall-clock ratio that includes it. Target: >= 1.6x.

Part 2 (overhead): ``--long`` jobs of ``--long-ms`` each (a second or more of work), once in a
plain loop in this process (after one untimed job, so Brian2 is imported and warm as it is in a
worker) and once on a 1-worker LocalCluster. The per-job overhead is the difference of the time
per job (loop: the median; Dask: the gap between successive completions) over the loop's time
per job. Target: < 5 %.

Run ``python benchmarks/sweep.py`` (``--small``, ``--small-ms``, ``--long``, ``--long-ms``,
``--scale``). Timings on a shared 2-core machine are noisy: the load average is printed first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from neuroemu.sweep.execute import execute
from neuroemu.sweep.jobs import Job, JobResult, run_group
from neuroemu.sweep.spec import load_sweep

SWEEP = """\
format_version: 1
kind: sweep
grid:
  models: [cuba]
  params: {{scale: [{scale}]}}
  chips: [loihi]
  seeds: [{seeds}]
  durations_ms: [{duration_ms}]
device: numpy
outputs: {{folder: out}}
"""


def make_jobs(folder: Path, n_jobs: int, duration_ms: float, scale: float) -> list[Job]:
    """``n_jobs`` jobs with distinct seeds (no shared simulations)."""
    path = folder / f"sweep_{n_jobs}_{duration_ms:g}.yaml"
    seeds = ", ".join(str(seed) for seed in range(1, n_jobs + 1))
    path.write_text(SWEEP.format(scale=scale, seeds=seeds, duration_ms=duration_ms))
    sweep = load_sweep(path)
    assert len(sweep.groups()) == n_jobs
    return sweep.jobs


def on_dask(jobs: list[Job], n_workers: int) -> tuple[float, list[float], list[float]]:
    """Wall time of the whole run (cluster start included), each job's completion time in
    seconds from the call, and each job's own time as its worker measured it (in order of
    completion)."""
    finished: list[float] = []
    worked: list[float] = []
    started = time.perf_counter()

    def record(results: list[JobResult]) -> None:
        bad = [r.error for r in results if r.status != "done"]
        if bad:
            raise RuntimeError(f"a benchmark job failed: {bad[0]}")
        finished.extend(time.perf_counter() - started for _ in results)
        worked.extend(r.seconds for r in results)

    execute([[job] for job in jobs], record, n_workers=n_workers)
    return time.perf_counter() - started, finished, worked


def steady_rate(finished: list[float]) -> float:
    """Jobs per second between the first and the last completion."""
    return (len(finished) - 1) / (finished[-1] - finished[0])


def in_a_loop(jobs: list[Job]) -> list[float]:
    """Seconds each job takes run one after the other in this process."""
    run_group([jobs[0]])  # untimed: imports Brian2 and warms its caches, as a worker is
    times = []
    for job in jobs:
        start = time.perf_counter()
        (result,) = run_group([job])
        if result.status != "done":
            raise RuntimeError(f"a benchmark job failed: {result.error}")
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=16, help="jobs in part 1")
    parser.add_argument("--small-ms", type=float, default=100.0, help="biological ms per job")
    parser.add_argument("--long", type=int, default=6, help="jobs in part 2")
    parser.add_argument("--long-ms", type=float, default=2000.0, help="biological ms per job")
    parser.add_argument("--scale", type=float, default=0.1, help="CUBA scale (0.1: 400 neurons)")
    parser.add_argument("--skip-speedup", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if not args.skip_speedup:
            jobs = make_jobs(folder, args.small, args.small_ms, args.scale)
            wall_1, done_1, _ = on_dask(jobs, 1)
            wall_2, done_2, _ = on_dask(jobs, 2)
            rate_1, rate_2 = steady_rate(done_1), steady_rate(done_2)
            print(f"\nPart 1: {len(jobs)} jobs of {args.small_ms:g} ms (CUBA scale {args.scale:g})")
            print(f"  1 worker : {rate_1:.2f} jobs/s; first job done after {done_1[0]:.1f} s, "
                  f"all after {wall_1:.1f} s")  # fmt: skip
            print(f"  2 workers: {rate_2:.2f} jobs/s; first job done after {done_2[0]:.1f} s, "
                  f"all after {wall_2:.1f} s")  # fmt: skip
            print(f"  speed-up of 2 workers over 1: {rate_2 / rate_1:.2f}x between first and last "
                  f"job (target >= 1.6x); {wall_1 / wall_2:.2f}x wall clock with the cluster "
                  f"start")  # fmt: skip
        if not args.skip_overhead:
            jobs = make_jobs(folder, args.long, args.long_ms, args.scale)
            loop = statistics.median(in_a_loop(jobs))
            wall, done, worked = on_dask(jobs, 1)
            gap = (done[-1] - done[0]) / (len(done) - 1)
            # The jobs after the first, as their worker timed them: the same work as the gaps.
            work = statistics.fmean(worked[1:])
            print(f"\nPart 2: {len(jobs)} jobs of {args.long_ms:g} ms")
            print(f"  plain loop: {loop:.3f} s per job (median)")
            print(f"  Dask, 1 worker: {gap:.3f} s per job between completions, of which the job "
                  f"itself {work:.3f} s; cluster start and first job {done[0]:.1f} s, all "
                  f"{wall:.1f} s")  # fmt: skip
            print(f"  per-job overhead of the Dask path: {100 * (gap - work) / work:+.1f} % "
                  f"against the job's own time (target < 5 %); {100 * (gap - loop) / loop:+.1f} "
                  f"% against the loop (noisy: another process's load moves it)")  # fmt: skip


if __name__ == "__main__":
    main()
