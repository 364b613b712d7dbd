"""Sweeps: the file (file:line:field errors), the jobs it expands to, the journal and tables,
and real runs on Dask -- an external ``dask scheduler`` with two ``dask worker`` processes, the
default LocalCluster, and a sweep interrupted and resumed."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY_CHIP_YAML

from neuroemu.cli.sweep import sweep_command
from neuroemu.errors import DescriptorError, NeuroEmuError
from neuroemu.sweep import load_sweep, run_sweep
from neuroemu.sweep.jobs import JobResult
from neuroemu.sweep.results import Journal, read_table, summarise
from neuroemu.traces.file import read_trace

MODEL = """\
import numpy as np

from neuroemu.network.connectivity import fixed_probability
from neuroemu.network.network import Network, PoissonInput, Population, Projection


def build(seed: int = 0, rate_hz: float = 50.0) -> Network:
    rng = np.random.default_rng(seed)
    exc = Population("exc", 40, "lif", parameters={"v_bias_mV": 14.0},
                     initial={"v_mV": -65.0 + 15.0 * rng.random(40)})
    inh = Population("inh", 20, "lif", parameters={"v_bias_mV": 10.0})
    noise = PoissonInput("noise", 10, rate_hz=rate_hz)
    projections = []
    for pre, post, n_pre, n_post, target, w in (
        ("exc", "exc", 40, 40, "exc", 0.5), ("exc", "inh", 40, 20, "exc", 0.8),
        ("inh", "exc", 20, 40, "inh", 1.0), ("noise", "exc", 10, 40, "exc", 2.0),
    ):
        i, j = fixed_probability(n_pre, n_post, 0.2, rng)
        projections.append(Projection(pre, post, i, j, w, target=target))
    return Network((exc, inh), tuple(projections), (noise,), name="tiny")
"""

# 2 rates x 2 override sets x 3 seeds = 12 jobs; the override does not change what the engine
# reads, so they are 6 simulations.
SWEEP = """\
format_version: 1
kind: sweep
name: test
grid:
  models: [tinymodel.py]
  params:
    rate_hz: [20.0, 80.0]
  chips: [tiny.yaml]
  overrides:
    - {}
    - {core.synapse_memory_bits: 131072}
  seeds: [1, 2, 3]
  durations_ms: [20]
device: numpy
outputs:
  folder: out
"""


def make_sweep(folder: Path, text: str = SWEEP) -> Path:
    """A sweep folder: the model, the tiny chip and the sweep file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tinymodel.py").write_text(MODEL)
    (folder / "tiny.yaml").write_text(TINY_CHIP_YAML)
    (folder / "sweep.yaml").write_text(text)
    return folder / "sweep.yaml"


# --------------------------------------------------------------------------------------------
# The file and its jobs (no simulation)


def test_the_grid_expands_to_jobs_and_shared_simulations(tmp_path: Path) -> None:
    sweep = load_sweep(make_sweep(tmp_path))
    assert len(sweep.jobs) == 12 and len(sweep.groups()) == 6
    assert len({job.key for job in sweep.jobs}) == 12
    names = {job.chip.name for job in sweep.jobs}
    assert names == {"tiny", "tiny-set-core.synapse_memory_bits-131072"}
    assert sweep.folder == tmp_path / "out"
    # Jobs that differ only in an override the engine does not read share a simulation.
    for group in sweep.groups():
        assert len({(j.seed, j.params) for j in group}) == 1 and len(group) == 2


