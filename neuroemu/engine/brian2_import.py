"""The engine's one door to Brian2: importing it, and how Brian2 is set up once imported.

Every engine module gets Brian2 from :func:`import_brian2`, never from ``import brian2`` of its
own, so the settings below hold for every run however the engine is entered (a run, a sweep
worker's warm-up).

A short command-line run spends most of its time starting up, and most of that importing Brian2
(2-3 s of a 1 s CUBA run's 6 s). The command line therefore asks, through :func:`use_lean_import`,
for a lean import, which changes nothing Brian2 computes:

- Brian2's ``__init__`` does ``from pylab import *`` (matplotlib.pyplot, about 1 s) only to offer
  pylab's names in ``from brian2 import *``, and falls back to numpy's names when pylab cannot be
  imported; ``brian2.units`` imports matplotlib only to detect version 1.3.1; ``brian2.tests``
  imports pytest only to run Brian2's own test suite. The engine uses none of these, so the lean
  import hides the three modules while Brian2 imports (each site catches the ImportError) and
  unhides them right after: a later ``import pylab`` in the process works as usual.
- Python's cyclic garbage collector walks every object alive, again and again, while the hundreds
  of thousands of objects of sympy and Brian2 are created (about 0.5 s), and Brian2's
  ``Network.run`` calls ``gc.collect()`` itself (0.15 s per run with them all alive). The lean
  import pauses the collector while Brian2 imports and then freezes every object alive
  (``gc.freeze``): collections skip them from then on. Objects alive then are never freed, which
  costs nothing in a process that exits after its command.

A library user (a script, a notebook) gets the plain import: pylab's names in ``brian2`` where
matplotlib is installed, and the collector as Python sets it.
"""

from __future__ import annotations

import gc
import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from neuroemu.engine.template_cache import cache_templates
from neuroemu.errors import SimulationError

#: Modules Brian2 imports only for what the engine never uses (see the module docstring), and
#: without which it imports all the same.
UNUSED_BY_ENGINE = ("pylab", "matplotlib", "pytest")

_lean = False


def use_lean_import() -> None:
    """Import Brian2 the lean way (see the module docstring) when this process first needs it.

    For a process that runs one command and exits: the command line calls it at start-up. It
    does nothing if Brian2 is already imported.
    """
    global _lean
    _lean = True


@contextmanager
def _hidden(names: tuple[str, ...]) -> Iterator[None]:
    """Make ``import name`` raise ImportError inside the block, for modules not yet imported.

    A ``None`` in ``sys.modules`` is Python's own way to say "cannot be imported"; removing it
    afterwards lets the module be imported normally later. Modules already imported stay as
    they are (their importers keep working).
    """
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block, then freeze every object alive."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _import() -> Any:
    if not _lean or "brian2" in sys.modules:
        import brian2

        return brian2
    with collector_paused(), _hidden(UNUSED_BY_ENGINE):
        import brian2
    return brian2


def import_brian2() -> Any:
    """Brian2's top-level module, imported on first use and set up for the engine.

    Returns
    -------
    module
        ``brian2``, to be used as ``b2``.

    Raises
    ------
    SimulationError
        If Brian2 cannot be imported.
    """
    # Brian2 2.9 routes Python warnings into its log, so pyparsing's deprecation notices about
    # Brian2's own parser calls would reach the user's terminal on every fresh compile.
    warnings.filterwarnings("ignore", message=r".*deprecated.*use.*", category=DeprecationWarning)
    try:
        b2 = _import()
    except ImportError as exc:  # pragma: no cover - brian2 is a core dependency
        raise SimulationError(f"cannot import brian2: {exc}") from exc
    b2.prefs.logging.console_log_level = "WARNING"
    # Importing Brian2 turns on logging.captureWarnings, which sends every later Python warning
    # of the process (neuroemu's own included) into Brian2's log as "WARNING file:line: ...";
    # turning it off restores whatever showed warnings before (the CLI's one-line form).
    logging.captureWarnings(False)
    cache_templates(b2)  # Jinja2's compiled templates, from disk (template_cache)
    return b2
