"""Which C++ compiler flags work, remembered across processes.

Brian2 keeps only the optimisation flags its compiler accepts (``-march=native``,
``-ffast-math``, ...) and finds out by compiling a test file per flag in every process that
builds cpp_standalone code: six compilations, about 0.16 s of a run that compiles nothing else
(the convolutional case of ``benchmarks/vs_sanafe.py``: 3 s in all). The answer depends only on
the compiler, so it is kept on disk and handed to Brian2's own per-process table
(``brian2.codegen.cpp_prefs._compiler_flag_compatibility``, keyed by compiler command and flag)
before Brian2 asks; Brian2 then uses the flags it would have found. An entry holds only for
the compiler it was found with: the command, the path, size and modification time of its
executable, and the environment variables that choose or configure the compiler (``CC``,
``CXX``, ``CFLAGS``, ``CPPFLAGS``); a change in any tests the flags again.

The store is the integration cache's folder
(:func:`~neuroemu.engine.integration_cache.cache_dir`), file ``compiler_flags.json``, written
atomically. Nothing here can fail a run: a store that cannot be read or written, or a Brian2
without that table, only means testing the flags again, as Brian2 does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neuroemu.engine.integration_cache import cache_dir
from neuroemu.errors import NeuroEmuError
from neuroemu.outputs import write_atomically

_ENVIRONMENT = ("CC", "CXX", "CFLAGS", "CPPFLAGS")


def store_path() -> Path:
    """Where the flags found are kept."""
    return cache_dir().parent / "compiler_flags.json"


def _table() -> dict[Any, Any] | None:
    try:
        from brian2.codegen import cpp_prefs
    except ImportError:
        return None
    table = getattr(cpp_prefs, "_compiler_flag_compatibility", None)
    return table if isinstance(table, dict) else None


def fingerprint(compiler: str) -> str | None:
    """The compiler command with what identifies its executable and environment, or None
    when the executable cannot be found."""
    words = compiler.split()
    found = shutil.which(words[0]) if words else None
    if found is None:
        return None
    try:
        real = os.path.realpath(found)
        stat = os.stat(real)
    except OSError:
        return None
    environment = [os.environ.get(name, "") for name in _ENVIRONMENT]
    return json.dumps([compiler, real, stat.st_size, stat.st_mtime_ns, environment])


def _read() -> list[list[Any]]:
    try:
        entries = json.loads(store_path().read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, list) and len(entry) == 4]


def _write(entries: list[list[Any]]) -> None:
    path = store_path()
    with contextlib.suppress(OSError, NeuroEmuError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda partial: partial.write_text(json.dumps(entries)))


@contextlib.contextmanager
def remembered_flags() -> Iterator[None]:
    """Around a Brian2 build: flags known for this compiler are given to Brian2 first, and
    those Brian2 tested inside the block are kept for later processes."""
    table = _table()
    if table is None:
        yield
        return
    entries = _read()
    prints: dict[str, str | None] = {}

    def current(compiler: str) -> str | None:
        if compiler not in prints:
            prints[compiler] = fingerprint(compiler)
        return prints[compiler]

    for compiler, flag, stored_print, works in entries:
        key = (compiler, flag)
        if key not in table and isinstance(works, bool) and stored_print == current(compiler):
            table[key] = works
    known = dict(table)
    yield
    found = {key: works for key, works in table.items() if key not in known}
    if not found:
        return
    kept = [e for e in entries if (e[0], e[1]) not in found]
    for (compiler, flag), works in found.items():
        stamp = current(compiler)
        if stamp is not None and isinstance(works, bool):
            kept.append([compiler, flag, stamp, works])
    _write(kept)