def test_explicit_jobs_and_command_line_overrides(tmp_path: Path) -> None:
    text = SWEEP.replace("grid:", "jobs:\n  - {model: tinymodel.py, chip: tiny.yaml, seed: 9, "
                         "duration_ms: 10, strategy: balanced, gpu: rtx2070}\ngrid:")  # fmt: skip
    sweep = load_sweep(make_sweep(tmp_path, text), ("core.neurons=16",))
    assert len(sweep.jobs) == 13
    last = sweep.jobs[-1]
    assert (last.seed, last.strategy, last.gpu and last.gpu.name) == (9, "balanced", "rtx2070")
    assert all(job.chip.core.neurons.value == 16 for job in sweep.jobs)
    assert last.overrides == ("core.neurons=16",)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  seeds: [1, 2, 3]", "  seeds: [1, 2, 2]", ":12: grid.seeds[2]: seed 2 is listed twice"),
        ("    rate_hz:", "    rate_hertz:", ":7: grid.params.rate_hertz: model 'tinymodel.py' "
         "has no parameter 'rate_hertz'"),
        ("chips: [tiny.yaml]", "chips: [tiny.yaml, nochip]", ":8: grid.chips[1]: "),
        ("{core.synapse_memory_bits: 131072}", "{core.synapse_memory_bits: -1}",
         ":11: grid.overrides[1]: "),
        ("{core.synapse_memory_bits: 131072}", "{core.synapse_memry_bits: 1}",
         "did you mean 'synapse_memory_bits'?"),
        ("durations_ms: [20]", "durations_ms: [20.5]", ":13: grid.durations_ms: on tiny: "),
        ("device: numpy", "device: numpy\nthreads: 3", ":15: threads: unknown key"),
        ("kind: sweep", "kind: experiment", ":2: kind: expected 'sweep'"),
        ("  models: [tinymodel.py]", "  models: [nomodel.py]", ":5: grid.models[0]: "),
    ],
)  # fmt: skip
def test_sweep_file_errors_name_file_line_and_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in SWEEP
    path = make_sweep(tmp_path, SWEEP.replace(old, new))
    with pytest.raises(DescriptorError) as caught:
        load_sweep(path)
    assert str(caught.value).startswith(str(path)), str(caught.value)
    assert expected in str(caught.value), str(caught.value)


def test_a_repeated_job_is_refused(tmp_path: Path) -> None:
    text = SWEEP.replace("  seeds: [1, 2, 3]", "  seeds: [1]") + (
        "jobs:\n  - {model: tinymodel.py, chip: tiny.yaml, seed: 1, duration_ms: 20, "
        "params: {rate_hz: 20.0}}\n"
    )
    with pytest.raises(DescriptorError, match="repeats job 0"):
        load_sweep(make_sweep(tmp_path, text))


# --------------------------------------------------------------------------------------------
# Journal and tables (no simulation)


def _result(key: str, index: int, seed: int, total: float) -> JobResult:
    row = {"job_key": key, "status": "done", "model": "m", "chip": "c", "seed": seed,
           "device": "c", "total_j": total, "time_s": 1.0, "n_spikes": seed}  # fmt: skip
    return JobResult(key, index, "done", [row])


def test_the_summary_gives_mean_and_spread_over_seeds() -> None:
    rows = [r for i, t in enumerate([1.0, 2.0, 6.0]) for r in _result(f"k{i}", i, i, t).rows]
    rows.append({**rows[0], "chip": "other", "total_j": 5.0})
    failed = {**rows[0], "status": "failed", "total_j": None}
    (three, one) = summarise([*rows, failed])
    assert three["n_seeds"] == 3 and three["seeds"] == "0 1 2"
    assert three["total_j_mean"] == 3.0 and three["total_j_min"] == 1.0
    assert math.isclose(three["total_j_std"], math.sqrt(((2.0**2) + 1.0 + 3.0**2) / 2))
    assert (one["chip"], one["n_seeds"], one["total_j_std"]) == ("other", 1, 0.0)


