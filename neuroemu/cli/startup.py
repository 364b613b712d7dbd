"""What a process that runs one command and exits does differently from a library user's.

``neuroemu run cuba --chip loihi --duration-ms 1000`` simulates for well under a second but took
about 6 s, most of it spent importing (Brian2, sympy, scipy, pydantic) and, at exit, freeing
what was imported. None of that changes a result, so the console script (:func:`begin`, called
by :func:`neuroemu.cli.main.main`) cuts it where a library user (a script, a notebook, the tests'
``CliRunner``) could not afford it:

- Brian2 is imported the lean way (:mod:`neuroemu.engine.brian2_import`: without pylab, with the
  garbage collector paused, then its objects frozen).
- The command's own modules are imported likewise with the cyclic garbage collector paused and
  their objects then frozen (:func:`command_import`): while a few hundred thousand long-lived
  objects are created, each collection re-walks all those made before (about 0.1 s).
- At the end, once the command has finished and no other thread runs, the process leaves with
  ``os._exit`` after running the ``atexit`` handlers and flushing stdout and stderr
  (:func:`exit_now`). Python's own exit would then free every object of every module one by one
  (about 0.25 s with Brian2 loaded) to no purpose: the operating system reclaims the memory, and
  every file neuroemu writes is closed (and renamed into place) before its command returns.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_one_shot = False


def begin() -> None:
    """Mark this process as one that runs one command and exits (the console script)."""
    global _one_shot
    _one_shot = True
    from neuroemu.engine.brian2_import import use_lean_import

    use_lean_import()


@contextmanager
def command_import() -> Iterator[None]:
    """Around the import of a command's module: in a one-shot process, the cyclic garbage
    collector is paused inside and the objects alive are frozen (``gc.freeze``) after it."""
    if not _one_shot:
        yield
        return
    from neuroemu.engine.brian2_import import collector_paused

    with collector_paused():
        yield


def exit_now(code: object) -> None:
    """Leave a one-shot process at once with exit status ``code`` (see the module docstring).

    Returns, so that the caller exits the usual way, when the process is not one-shot, when
    ``code`` is not a status (a message), when another thread still runs (Python would wait
    for it), or when stdout or stderr cannot be flushed (Python then reports it as usual).
    """
    if not _one_shot or threading.active_count() > 1:
        return
    if code is not None and not isinstance(code, int):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    # What Python's own exit does before it frees the modules: the atexit handlers (logging's
    # flush, Brian2's log clean-up, weakref finalizers of temporary folders), then the flush.
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code or 0)
