"""What running a sweep on Dask gains (2 workers against 1) and costs (against a plain loop).

Jobs: the bundled CUBA model at ``--scale`` on Loihi, one seed per job so that no two jobs
share a simulation, Brian2's numpy device (no compiler, the same cost in every process).

Part 1 (speed-up): ``--small`` jobs of ``--small-ms`` of biological time each, run through
:func:`neuroemu.sweep.execute.execute` on a LocalCluster of 1 worker and of 2, in the order
1, 2, 2, 1 (``--repeats`` times), so that a drift in the machine's load hits both alike. The
rate is taken from the n-th job to finish (n: the workers) to the last, so the one-off start of
the cluster and each worker's first job (importing Brian2 and solving the model's equations:
seconds of CPU, more on a busy machine) are left out of it; they are reported on their own
line, with the wall-clock ratio that includes them. Target: >= 1.6x.

Part 2 (overhead): ``--long`` jobs of ``--long-ms`` each (a second or more of work), in a plain
loop in this process (after one untimed job, so Brian2 is imported and warm as it is in a
worker) and on a 1-worker LocalCluster, in the order loop, Dask, Dask, loop. The per-job
overhead is the gap between successive completions on Dask against the job's own time on its
worker, and against the loop's time per job. Target: < 5 %.

Every run also reports the CPU time of each job (the worker's thread) over its wall time --
the share of a core the job got -- and the CPU the client used (scheduler, nannies and this
loop). On a machine other processes load, a share well below 1 says the figures are lower
bounds: the load average is printed with each run.

Run ``python benchmarks/sweep.py`` (``--small``, ``--small-ms``, ``--long``, ``--long-ms``,
``--scale``, ``--repeats``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
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


@dataclass
class Run:
    """One timed run: completion times (s from the start, in order), the jobs' own results
    (in order of completion), the wall time, this process's CPU seconds and the load average.

    A worker's first job is a warm-up: it imports Brian2 and generates the model's code (and,
    the first time on a machine, solves its equations in sympy, then kept on disk), seconds of
    CPU more than the jobs after it. The first ``n_workers`` completions are taken as warm-ups,
    and any later job of over 1.5 times the median CPU (a warm job's varies by a few percent;
    a worker's first long job may add less than 3x); on a loaded machine a
    second worker may finish its warm-up after the first has done several jobs, so the rates
    are taken from the last warm-up to finish, when every worker is warm.
    """

    finished: list[float]
    results: list[JobResult]
    wall_s: float
    client_cpu_s: float
    load: float
    n_workers: int = 0

    @property
    def start(self) -> int:
        """Index of the last warm-up completion (-1 when there is none: the loop's)."""
        typical = statistics.median(r.cpu_seconds for r in self.results)
        warm = [k for k, r in enumerate(self.results) if r.cpu_seconds > 1.5 * typical]
        return max(warm, default=-1) if not self.n_workers else max([*warm, self.n_workers - 1])

    @property
    def warm(self) -> list[JobResult]:
        """The jobs after the last warm-up."""
        return self.results[self.start + 1 :]

    def window_s(self) -> float:
        """From the last warm-up's completion (the start, in the loop) to the last one's."""
        return self.finished[-1] - (self.finished[self.start] if self.start >= 0 else 0.0)

    def rate(self) -> float:
        """Warm jobs per second of the window."""
        return len(self.warm) / self.window_s()

    def share(self) -> float:
        """Median over the warm jobs of CPU time over wall time: the share of a core each got."""
        return statistics.median(r.cpu_seconds / r.seconds for r in self.warm)

    def cores(self) -> float:
        """CPU the workers spent on warm jobs per second of the window: the cores they got."""
        return sum(r.cpu_seconds for r in self.warm) / self.window_s()

    def cpu_per_job(self) -> float:
        """Median CPU seconds of a warm job."""
        return statistics.median(r.cpu_seconds for r in self.warm)


def _client_cpu() -> float:
    times = os.times()
    return times.user + times.system


def on_dask(jobs: list[Job], n_workers: int) -> Run:
    """Run ``jobs`` on a LocalCluster of ``n_workers``, cluster start included."""
    finished: list[float] = []
    results: list[JobResult] = []
    load = os.getloadavg()[0]
    cpu = _client_cpu()
    started = time.perf_counter()

    def record(group: list[JobResult]) -> None:
        bad = [r.error for r in group if r.status != "done"]
        if bad:
            raise RuntimeError(f"a benchmark job failed: {bad[0]}")
        finished.extend(time.perf_counter() - started for _ in group)
        results.extend(group)

    execute([[job] for job in jobs], record, n_workers=n_workers)
    wall = time.perf_counter() - started
    return Run(finished, results, wall, _client_cpu() - cpu, load, n_workers)


def in_a_loop(jobs: list[Job]) -> Run:
    """The jobs one after the other in this process (after an untimed warm-up job)."""
    run_group([jobs[0]])  # untimed: imports Brian2 and solves the model's equations, as a worker
    load = os.getloadavg()[0]
    results, finished = [], []
    cpu = _client_cpu()
    started = time.perf_counter()
    for job in jobs:
        (result,) = run_group([job])
        if result.status != "done":
            raise RuntimeError(f"a benchmark job failed: {result.error}")
        results.append(result)
        finished.append(time.perf_counter() - started)
    wall = time.perf_counter() - started
    return Run(finished, results, wall, _client_cpu() - cpu, load)


def _autogroup() -> bool:
    """Whether the kernel shares the CPU between sessions first, then between processes."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def _spread(values: list[float], fmt: str = ".2f") -> str:
    """``median (low-high)`` of the values."""
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def speed_up(jobs: list[Job], repeats: int) -> None:
    """Part 1: 1 and 2 workers, in ABBA order, ``repeats`` times."""
    runs: dict[int, list[Run]] = {1: [], 2: []}
    ratios = []
    for _ in range(repeats):
        for first, second in ((1, 2), (2, 1)):
            a, b = on_dask(jobs, first), on_dask(jobs, second)
            runs[first].append(a)
            runs[second].append(b)
            one, two = (a, b) if first == 1 else (b, a)
            ratios.append(two.rate() / one.rate())
    print(f"\nPart 1: {len(jobs)} jobs, 1 and 2 workers in the order 1 2 2 1 (x{repeats})")
    for n in (1, 2):
        each = runs[n]
        print(f"  {n} worker{'s' if n > 1 else ' '}: {_spread([r.rate() for r in each])} jobs/s "
              f"from the last warm-up to the last job "
              f"({_spread([len(r.warm) for r in each], '.0f')} jobs); "
              f"job CPU {_spread([r.cpu_per_job() for r in each], '.3f')} s, share of a core "
              f"{_spread([r.share() for r in each])}; client CPU "
              f"{_spread([r.client_cpu_s / r.wall_s for r in each])} cores; first job after "
              f"{_spread([r.finished[0] for r in each], '.1f')} s, all after "
              f"{_spread([r.wall_s for r in each], '.1f')} s; load "
              f"{_spread([r.load for r in each], '.1f')}")  # fmt: skip
    walls = [o.wall_s / t.wall_s for o, t in zip(runs[1], runs[2], strict=True)]
    print(f"  speed-up of 2 workers over 1: {_spread(ratios)}x (target >= 1.6x); "
          f"{_spread(walls)}x wall clock with the cluster start and first jobs")  # fmt: skip
    # rate = cores the workers got / CPU per job: the speed-up is the product of what the
    # machine gave (cores) and what running two at once costs each job (CPU per job).
    got = [statistics.median(r.cores() for r in runs[n]) for n in (1, 2)]
    cpu = [statistics.median(r.cpu_per_job() for r in runs[n]) for n in (1, 2)]
    client = statistics.median(r.client_cpu_s / r.wall_s for r in runs[2])
    idle = (min(2.0, os.cpu_count() or 1) - client) / cpu[1] / (1.0 / cpu[0])
    print(f"  = {got[1] / got[0]:.2f}x the cores the workers got ({got[0]:.2f} and {got[1]:.2f}) "
          f"x {cpu[0] / cpu[1]:.2f}x the CPU per job ({cpu[0]:.3f} and {cpu[1]:.3f} s); with a "
          f"core per worker, less the client's {client:.2f}, that CPU per job predicts "
          f"{idle:.2f}x on an idle machine")  # fmt: skip


def overhead(jobs: list[Job]) -> None:
    """Part 2: a plain loop and a 1-worker cluster, in the order loop, Dask, Dask, loop."""
    loops = [in_a_loop(jobs)]
    dasks = [on_dask(jobs, 1), on_dask(jobs, 1)]
    loops.append(in_a_loop(jobs))
    loop = [statistics.median(r.seconds for r in run.results) for run in loops]
    loop_cpu = [run.cpu_per_job() for run in loops]
    gaps = [1 / run.rate() for run in dasks]
    # The warm jobs, as their worker timed them: the same work as the gaps.
    work = [statistics.fmean(r.seconds for r in run.warm) for run in dasks]
    cpu = [run.cpu_per_job() for run in dasks]
    print(f"\nPart 2: {len(jobs)} jobs, a plain loop and 1 worker in the order loop Dask Dask loop")
    print(
        f"  plain loop: {_spread(loop, '.3f')} s per job (median), CPU "
        f"{_spread(loop_cpu, '.3f')} s; load {_spread([r.load for r in loops], '.1f')}"
    )
    print(f"  Dask, 1 worker: {_spread(gaps, '.3f')} s per job between completions, of which "
          f"the job itself {_spread(work, '.3f')} s, CPU {_spread(cpu, '.3f')} s; cluster start "
          f"and first job {_spread([r.finished[0] for r in dasks], '.1f')} s; load "
          f"{_spread([r.load for r in dasks], '.1f')}")  # fmt: skip
    own = [100 * (g - w) / w for g, w in zip(gaps, work, strict=True)]
    vs_loop = 100 * (statistics.median(gaps) / statistics.median(loop) - 1)
    vs_loop_cpu = 100 * (statistics.median(cpu) / statistics.median(loop_cpu) - 1)
    print(f"  per-job overhead of the Dask path: {_spread(own, '+.1f')} % against the job's own "
          f"time (target < 5 %); {vs_loop:+.1f} % against the loop's time and {vs_loop_cpu:+.1f} "
          f"% against its CPU (these two move with other processes' load)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=24, help="jobs in part 1")
    parser.add_argument("--small-ms", type=float, default=100.0, help="biological ms per job")
    parser.add_argument("--long", type=int, default=6, help="jobs in part 2")
    parser.add_argument("--long-ms", type=float, default=6000.0, help="biological ms per job")
    parser.add_argument("--scale", type=float, default=0.1, help="CUBA scale (0.1: 400 neurons)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of 1 2 2 1 in part 1")
    parser.add_argument("--skip-speedup", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; CUBA scale "
        f"{args.scale:g}, part 1 jobs of {args.small_ms:g} ms, part 2 of {args.long_ms:g} ms"
    )
    if _autogroup():
        print(
            "Linux autogroup scheduling is on: the kernel shares the CPU between sessions "
            "first, and this process and its workers are one session; with other sessions "
            "busy, 'the cores the workers got' below may not grow with the workers"
        )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if not args.skip_speedup:
            speed_up(make_jobs(folder, args.small, args.small_ms, args.scale), args.repeats)
        if not args.skip_overhead:
            overhead(make_jobs(folder, args.long, args.long_ms, args.scale))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