def test_the_journal_skips_a_line_torn_by_a_kill(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append([_result("a", 0, 1, 1.0)])
    with open(journal.path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(_result("b", 1, 2, 2.0).to_json())[:40])  # cut short
    journal.append([_result("c", 2, 3, 3.0)])
    assert sorted(journal.read()) == ["a", "c"]


def test_the_journal_keeps_each_job_s_times(tmp_path: Path) -> None:
    """Wall and CPU seconds survive the journal; a line written before CPU times reads 0."""
    journal = Journal(tmp_path)
    timed = _result("a", 0, 1, 1.0)
    timed.seconds, timed.cpu_seconds = 2.5, 1.25
    journal.append([timed])
    older = {k: v for k, v in _result("b", 1, 2, 2.0).to_json().items() if k != "cpu_seconds"}
    with open(journal.path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(older) + "\n")
    read = journal.read()
    assert (read["a"].seconds, read["a"].cpu_seconds) == (2.5, 1.25)
    assert read["b"].cpu_seconds == 0.0


def test_settling_the_heap_frees_garbage_before_freezing() -> None:
    """A cycle dead before the settle is collected, not frozen (a frozen one would never be
    freed); objects alive then are frozen, out of later collections' way; only once."""
    import gc
    import weakref

    from neuroemu.sweep.jobs import _settle_heap

    class Node:
        pass

    dead, alive = Node(), Node()
    dead.me = dead  # type: ignore[attr-defined]
    gone = weakref.ref(dead)
    del dead
    _settle_heap.cache_clear()
    try:
        _settle_heap()
        assert gone() is None
        assert gc.get_freeze_count() > 0
        assert not any(obj is alive for obj in gc.get_objects())  # frozen, not in a generation
        gc.unfreeze()
        _settle_heap()  # a second group: nothing more is frozen
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


# --------------------------------------------------------------------------------------------
# Real sweeps on Dask


def _rows(folder: Path) -> list[dict]:
    return read_table(folder / "jobs.parquet")


def _check_rows(rows: list[dict]) -> None:
    """Every one of the 12 jobs has its row, done and priced, in job order."""
    assert len(rows) == 12
    assert [r["status"] for r in rows] == ["done"] * 12
    assert len({r["job_key"] for r in rows}) == 12
    assert [r["seed"] for r in rows] == [1, 2, 3] * 4
    assert all(r["total_j"] > 0 and r["time_s"] > 0 for r in rows)
    plain, changed = [*rows[0:3], *rows[6:9]], [*rows[3:6], *rows[9:12]]
    assert {r["chip"] for r in plain} == {"tiny"}
    assert {r["chip"] for r in changed} == {"tiny-set-core.synapse_memory_bits-131072"}
    assert {r["set.core.synapse_memory_bits"] for r in changed} == {131072}
    # A shared simulation: the overridden chip saw exactly the spikes of the plain one.
    assert [r["n_spikes"] for r in plain] == [r["n_spikes"] for r in changed]
    assert sum(r["n_spikes"] for r in rows[:3]) < sum(r["n_spikes"] for r in rows[6:9])


@pytest.fixture(scope="module")
def external_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A ``dask scheduler`` and two ``dask worker`` processes on loopback."""
    pytest.importorskip("distributed", reason="needs the sweep extra: dask[distributed]")
    pytest.importorskip("pyarrow", reason="needs the sweep extra: pyarrow")
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    assert dask is not None, "the dask command (dask[distributed]) is not installed"
    folder = tmp_path_factory.mktemp("dask")
    address_file = folder / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(address_file)],
                                  **quiet)]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            processes.append(subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-nanny",
                 "--no-dashboard", "--local-directory", str(folder)], **quiet,
            ))  # fmt: skip
        yield address
    finally:
        for process in reversed(processes):  # no nanny: nothing is left behind a kill
            process.kill()
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, external_cluster: str) -> list[dict]:
    """The 12-job sweep run uninterrupted against the external scheduler."""
    path = make_sweep(tmp_path_factory.mktemp("reference"))
    outcome = run_sweep(path, scheduler=external_cluster)
    assert len(outcome.ran) == 12 and outcome.kept == 0 and not outcome.failed
    return _rows(path.parent / "out")


@pytest.mark.brian2
def test_a_sweep_on_an_external_scheduler_with_two_workers(reference: list[dict]) -> None:
    _check_rows(reference)


@pytest.mark.brian2
def test_a_sweep_on_the_default_local_cluster(tmp_path: Path, reference: list[dict]) -> None:
    """Through the command, on a LocalCluster: the same numbers, bit for bit, as on the
    external workers; a failing job is recorded and the others go on."""
    text = SWEEP.replace("seeds: [1, 2, 3]", "seeds: [1, 3]").replace(
        "  folder: out\n", "  folder: out\n  traces: true\n"
    ) + (
        "jobs:\n  - {model: tinymodel.py, chip: tiny.yaml, seed: 1, duration_ms: 20, "
        "params: {rate_hz: -5.0}}\n"
    )
    result = CliRunner().invoke(sweep_command, [str(make_sweep(tmp_path, text)), "--workers", "1"])
    assert result.exit_code == 1 and isinstance(result.exception, NeuroEmuError)
    assert "1 of 9 job(s) failed" in str(result.exception)
    assert "8 of 9 job(s) done" in result.output
    rows = _rows(tmp_path / "out")
    traces = [row.pop("trace") for row in rows]
    expected = [{k: v for k, v in r.items() if k != "trace"} for r in reference]
    assert rows[:8] == [r for r in expected if r["seed"] != 2]
    # Traces on request, one per job, keeping the overridden descriptor.
    assert all(traces[:8]) and not traces[8]
    trace = read_trace(tmp_path / "out" / traces[2])
    assert trace.chip.name == rows[2]["chip"] == "tiny-set-core.synapse_memory_bits-131072"
    assert trace.chip.core.synapse_memory_bits.value == 131072
    assert rows[8]["status"] == "failed" and "rate" in rows[8]["error"]
    summary = read_table(tmp_path / "out" / "summary.csv")
    assert len(summary) == 4 and {r["n_seeds"] for r in summary} == {2}
    assert {r["seeds"] for r in summary} == {"1 3"}


# Ctrl-C as a terminal sends it: Python's own SIGINT handler, even where the parent shell
# started the test with SIGINT ignored (as non-interactive shells do for background jobs).
_INTERRUPTIBLE = """\
import signal
import sys
from neuroemu.cli.sweep import sweep_command
signal.signal(signal.SIGINT, signal.default_int_handler)
sweep_command.main([sys.argv[1], "--scheduler", sys.argv[2]], standalone_mode=True)
"""


def _stop_after(path: Path, address: str, n_jobs: int, how: signal.Signals) -> tuple[int, str]:
    """Start the sweep in a process, send it ``how`` once ``n_jobs`` jobs are journaled; its
    exit status and standard error."""
    journal = Journal(path.parent / "out")
    command = [sys.executable, "-c", _INTERRUPTIBLE, str(path), address]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if journal.path.exists() and len(journal.read()) >= n_jobs:
            break
        time.sleep(0.02)
    process.send_signal(how)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


@pytest.mark.brian2
def test_an_interrupted_sweep_resumes_without_repeating_a_job(
    tmp_path: Path, reference: list[dict], external_cluster: str
) -> None:
    """Ctrl-C after two jobs (exit status 130, finished jobs kept in the tables), then a kill
    -9 after two more; the rerun does only the others, and the final table equals the
    uninterrupted sweep's."""
    path = make_sweep(tmp_path)
    journal = Journal(tmp_path / "out")
    status, err = _stop_after(path, external_cluster, 2, signal.SIGINT)
    assert status == 130, err
    assert "Interrupted: the jobs that finished are kept" in err
    first = journal.read()
    assert 2 <= len(first) < 12, "the sweep ended before it could be interrupted"
    partial = _rows(tmp_path / "out")  # the tables hold what finished
    assert [r["job_key"] for r in partial] == sorted(first, key=lambda k: first[k].index)

    status, _ = _stop_after(path, external_cluster, len(first) + 2, signal.SIGKILL)
    assert status == -signal.SIGKILL
    before = journal.read()
    assert set(first) < set(before) and len(before) < 12

    outcome = run_sweep(path, scheduler=external_cluster)  # the killed run's lock is gone
    assert outcome.kept == len(before)
    assert not set(outcome.ran) & set(before), "a finished job ran again"
    assert sorted([*outcome.ran, *before]) == sorted(r["job_key"] for r in reference)
    lines = journal.path.read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines if line.strip()]
    assert len(keys) == len(set(keys)) == 12
    assert _rows(tmp_path / "out") == reference


