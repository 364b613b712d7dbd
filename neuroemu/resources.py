"""Bundled data (chip and GPU descriptors, models) and the one lookup of "a name or a path".

An installed neuroemu carries ``chips/``, ``chips/gpu/`` and ``models/`` inside the package, as
``neuroemu.data``; they are found through :mod:`importlib.resources` first. A source checkout (or
an editable install) keeps them at the repository root, which is used only when ``pyproject.toml``
sits beside the package: a bare folder next to site-packages (another distribution's
``models/``) must never shadow neuroemu's own data.

Every command takes either a bundled name (``loihi``, ``cuba``) or a path; :func:`find` decides
which, and :func:`not_found` says what exists and which name was probably meant.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from neuroemu.errors import NeuroEmuError


@dataclass(frozen=True)
class Bundle:
    """One kind of bundled file: its folder below the data root, file suffixes, and a label."""

    folder: str
    suffixes: tuple[str, ...]
    label: str


BUNDLES: dict[str, Bundle] = {
    "chip": Bundle("chips", (".yaml", ".yml"), "chip"),
    "gpu": Bundle("chips/gpu", (".yaml", ".yml"), "GPU"),
    "model": Bundle("models", (".py",), "model"),
}

_PACKAGE_ROOT = Path(__file__).resolve().parent
# What a bundled name may look like: a file stem, never a path.
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def data_dir(folder: str) -> Path:
    """Folder of bundled data (``chips``, ``chips/gpu``, ``models``).

    Raises
    ------
    NeuroEmuError
        When neither the installed package nor a source checkout has the folder (a broken
        installation: reinstall neuroemu).
    """
    installed = Path(str(resources.files("neuroemu.data"))) / folder
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_ROOT.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / folder).is_dir():
        return checkout / folder
    raise NeuroEmuError(
        f"neuroemu's bundled {folder}/ folder is missing from {installed}: expected it in the "
        f"installed package (reinstall neuroemu) or in a source checkout beside pyproject.toml"
    )


def bundled_names(kind: str) -> list[str]:
    """Names of the bundled files of ``kind`` (``chip``, ``gpu``, ``model``), sorted."""
    bundle = BUNDLES[kind]
    return sorted(
        path.stem
        for path in data_dir(bundle.folder).iterdir()
        if path.suffix in bundle.suffixes and not path.stem.startswith("_")
    )


def find(name_or_path: str | Path, kinds: tuple[str, ...]) -> tuple[Path, str] | None:
    """The file meant by ``name_or_path`` and its kind, or None when nothing matches.

    A path (anything with one of the kinds' suffixes, or anything that exists) is returned as given,
    even when missing, so the caller's "no such file" names it; its kind is the first of
    ``kinds`` whose suffixes match. A plain name is looked up among the bundled files of each
    kind in turn.
    """
    candidate = Path(name_or_path)
    for kind in kinds:
        if candidate.suffix in BUNDLES[kind].suffixes:
            return candidate, kind
    if candidate.exists():
        return candidate, kinds[0]
    if not PLAIN_NAME.fullmatch(str(name_or_path)):
        return None  # a bundled name never reaches outside the bundle (no '/', no '..')
    for kind in kinds:
        bundle = BUNDLES[kind]
        for suffix in bundle.suffixes:
            bundled = data_dir(bundle.folder) / f"{name_or_path}{suffix}"
            if bundled.is_file():
                return bundled, kind
    return None


def not_found(name_or_path: str | Path, kinds: tuple[str, ...]) -> str:
    """What to say when :func:`find` found nothing: what exists, and the closest name."""
    names = [name for kind in kinds for name in bundled_names(kind)]
    labels = " or ".join(BUNDLES[kind].label for kind in kinds)
    close = difflib.get_close_matches(str(name_or_path), names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    if not PLAIN_NAME.fullmatch(str(name_or_path)):
        hint += " A bundled name is a plain name; give a file as a path with its suffix."
    return (
        f"no bundled {labels} {str(name_or_path)!r} and no such file: expected a path or one of "
        f"{', '.join(names)}.{hint}"
    )
