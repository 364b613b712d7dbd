"""Output paths, checked before any work: a long run must not end in "cannot write".

Every command that writes (a trace, a picture, a table) asks :func:`check_output` first: the
folder exists and is writable, the path is not a folder, an existing file is replaced only with
``--force``, and no command writes over one of its own inputs (``plot run.h5 -o run.h5`` once
replaced the trace with a PNG). :func:`write_atomically` then writes it so that no reader ever
sees half a file and a full disk ends in one message.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
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


def write_atomically(
    path: str | Path, write: Callable[[Path], object], what: str = "output"
) -> Path:
    """Write ``path`` through a hidden temporary file in its folder, then rename it into place.

    A reader sees the old file or the whole new one, never half of it; an interrupted or
    failed write (a full disk, a quota, a permission change) removes its temporary file and
    leaves any previous file untouched.

    Parameters
    ----------
    path : str or Path
        The file to write (its folder must exist).
    write : callable
        Writes the content to the temporary path it is given.
    what : str
        What the file is (``plot``, ``results table``), for the message.

    Raises
    ------
    NeuroEmuError
        The write failed; the message names the file and the system's reason.
    """
    target = Path(path)
    partial = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial"
    try:
        write(partial)
        os.replace(partial, target)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise NeuroEmuError(
            f"could not write the {what} {target}: {reason}; nothing was written (any previous "
            f"file is unchanged)"
        ) from exc
    finally:
        if partial.exists():
            partial.unlink()
    return target
