"""The engine's one door to Brian2: importing it, and how Brian2 is set up once imported.

Every engine module gets Brian2 from :func:`import_brian2`, never from ``import brian2`` of its
own, so the settings below hold for every run however the engine is entered (a run, a sweep
worker's warm-up).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from neuroemu.errors import SimulationError


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
        import brian2 as b2
    except ImportError as exc:  # pragma: no cover - brian2 is a core dependency
        raise SimulationError(f"cannot import brian2: {exc}") from exc
    b2.prefs.logging.console_log_level = "WARNING"
    # Importing Brian2 turns on logging.captureWarnings, which sends every later Python warning
    # of the process (neuroemu's own included) into Brian2's log as "WARNING file:line: ...";
    # turning it off restores whatever showed warnings before (the CLI's one-line form).
    logging.captureWarnings(False)
    return b2
