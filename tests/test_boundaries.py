"""Brian2 stays behind one door: only ``neuroemu/engine/`` may import it.

Everything else (chips, mapping, accounting, CLI) must start fast and work without Brian2's
globals, so a module importing it by accident is a design break, found here by parsing the
source with ``ast`` (not by importing it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "neuroemu"
ALLOWED = {"engine/runner.py"}
MODULES = sorted(PACKAGE.rglob("*.py"))


def brian2_imports(source: str, filename: str = "<source>") -> list[int]:
    """Line numbers where ``source`` imports brian2 (any form, including ``importlib``).

    Parameters
    ----------
    source : str
        Python source text.
    filename : str
        Used in syntax-error messages only.

    Returns
    -------
    list of int
        1-based line numbers of the offending statements or calls.
    """
    lines = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            names = [str(node.args[0].value)] if called in ("import_module", "__import__") else []
        else:
            continue
        if any(name == "brian2" or name.startswith("brian2.") for name in names):
            lines.append(node.lineno)
    return lines


def test_the_package_has_modules() -> None:
    assert (PACKAGE / "__init__.py") in MODULES
    assert len(MODULES) > 5


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_engine_imports_brian2(path: Path) -> None:
    if path.relative_to(PACKAGE).as_posix() in ALLOWED:
        return
    found = brian2_imports(path.read_text(encoding="utf-8"), str(path))
    assert not found, (
        f"{path.name} imports brian2 on line(s) {found}: keep it behind neuroemu/engine/"
    )


@pytest.mark.parametrize(
    "source",
    [
        "import brian2",
        "import brian2 as b2",
        "import numpy, brian2.units",
        "from brian2 import ms",
        "from brian2.units import mV",
        "def f():\n    import brian2\n",
        "import importlib\nimportlib.import_module('brian2')",
        "__import__('brian2.devices')",
    ],
)
def test_the_check_finds_every_form_of_import(source: str) -> None:
    assert brian2_imports(source)


@pytest.mark.parametrize(
    "source",
    ["import brian2tools_not_brian2 as x", "from . import engine", "x = 'import brian2'"],
)
def test_the_check_ignores_lookalikes(source: str) -> None:
    assert not brian2_imports(source)
