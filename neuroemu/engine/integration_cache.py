"""Brian2's exact integrator, solved once per model and kept on disk.

For linear equations (the LIF models, CUBA's and COBA's synaptic currents) Brian2's ``exact``
method solves the system with sympy's matrix exponential on every run, in every process: about
4-9 s of a one-second CUBA run's 10 s (``Matrix.exp`` -> ``jordan_form``), and the cost of every
sweep worker's first job. The result is abstract code that depends only on the equations, the
group's variables (names, units, whether constant) and the Brian2 and sympy versions, not on any
parameter value, so it is stored under a hash of exactly those and read back by later runs:
the same code, hence the same spikes, bit for bit.

The store is ``$NEUROEMU_CACHE_DIR``, else ``$XDG_CACHE_HOME/neuroemu``, else
``~/.cache/neuroemu``, under ``integration/``. An entry is written atomically (a temporary file
renamed into place) and carries the hash of its code, checked on reading, so a damaged or
truncated entry is solved again, never used. Nothing here can fail a run: a store that cannot be
read or written only means solving again.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Methods worth caching: the symbolic solvers (explicit methods are cheap to derive).
CACHED_METHODS = ("exact",)


def cache_dir() -> Path:
    """Where solved integrators are kept."""
    explicit = os.environ.get("NEUROEMU_CACHE_DIR")
    if explicit:
        return Path(explicit) / "integration"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neuroemu" / "integration"


def _describe(variables: dict[str, Any] | None) -> list[list[str]]:
    """What the solver reads of each variable: kind, unit, constness, scalar, dtype."""
    if not variables:
        return []
    return [
        [
            name,
            type(var).__name__,
            str(getattr(var, "dim", "")),
            str(getattr(var, "constant", "")),
            str(getattr(var, "scalar", "")),
            str(getattr(var, "dtype", "")),
        ]
        for name, var in sorted(variables.items())
    ]


def entry_key(
    method: str, equations: Any, variables: dict[str, Any] | None, options: Any, versions: str
) -> str:
    """Hash of everything the solver's output depends on."""
    text = json.dumps(
        [versions, method, str(equations), _describe(variables), repr(options)], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path) -> str | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        code = entry["code"]
        if hashlib.sha256(code.encode()).hexdigest() != entry["sha256"]:
            return None
        return str(code)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, code: str) -> None:
    entry = {"sha256": hashlib.sha256(code.encode()).hexdigest(), "code": code}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only or full disk: the next run solves again


#: One callable per method and solver, so that Brian2's own in-process cache of integrators
#: (keyed by the method among other things) sees the same method on every run of a process.
_INTEGRATORS: dict[tuple[str, int], Callable[..., str]] = {}


def cached_integrator(b2: Any, method: str) -> str | Callable[..., str]:
    """``method`` as given to a NeuronGroup: a callable that reads a solved integrator from the
    store or solves and stores it, for the methods in :data:`CACHED_METHODS`; other methods
    are returned unchanged (Brian2 derives them quickly)."""
    if method not in CACHED_METHODS:
        return method
    key = (method, id(b2.StateUpdateMethod.stateupdaters[method]))
    if key not in _INTEGRATORS:
        _INTEGRATORS[key] = _make_integrator(b2, method)
    return _INTEGRATORS[key]


def _make_integrator(b2: Any, method: str) -> Callable[..., str]:
    solver = b2.StateUpdateMethod.stateupdaters[method]
    # sympy's own __version__ (Brian2 has imported it), the string its distribution carries:
    # importlib.metadata cost 0.07 s of every run's start-up
    sympy_version = importlib.import_module("sympy").__version__
    versions = f"brian2 {b2.__version__}, sympy {sympy_version}"

    def integrate(equations: Any, variables: Any = None, method_options: Any = None) -> str:
        key = entry_key(method, equations, variables, method_options, versions)
        path = cache_dir() / f"{key}.json"
        code = _read(path)
        if code is None:
            code = solver(equations, variables, method_options)
            _write(path, code)
        return code

    integrate.__name__ = method  # Brian2 names the method by it in its log
    return integrate
