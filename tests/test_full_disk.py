"""A full disk (or a file-size quota) while writing any output: one clear message, a clean
exit, no partial file left, and any previous file byte-identical.

Two ways to make writes fail, run in a child process so that the limit cannot leak into the
test runner:

- a file-size limit (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored, so writes past it fail with
  ``EFBIG``): available everywhere, so these tests always run;
- a real full disk: a 64 KiB tmpfs mounted in a private mount namespace (``unshare``), where
  writes fail with ``ENOSPC``. It needs user namespaces; where the machine forbids them the
  test is skipped with the reason.

A full disk once ended a trace write in a segfault after ~40 "Exception ignored" tracebacks
from h5py (HDF5 met ENOSPC itself); those are asserted absent.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_traces import synthetic_result

from neuroemu.traces.file import read_trace, write_trace

TESTS = Path(__file__).resolve().parent
LIMIT_BYTES = 16 * 1024

# The child limits the size of any file it writes, then runs one command of the CLI.
LIMITED_CLI = """
import resource, signal, sys
sys.path.insert(0, {tests!r})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from neuroemu.cli.main import main
sys.argv = ["neuroemu", *{args!r}]
main()
"""


def run_limited(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``neuroemu ARGS`` in a child process whose files may not grow past LIMIT_BYTES."""
    script = LIMITED_CLI.format(tests=str(TESTS), limit=LIMIT_BYTES, args=args)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean_failure(done: subprocess.CompletedProcess[str], folder: Path) -> None:
    """Exit 1, one 'Error:' message, no traceback, no temporary file left behind."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.count("Error:") == 1, done.stderr
    assert not [p.name for p in folder.iterdir() if "partial" in p.name]


@pytest.fixture
def big_trace(tmp_path: Path) -> Path:
    """A trace larger than LIMIT_BYTES, written without a limit."""
    path = tmp_path / "big.h5"
    write_trace(path, synthetic_result(seed=1, scale=40))
    assert path.stat().st_size > LIMIT_BYTES
    return path


def test_plot_to_a_full_disk_is_one_message_and_keeps_the_old_picture(tmp_path, big_trace):
    previous = tmp_path / "raster.png"
    previous.write_bytes(b"an older picture")
    done = run_limited(["plot", str(big_trace), "--kind", "raster", "-o", str(previous), "--force"])
    assert_clean_failure(done, tmp_path)
    assert "could not write the plot" in done.stderr and "File too large" in done.stderr
    assert previous.read_bytes() == b"an older picture"


def test_trace_write_past_the_limit_raises_trace_error_and_keeps_the_old_trace(tmp_path):
    target = tmp_path / "run.h5"
    write_trace(target, synthetic_result(seed=0))
    before = target.read_bytes()
    script = f"""
    import resource, signal, sys
    sys.path.insert(0, {str(TESTS)!r})
    from test_traces import synthetic_result
    from neuroemu.errors import TraceError
    from neuroemu.traces.file import write_trace
    result = synthetic_result(seed=3, scale=40)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT_BYTES}, {LIMIT_BYTES}))
    try:
        write_trace({str(target)!r}, result, force=True)
    except TraceError as exc:
        print("TraceError:", exc)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "TraceError: could not write trace" in done.stdout
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr
    assert target.read_bytes() == before
    assert read_trace(target).seed == 0
    assert not [p.name for p in tmp_path.iterdir() if "partial" in p.name]


def test_experiment_table_past_the_limit_is_one_message(tmp_path):
    from neuroemu.errors import NeuroEmuError
    from neuroemu.outputs import write_atomically

    target = tmp_path / "results.csv"
    target.write_text("old\n")
    script = f"""
    import resource, signal, sys
    from pathlib import Path
    from neuroemu.errors import NeuroEmuError
    from neuroemu.experiment import write_table
    rows = [{{"model": "m" * 200, "seed": i}} for i in range(200)]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT_BYTES}, {LIMIT_BYTES}))
    try:
        write_table(Path({str(target)!r}), rows)
    except NeuroEmuError as exc:
        print("NeuroEmuError:", exc)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "NeuroEmuError: could not write the results table" in done.stdout, done.stdout
    assert target.read_text() == "old\n"
    assert not [p.name for p in tmp_path.iterdir() if "partial" in p.name]
    # In process, a writer that fails is reported the same way.
    with pytest.raises(NeuroEmuError, match=r"could not write the results table .*: boom"):
        write_atomically(target, _raise_oserror, what="results table")
    assert target.read_text() == "old\n"


def _raise_oserror(path: Path) -> None:
    path.write_text("half")
    raise OSError(28, "boom")


def _private_tmpfs_prefix(mount_point: Path) -> list[str] | None:
    """A command prefix that runs its command with a 64 KiB tmpfs at ``mount_point``, or None."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    probe = subprocess.run(
        [unshare, "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {mount_point}"],
        capture_output=True,
        timeout=30,
    )
    if probe.returncode != 0:
        return None
    # After the command, list the tmpfs (it vanishes with the namespace) to show what was left.
    script = (
        f'mount -t tmpfs -o size=64k tmpfs {mount_point} && {{ "$@"; rc=$?; '
        f'echo "left on disk:"; ls -A {mount_point}; exit $rc; }}'
    )
    return [unshare, "-rm", "sh", "-c", script, "sh"]


@pytest.mark.brian2
def test_run_trace_onto_a_real_full_disk(tmp_path, files):
    model, chip = files
    disk = tmp_path / "disk"
    disk.mkdir()
    prefix = _private_tmpfs_prefix(disk)
    if prefix is None:
        pytest.skip("this machine does not allow a private tmpfs mount (unshare -rm)")
    args = [
        sys.executable, "-m", "neuroemu", "run", model, "--chip", chip,
        "--duration-ms", "2000", "--device", "numpy", "--quiet", "--trace", str(disk / "run.h5"),
    ]  # fmt: skip
    done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert "could not write trace" in done.stderr and "No space left on device" in done.stderr
    assert done.stdout.split("left on disk:")[-1].split() == []