# --------------------------------------------------------------------------------------------
# Plots and the command line (no simulation)


def _synthetic_results() -> list[JobResult]:
    """Two chips x three rates x two seeds, energies made up (one chip slower but cheaper)."""
    results = []
    for index, (chip, rate, seed) in enumerate(
        (c, r, s) for c in ("a", "b") for r in (10.0, 20.0, 40.0) for s in (1, 2)
    ):
        energy = rate * (1e-6 if chip == "a" else 3e-7) * (1 + 0.01 * seed)
        row = {"job_key": f"k{index}", "status": "done", "model": "m", "params": "{}",
               "chip": chip, "chip_base": chip, "overrides": "", "strategy": "fill",
               "seed": seed, "duration_ms": 20.0, "param.rate_hz": rate, "device": chip,
               "device_kind": "chip", "total_j": energy,
               "time_s": rate * (1e-5 if chip == "a" else 5e-5), "n_spikes": 3}  # fmt: skip
        results.append(JobResult(f"k{index}", index, "done", [row]))
    return results


def test_the_pareto_front_keeps_what_nothing_beats() -> None:
    from neuroemu.sweep.plots import pareto_front

    points = [(1.0, 5.0), (2.0, 3.0), (2.5, 4.0), (3.0, 1.0), (0.5, 9.0), (3.0, 1.0)]
    assert pareto_front(points) == [4, 0, 1, 3]


