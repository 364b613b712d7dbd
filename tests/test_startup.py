"""Start-up of the command line: what ``neuroemu run`` imports, and the lean Brian2 import.

The lean import (:mod:`neuroemu.engine.brian2_import`) hides pylab, matplotlib and pytest while
Brian2 imports and freezes the objects alive; these tests run the command line in a fresh
process, as a user does, and check that it loaded none of the slow libraries it does not use,
that those remain importable afterwards, and that a library user still gets the plain import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from neuroemu.engine import brian2_import

# Runs `neuroemu run` through the console script's entry point, then reports what it loaded.
_RUN_THROUGH_MAIN = """
import gc, json, sys
from neuroemu.cli.main import main
sys.argv = ["neuroemu", "run", "cuba", "--chip", "loihi", "--duration-ms", "2", "--quiet"]
try:
    main()
except SystemExit as exc:
    code = exc.code
watched = ("matplotlib", "pylab", "dask", "distributed", "pytest")
facts = {
    "code": code,
    "brian2": "brian2" in sys.modules,
    "loaded": sorted(name for name in watched if name in sys.modules),
    "gc_enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
}
import pylab  # hidden only while Brian2 imported
facts["pylab_plot"] = callable(pylab.plot)
print(json.dumps(facts))
"""

# A library user's import: Brian2 as Brian2 itself sets it up, pylab's names included.
_LIBRARY_IMPORT = """
import gc, json, sys
from neuroemu.engine.brian2_import import import_brian2
b2 = import_brian2()
print(json.dumps({"plot": hasattr(b2, "plot"), "matplotlib": "matplotlib" in sys.modules,
                  "frozen": gc.get_freeze_count()}))
"""


def _python(code: str, cwd: Path) -> dict[str, Any]:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


@pytest.mark.brian2
def test_run_command_loads_no_plotting_sweep_or_test_libraries(tmp_path: Path) -> None:
    facts = _python(_RUN_THROUGH_MAIN, tmp_path)
    assert facts["code"] == 0
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
