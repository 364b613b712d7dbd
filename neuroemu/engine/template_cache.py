"""Brian2's code templates, compiled once and kept on disk.

Brian2 writes every code object (and, on cpp_standalone, ``main.cpp``, ``objects.cpp``, the
makefile) from Jinja2 templates, and Jinja2 compiles each template it loads from its text into
Python code, in every process: about 0.15 s of a cpp_standalone run that compiles nothing
(the convolutional case of ``benchmarks/vs_sanafe.py``: 4 s in all), and of every sweep worker's
first run. Jinja2's own bytecode cache keeps that compiled code on disk, keyed by template name
and checked against a checksum of the template's text and Jinja2's and Python's versions, so a
later process loads it instead: the same template, hence the same generated code, byte for byte.

The store is the integration cache's folder (:func:`~neuroemu.engine.integration_cache.cache_dir`)
under ``templates/``. Entries are written atomically (Jinja2 renames a temporary file into
place). Nothing here can fail a run: a store that cannot be created, read or written only means
compiling the templates again, as Brian2 does.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from neuroemu.engine.integration_cache import cache_dir


def template_cache_dir() -> Path:
    """Where compiled templates are kept."""
    return cache_dir().parent / "templates"


def _cache(directory: Path) -> Any | None:
    from jinja2 import FileSystemBytecodeCache

    class QuietCache(FileSystemBytecodeCache):
        """Jinja2's file cache, without errors: an entry it cannot read or write is compiled."""

        def load_bytecode(self, bucket: Any) -> None:
            with contextlib.suppress(Exception):
                super().load_bytecode(bucket)

        def dump_bytecode(self, bucket: Any) -> None:
            with contextlib.suppress(Exception):
                super().dump_bytecode(bucket)

    try:
        directory.mkdir(parents=True, exist_ok=True)
        return QuietCache(str(directory))
    except OSError:
        return None


def cache_templates(b2: Any) -> None:
    """Give the Jinja2 environments of Brian2's code objects (cpp_standalone, numpy, cython where
    installed) the on-disk bytecode cache. Templates already loaded in this process stay loaded;
    does nothing when the store cannot be created."""
    cache = _cache(template_cache_dir())
    if cache is None:
        return
    from brian2.codegen.targets import codegen_targets
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

    for code_object in (CPPStandaloneCodeObject, *codegen_targets):
        templater = getattr(code_object, "templater", None)
        env = getattr(templater, "env", None)
        if env is not None and env.bytecode_cache is None:
            env.bytecode_cache = cache
