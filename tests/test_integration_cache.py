"""Brian2's exact integrator solved once and read back: same spikes, no second sympy solve.

The ``lif`` model integrates with ``exact``; a run stores the solved integrator under
``$NEUROEMU_CACHE_DIR`` and a later run (a new process in practice; here a new NeuronGroup)
reads it instead of calling the solver. A damaged entry or an unusable store only means
solving again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_CHIP_YAML, make_tiny_network

from neuroemu.activity import Activity
from neuroemu.engine import integration_cache
from neuroemu.engine.integration_cache import entry_key
from neuroemu.engine.runner import simulate
from neuroemu.spec.chip import parse_chip

pytestmark = pytest.mark.brian2


def spike_arrays(activity: Activity) -> dict[str, tuple[bytes, bytes]]:
    return {name: (s.neuron.tobytes(), s.step.tobytes()) for name, s in activity.spikes.items()}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEUROEMU_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "integration"


@pytest.fixture
def solver_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of Brian2's exact solver (it still solves)."""
    import brian2

    original = brian2.StateUpdateMethod.stateupdaters["exact"]
    calls: list[int] = []

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setitem(brian2.StateUpdateMethod.stateupdaters, "exact", counted)
    return calls


def run() -> Activity:
    """A run as a new process makes it: Brian2's in-process cache of integrators emptied."""
    import brian2

    brian2.StateUpdateMethod.apply_stateupdater._cache.clear()
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    return simulate(make_tiny_network(), chip, 40.0, seed=4, device="numpy")


def test_second_run_reads_the_solved_integrator(store: Path, solver_calls: list[int]) -> None:
    first = run()
    assert solver_calls and len(list(store.glob("*.json"))) >= 1
    solved = len(solver_calls)
    second = run()
    assert len(solver_calls) == solved  # read back, not solved again
    assert spike_arrays(second) == spike_arrays(first)


def test_a_damaged_entry_is_solved_again(store: Path, solver_calls: list[int]) -> None:
    first = run()
    for entry in store.glob("*.json"):
        entry.write_text(entry.read_text()[:-20])  # truncated
    solved = len(solver_calls)
    second = run()
    assert len(solver_calls) > solved
    assert spike_arrays(second) == spike_arrays(first)
    third_solved = len(solver_calls)
    run()  # the entry was rewritten whole
    assert len(solver_calls) == third_solved


def test_an_unusable_store_only_means_solving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("NEUROEMU_CACHE_DIR", str(blocker))
    assert integration_cache.cache_dir().parent == blocker
    activity = run()
    assert activity.n_spikes > 0


def test_the_key_follows_the_equations_and_versions() -> None:
    a = entry_key("exact", "dv/dt = -v/tau : volt", None, None, "brian2 x")
    assert a == entry_key("exact", "dv/dt = -v/tau : volt", None, None, "brian2 x")
    assert a != entry_key("exact", "dv/dt = -2*v/tau : volt", None, None, "brian2 x")
    assert a != entry_key("exact", "dv/dt = -v/tau : volt", None, None, "brian2 y")
    assert np.unique([a, entry_key("euler", "dv/dt = -v/tau : volt", None, None, "x")]).size == 2
