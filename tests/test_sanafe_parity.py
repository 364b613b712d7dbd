"""neuroemu against SANA-FE: neuron updates, energy by category and time on chip to 1e-9.

The networks, the SANA-FE side and the comparison are those of ``benchmarks/vs_sanafe.py``
(imported from its file). SANA-FE's numbers were recorded by ``python benchmarks/vs_sanafe.py
--record`` into ``tests/data/sanafe_reference.json`` (sanafe 2.2.9, its ``examples/loihi.yaml``),
so the comparison runs without SANA-FE; where ``sanafe`` is importable it also runs live.
neuroemu runs on Brian2's numpy target (no compilation), 100 steps per case.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.brian2

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((ROOT / "tests" / "data" / "sanafe_reference.json").read_text())


def benchmark() -> ModuleType:
    path = ROOT / "benchmarks" / "vs_sanafe.py"
    spec = importlib.util.spec_from_file_location("vs_sanafe", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


VS = benchmark()
_RUNS: dict[str, dict[str, Any]] = {}


def neuroemu_run(case: str) -> dict[str, Any]:
    """neuroemu's numbers for ``case``, computed once per test session."""
    if case not in _RUNS:
        _RUNS[case] = VS.run_neuroemu(case, REFERENCE["steps"], device="numpy")
    return _RUNS[case]


def assert_agree(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Every compared quantity within 1e-9 relative, with the worst offender in the message."""
    rows = VS.compare(ours, theirs)
    worst = max(rows, key=lambda row: row[3])
    name, a, b, rel = worst
    assert rel <= VS.RTOL, f"{name}: neuroemu {a!r}, SANA-FE {b!r} ({rel:.1e} relative)"


@pytest.mark.parametrize("case", sorted(REFERENCE["cases"]))
def test_neuroemu_equals_recorded_sanafe(case: str) -> None:
    theirs = REFERENCE["cases"][case]
    ours = neuroemu_run(case)
    assert REFERENCE["chip"] == VS.CHIP
    assert VS.spike_digest(ours["spikes"]) == theirs["spike_digest"], "the spikes differ"
    assert theirs["neurons_updated"] > theirs["neurons_fired"] > 0  # the cases are not idle
    assert_agree(ours, theirs)


@pytest.mark.parametrize("case", sorted(REFERENCE["cases"]))
def test_neuroemu_equals_live_sanafe(case: str) -> None:
    pytest.importorskip("sanafe")
    theirs = VS.run_sanafe(case, REFERENCE["steps"])
    ours = neuroemu_run(case)
    assert VS.spike_difference(ours, theirs) is None
    assert_agree(ours, theirs)


def test_a_changed_constant_is_caught() -> None:
    """The comparison can fail: SANA-FE's numbers with one energy moved by 1e-8 relative."""
    theirs = json.loads(json.dumps(REFERENCE["cases"]["random"]))
    theirs["energy_j"]["network"] *= 1 + 1e-8
    with pytest.raises(AssertionError, match="energy_network_j"):
        assert_agree(neuroemu_run("random"), theirs)