def test_plot_sweep_draws_both_pictures(tmp_path: Path) -> None:
    from neuroemu.cli.plot_sweep import plot_sweep_command
    from neuroemu.sweep.results import write_tables

    pytest.importorskip("pyarrow", reason="needs the sweep extra: pyarrow")

    write_tables(tmp_path, _synthetic_results())
    runner = CliRunner()
    result = runner.invoke(plot_sweep_command, [str(tmp_path), "--parameter", "rate_hz"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "energy_vs_rate_hz.png").read_bytes().startswith(b"\x89PNG")
    result = runner.invoke(plot_sweep_command, [str(tmp_path / "summary.csv"), "--pareto"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pareto.png").stat().st_size > 1000
    result = runner.invoke(plot_sweep_command, [str(tmp_path), "--parameter", "rate"])
    assert "no parameter 'rate'; its swept parameters: duration_ms, param.rate_hz" in str(
        result.exception
    )
    result = runner.invoke(plot_sweep_command, [str(tmp_path), "--pareto"])
    assert "exists; use --force" in str(result.exception)


def test_the_sweep_command_refuses_a_bad_file_before_any_job(tmp_path: Path) -> None:
    path = make_sweep(tmp_path)
    result = CliRunner().invoke(sweep_command, [str(path), "--set", "core.neurons=0"])
    assert isinstance(result.exception, DescriptorError)
    assert str(result.exception) == (
        f"{tmp_path / 'tiny.yaml'} (with --set core.neurons=0): core.neurons.value: expected "
        f"greater than 0, got 0"
    )
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(sweep_command, [str(path), "--set", "core.neurons"])
    assert "expected [DEVICE:]FIELD=VALUE" in str(result.exception)


def test_the_progress_line_counts_and_estimates(capsys: pytest.CaptureFixture[str]) -> None:
    from neuroemu.cli.sweep import ProgressLine
    from neuroemu.sweep.execute import Progress

    line = ProgressLine(width=10)
    progress = Progress(total=10, done=3, failed=1, running=2, skipped=2,
                        started=time.perf_counter() - 8.0)  # fmt: skip
    line(progress)
    err = capsys.readouterr().err
    assert "[######....] 6/10 (2 from before): done 3, failed 1, running 2, about 8 s left" in err


def test_the_example_sweep_loads() -> None:
    """sweeps/example.yaml is valid, and its comment's counts are right."""
    sweep = load_sweep(Path(__file__).resolve().parent.parent / "sweeps" / "example.yaml")
    assert (len(sweep.jobs), len(sweep.groups())) == (49, 13)


@pytest.mark.parametrize("command", ["sweep", "plot_sweep"])
def test_both_commands_have_help(command: str) -> None:
    import importlib

    module = importlib.import_module(f"neuroemu.cli.{command}")
    click_command = getattr(module, f"{command}_command")
    result = CliRunner().invoke(click_command, ["--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert ("--scheduler" if command == "sweep" else "--pareto") in result.output
