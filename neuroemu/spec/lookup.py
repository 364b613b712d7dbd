"""Loading a descriptor of either kind, chosen by its ``kind:`` key or its bundled name.

``neuroemu chips show`` and ``chips check`` accept chips and GPUs alike; the file says which it is.
"""

from __future__ import annotations

from neuroemu.errors import DescriptorError
from neuroemu.resources import find, not_found
from neuroemu.spec.chip import ChipSpec, parse_chip
from neuroemu.spec.descriptor import line_of, parse_yaml, read_text
from neuroemu.spec.gpu import GpuSpec, parse_gpu

Spec = ChipSpec | GpuSpec


def load_descriptor(name_or_path: str) -> Spec:
    """Load a chip or GPU descriptor, choosing the loader by the file's ``kind:`` key.

    Parameters
    ----------
    name_or_path : str
        A path (``my_chip.yaml``) or the name of a bundled chip (``loihi``) or GPU (``rtx2070``).

    Returns
    -------
    ChipSpec or GpuSpec
        The validated descriptor.

    Raises
    ------
    DescriptorError
        If no such file or bundled name exists, or the file is not a valid descriptor.
    """
    found = find(name_or_path, ("chip", "gpu"))
    if found is None:
        raise DescriptorError(str(name_or_path), None, "", not_found(name_or_path, ("chip", "gpu")))
    path, bundled_kind = found
    text = read_text(path)
    data, lines = parse_yaml(text, str(path))
    kind = data.get("kind") if isinstance(data, dict) else bundled_kind
    if kind == "gpu":
        return parse_gpu(text, str(path))
    if kind != "chip" and isinstance(data, dict) and "kind" in data:
        raise DescriptorError(
            str(path), line_of(lines, ("kind",)), "kind", f"expected 'chip' or 'gpu', got {kind!r}"
        )
    return parse_chip(text, str(path))
