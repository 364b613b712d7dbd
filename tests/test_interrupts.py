"""Ctrl-C and termination: a stopped run never passes for a complete one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY_CHIP_YAML, make_tiny_network

from neuroemu.cli.main import EXIT_INTERRUPTED, cli
from neuroemu.engine.runner import simulate
from neuroemu.errors import RunInterrupted
from neuroemu.spec.chip import parse_chip


def ctrl_c_once_running() -> None:
    """Ctrl-C once Brian2's run loop has started (a signal during set-up is an ordinary
    KeyboardInterrupt, another path), with a little work done; waits at most 60 s."""
    import brian2

    deadline = time.monotonic() + 60
    while not brian2.Network._globally_running and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.brian2
def test_ctrl_c_during_a_simulation_raises_instead_of_returning_a_short_run() -> None:
    """Brian2 ends a run early and quietly on the first SIGINT; the engine must say so."""
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    network = make_tiny_network()
    simulate(network, chip, 5.0, device="numpy")  # warm up: imports and code objects

    threading.Thread(target=ctrl_c_once_running, daemon=True).start()
    with pytest.raises(RunInterrupted, match=r"interrupted after \d+ of 200000 steps") as info:
        simulate(network, chip, 200_000.0, device="numpy")
    assert 0 < info.value.steps_done < info.value.n_steps


def test_an_interrupted_run_exits_130_and_keeps_the_previous_trace(
    files: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, chip = files
    trace = tmp_path / "run.h5"
    trace.write_bytes(b"the previous trace")

    def stopped(*_args: object, **_kwargs: object) -> None:
        raise RunInterrupted(41, 300)

    monkeypatch.setattr("neuroemu.cli.run.run_pipeline", stopped)
    result = CliRunner().invoke(cli, ["run", model, "--chip", chip, "--trace", str(trace),
                                      "--force"])  # fmt: skip
    assert result.exit_code == EXIT_INTERRUPTED == 130
    assert "interrupted after 41 of 300 steps" in result.output
    assert trace.read_bytes() == b"the previous trace"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5", "tiny.yaml", "tiny_model.py"]

    def ctrl_c(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("neuroemu.cli.run.run_pipeline", ctrl_c)
    result = CliRunner().invoke(cli, ["run", model, "--chip", chip])
    assert result.exit_code == 130 and "Traceback" not in result.output


def test_sigterm_exits_143_without_a_traceback(files: tuple[str, str]) -> None:
    model, chip = files
    code = (
        "import os, signal, threading, time\n"
        "import neuroemu.cli.run as run\n"
        "def slow(*a, **k):\n"
        "    time.sleep(30)\n"
        "run.run_pipeline = slow\n"
        "threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()\n"
        "from neuroemu.cli.main import main\n"
        f"import sys; sys.argv = ['neuroemu', 'run', {model!r}, '--chip', {chip!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 143, done.stderr
    assert "Traceback" not in done.stderr and "Interrupted" in done.stderr


@pytest.mark.brian2
def test_keep_partial_writes_a_trace_marked_incomplete(
    files: tuple[str, str], tmp_path: Path
) -> None:
    from neuroemu.traces.file import read_trace

    model, chip = files
    simulate(make_tiny_network(), parse_chip(TINY_CHIP_YAML, "tiny.yaml"), 5.0, device="numpy")
    trace = tmp_path / "partial.h5"

    threading.Thread(target=ctrl_c_once_running, daemon=True).start()
    args = ["run", model, "--chip", chip, "--duration-ms", "200000", "--device", "numpy",
            "--keep-partial", "--trace", str(trace), "--json", "--quiet"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 130, result.output
    loaded = read_trace(trace)
    assert loaded.complete is False and 0 < loaded.activity.n_steps < 200_000
    assert json.loads(result.stdout)["complete"] is False
    shown = CliRunner().invoke(cli, ["inspect", str(trace)])
    assert shown.output.startswith("INCOMPLETE: an interrupted run")
