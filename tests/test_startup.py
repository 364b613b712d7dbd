"""Start-up and exit of the command line: what ``neuroemu run`` imports, the lean Brian2 import,
the quick exit.

The lean import (:mod:`neuroemu.engine.brian2_import`) hides pylab, matplotlib and pytest while
Brian2 imports and freezes the objects alive; the console script also leaves with ``os._exit``
once its command is done (:mod:`neuroemu.cli.startup`). These tests run the command line in a
fresh process, as a user does, and check that it loaded none of the slow libraries it does not
use, that those remain importable afterwards, that a library user still gets the plain import,
and that the quick exit keeps exit statuses, output and ``atexit`` handlers.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from neuroemu.cli import startup
from neuroemu.engine import brian2_import

# Runs `neuroemu run` through the console script's entry point; an atexit handler reports what
# it loaded (main() leaves the process itself, after the atexit handlers).
_RUN_THROUGH_MAIN = """
import atexit, gc, json, sys


def report():
    watched = ("matplotlib", "pylab", "dask", "distributed", "pytest")
    facts = {
        "brian2": "brian2" in sys.modules,
        "loaded": sorted(name for name in watched if name in sys.modules),
        "gc_enabled": gc.isenabled(),
        "frozen": gc.get_freeze_count(),
    }
    import pylab  # hidden only while Brian2 imported

    facts["pylab_plot"] = callable(pylab.plot)
    print(json.dumps(facts))


atexit.register(report)
from neuroemu.cli.main import main
sys.argv = ["neuroemu", "run", "cuba", "--chip", "loihi", "--duration-ms", "2", "--quiet"]
main()
"""

# A library user's import: Brian2 as Brian2 itself sets it up, pylab's names included.
_LIBRARY_IMPORT = """
import gc, json, sys
from neuroemu.engine.brian2_import import import_brian2
b2 = import_brian2()
print(json.dumps({"plot": hasattr(b2, "plot"), "matplotlib": "matplotlib" in sys.modules,
                  "frozen": gc.get_freeze_count()}))
"""


# The console script's entry point with an atexit handler of the caller's, as a plugin or a
# library might register; argv from the command line.
_MAIN_WITH_ATEXIT = """
import atexit, pathlib, sys
atexit.register(pathlib.Path(sys.argv[1]).write_text, "handler ran")
from neuroemu.cli.main import main
sys.argv = ["neuroemu", *sys.argv[2:]]
main()
print("after main: not reached")
"""


def _subprocess(code: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def _python(code: str, cwd: Path) -> dict[str, Any]:
    done = _subprocess(code, cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


@pytest.mark.brian2
def test_run_command_loads_no_plotting_sweep_or_test_libraries(tmp_path: Path) -> None:
    facts = _python(_RUN_THROUGH_MAIN, tmp_path)
    assert facts["brian2"], "the run did not reach Brian2, so the check below proves nothing"
    assert facts["loaded"] == []
    assert facts["gc_enabled"] and facts["frozen"] > 0
    assert facts["pylab_plot"]


@pytest.mark.brian2
def test_library_import_of_brian2_is_unchanged(tmp_path: Path) -> None:
    facts = _python(_LIBRARY_IMPORT, tmp_path)
    assert facts == {"plot": True, "matplotlib": True, "frozen": 0}


def test_hidden_module_cannot_be_imported_inside_and_can_after() -> None:
    sys.modules.pop("colorsys", None)
    with brian2_import._hidden(("colorsys", "json")):
        with pytest.raises(ImportError):
            import colorsys
        import json as again  # already imported before the block: untouched

        assert again is json
    import colorsys

    assert colorsys.rgb_to_hsv(1.0, 0.0, 0.0)[0] == 0.0


@pytest.mark.parametrize(
    "args, status, out, err",
    [
        (["chips", "list"], 0, "loihi", ""),
        (["chips", "show", "loihy"], 1, "", "Did you mean 'loihi'?"),
        (["chips", "list", "--no-such-option"], 2, "", "No such option"),
    ],
)
def test_quick_exit_keeps_status_output_and_atexit_handlers(
    tmp_path: Path, args: list[str], status: int, out: str, err: str
) -> None:
    marker = tmp_path / "atexit.txt"
    done = _subprocess(_MAIN_WITH_ATEXIT, tmp_path, str(marker), *args)
    assert done.returncode == status, done.stderr[-2000:]
    assert out in done.stdout and err in done.stderr
    assert "not reached" not in done.stdout
    assert marker.read_text() == "handler ran"


def test_library_process_neither_exits_nor_pauses_the_collector() -> None:
    assert not startup._one_shot  # the tests call cli(), never main()
    startup.exit_now(0)  # returns: only a one-shot process leaves early
    frozen = gc.get_freeze_count()
    with startup.command_import():
        assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
