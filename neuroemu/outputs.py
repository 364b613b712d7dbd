"""Output paths, checked before any work: a long run must not end in "cannot write".

Every command that writes (a trace, a picture, a table) asks :func:`check_output` first: the
folder exists and is writable, the path is not a folder, an existing file is replaced only with
``--force``, and no command writes over one of its own inputs (``plot run.h5 -o run.h5`` once
replaced the trace with a PNG).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from neuroemu.errors import NeuroEmuError


def check_output(
    path: str | Path, force: bool = False, inputs: Iterable[str | Path] = (), what: str = "output"
) -> Path:
    """``path`` if it can be written; otherwise a :class:`NeuroEmuError` saying why.

    Parameters
    ----------
    path : str or Path
        The file to write.
    force : bool
        Allow replacing an existing file (never an input, never a folder).
    inputs : iterable of paths
        Files the command reads: the output may not be one of them.
    what : str
        What the file is (``trace``, ``plot``), for the message.
    """
    target = Path(path)
    resolved = target.resolve()
    for source in inputs:
        if Path(source).resolve() == resolved:
            raise NeuroEmuError(
                f"{target}: the {what} would overwrite an input of this command: expected "
                f"another file name"
            )
    if target.is_dir():
        raise NeuroEmuError(f"{target} is a folder: expected a file name for the {what}")
    folder = target.parent
    if not folder.is_dir():
        raise NeuroEmuError(f"cannot write the {what} {target}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise NeuroEmuError(f"cannot write the {what} {target}: folder {folder} is not writable")
    if target.exists() and not force:
        raise NeuroEmuError(f"{target} exists; use --force to overwrite it")
    return target
