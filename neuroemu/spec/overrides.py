"""Descriptor overrides: ``--set core.synapse_memory_bits=2097152`` on a loaded chip or GPU.

An architect asks "what if this core had twice the synapse memory?" without copying and editing
a descriptor. An override names a field by its dotted path and gives a YAML value; an optional
``DEVICE:`` prefix aims it at one descriptor by name (``h100:power.idle_power_w=60``), and without a
prefix it applies to every chip (never to GPUs: the two kinds share field names such as
``timing``, and a silent hit on the wrong kind would be worse than a refusal).

The derived descriptor is made the way a file is read: the descriptor's own YAML data is
changed, dumped back to text and validated by :func:`~neuroemu.spec.descriptor.validate_document`,
so every check of a file (types, bounds, cross-field rules) applies to it, and its ``text`` -- what
traces and result keys store -- is the derived document, not the original. A number set on a
quantity becomes ``estimated: true`` with a note naming the override and the descriptor's own
value (its source and range no longer describe it). The derived ``name`` records the overrides
(``loihi-set-core.synapse_memory_bits-2097152``) so tables and trace names never pass it off as
the published chip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from neuroemu.errors import DescriptorError, NeuroEmuError
from neuroemu.spec.chip import ChipSpec
from neuroemu.spec.descriptor import (
    Loc,
    dotted,
    parse_descriptor,
    parse_yaml,
    validate_document,
)
from neuroemu.spec.gpu import GpuSpec

SpecT = TypeVar("SpecT", ChipSpec, GpuSpec)

# Fields an override may not touch: the loaders fill them in, or they say what the file is.
_PROTECTED = frozenset({"format_version", "kind", "name", "path", "text", "sources"})
_NAME_CHARS = re.compile(r"[^a-z0-9_.-]+")


@dataclass(frozen=True)
class Override:
    """One ``[DEVICE:]dotted.path=VALUE`` setting.

    Attributes
    ----------
    device : str or None
        Name of the descriptor it is aimed at (``None``: every chip).
    loc : tuple of str
        Path of the field (``('core', 'synapse_memory_bits')``).
    value : object
        The value, as YAML reads it (``2097152`` an int, ``0.5`` a float, ``true`` a bool).
    text : str
        The setting as written, for names, notes and messages.
    """

    device: str | None
    loc: tuple[str, ...]
    value: Any
    text: str

    @property
    def field(self) -> str:
        """The dotted field name (``core.synapse_memory_bits``)."""
        return dotted(self.loc)


def parse_override(text: str) -> Override:
    """Read ``[DEVICE:]dotted.path=VALUE``.

    Raises
    ------
    NeuroEmuError
        When the text is not of that form (the message shows the expected form).
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    device: str | None = None
    if ":" in key:
        device, _, key = (part.strip() for part in key.partition(":"))
    parts = tuple(key.split("."))
    if not sep or not raw.strip() or not all(parts) or device == "":
        raise NeuroEmuError(
            f"--set {text!r}: expected [DEVICE:]FIELD=VALUE with a dotted field, e.g. "
            f"core.synapse_memory_bits=2097152 or h100:power.idle_power_w=60"
        )
    try:
        # The descriptor's own YAML reading: 1e300 is a number there, as in a file.
        value, _ = parse_yaml(raw, "--set")
    except DescriptorError as exc:
        raise NeuroEmuError(f"--set {text!r}: the value is not valid YAML: {exc.problem}") from None
    if parts[0] in _PROTECTED:
        raise NeuroEmuError(f"--set {text!r}: {parts[0]!r} cannot be overridden")
    return Override(device, parts, value, text.strip())


def parse_overrides(texts: Iterable[str | Override]) -> list[Override]:
    """Parse several settings; the same field set twice for the same device is refused (the
    later one would silently win, which hides a typo)."""
    parsed = [t if isinstance(t, Override) else parse_override(t) for t in texts]
    seen: dict[tuple[str | None, tuple[str, ...]], str] = {}
    for item in parsed:
        key = (item.device, item.loc)
        if key in seen:
            raise NeuroEmuError(
                f"--set {item.field} is given twice ({seen[key]!r} and {item.text!r}): expected "
                f"each field once"
            )
        seen[key] = item.text
    return parsed


def overrides_for(spec: ChipSpec | GpuSpec, overrides: Sequence[Override]) -> list[Override]:
    """The settings that apply to ``spec``: those aimed at its name, and the unprefixed ones
    when it is a chip."""
    chip = isinstance(spec, ChipSpec)
    return [o for o in overrides if o.device == spec.name or (o.device is None and chip)]


def check_targets(overrides: Sequence[Override], names: Iterable[str]) -> None:
    """Refuse a setting aimed at a device that is not loaded (a typo in its prefix)."""
    known = set(names)
    for item in overrides:
        if item.device is not None and item.device not in known:
            raise NeuroEmuError(
                f"--set {item.text!r}: no chip or GPU named {item.device!r} is loaded here "
                f"(loaded: {', '.join(sorted(known)) or 'none'})"
            )


def derived_name(name: str, overrides: Sequence[Override]) -> str:
    """``loihi-set-core.synapse_memory_bits-2097152``: the name with each setting, in the
    characters a descriptor name allows (others become ``_``)."""
    parts = [name]
    for item in overrides:
        value = _NAME_CHARS.sub("_", str(item.value).lower())
        parts.append(f"set-{_NAME_CHARS.sub('_', item.field.lower())}-{value}")
    return "-".join(parts)


def apply_overrides(spec: SpecT, overrides: Sequence[Override | str]) -> SpecT:
    """A copy of ``spec`` with ``overrides`` applied, validated like a descriptor file.

    Settings aimed at another device are ignored (see :func:`overrides_for`); with none left,
    ``spec`` itself comes back.

    Parameters
    ----------
    spec : ChipSpec or GpuSpec
        A loaded descriptor (with its ``text``).
    overrides : sequence of Override or str
        Settings, parsed or as written.

    Returns
    -------
    ChipSpec or GpuSpec
        The derived descriptor: its ``text`` is the derived YAML, its ``name`` records the
        settings, its ``path`` is the original file's.

    Raises
    ------
    DescriptorError
        An unknown field, or a value the descriptor's rules refuse, with the field's name.
    """
    mine = overrides_for(spec, parse_overrides(overrides))
    if not mine:
        return spec
    origin = spec.path or spec.name
    label = f"{origin} (with --set {', '.join(o.text for o in mine)})"
    # The derived text names the descriptor by file name only: the same settings on the same
    # descriptor give the same text (and the same result keys) wherever the file lies.
    source = Path(origin).name
    if spec.text:
        data, _ = parse_yaml(spec.text, origin)
    else:
        data = spec.model_dump(mode="json", exclude={"path", "text"}, exclude_none=True)
    for item in mine:
        _set(data, item, label, source)
    data["name"] = derived_name(spec.name, mine)
    settings = "; ".join(o.text for o in mine)
    data["description"] = f"{spec.name} from {source} with --set {settings}. " + (
        data.get("description") or ""
    )
    model = type(spec)
    kind = "chip" if isinstance(spec, ChipSpec) else "gpu"
    # Validated first as data (messages name the setting, not a line of a file nobody wrote) ...
    validate_document(model, {**data, "path": origin, "text": ""}, {}, label, kind=kind)
    text = f"# Derived from {source} with --set {settings}\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=100
    )
    # ... then as text, which is what a trace keeps and reads back.
    return parse_descriptor(model, text, origin, kind=kind)


def _set(data: dict[str, Any], item: Override, label: str, origin: str) -> None:
    """Set one field in the parsed descriptor ``data`` (a quantity keeps its shape)."""
    node: Any = data
    for depth, part in enumerate(item.loc[:-1]):
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            where: Loc = item.loc[: depth + 1]
            raise DescriptorError(
                label, None, dotted(where), f"no such section in {origin}: cannot set "
                f"{item.field}",
            )  # fmt: skip
        node = child
    key = item.loc[-1]
    old = node.get(key)
    if isinstance(old, dict) and ("value" in old or old.get("unknown")) and _scalar(item.value):
        was = f"{old['value']!r}" if "value" in old else "unknown"
        source = f" (source: {old['source']})" if old.get("source") else ""
        node[key] = {
            "value": item.value,
            "estimated": True,
            "note": f"set by --set {item.text}; {origin} gives {was}{source}",
        }
    elif old is None and isinstance(item.value, int | float) and not isinstance(item.value, bool):
        # Every number of a descriptor is a quantity; an optional one absent from the file
        # (core.fan_out_cores, say) is added as one.
        node[key] = {"value": item.value, "estimated": True, "note": f"set by --set {item.text}"}
    else:
        node[key] = item.value


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_overridden(
    chips: Sequence[str | ChipSpec], gpus: Sequence[str | GpuSpec], settings: Sequence[str]
) -> tuple[list[ChipSpec], list[GpuSpec]]:
    """Load chips and GPUs (names, paths or loaded specs) and apply ``--set`` settings.

    What a command that loads devices does with its ``--set`` options, in one call: the
    settings are parsed (one of each field per device), a ``DEVICE:`` prefix must name a loaded
    device, and each device gets the settings aimed at it.

    Returns
    -------
    chips, gpus : list of ChipSpec, list of GpuSpec
        In the order given, each derived where a setting applies and as loaded otherwise.
    """
    from neuroemu.spec.chip import load_chip
    from neuroemu.spec.gpu import load_gpu

    parsed = parse_overrides(settings)
    chip_specs = [c if isinstance(c, ChipSpec) else load_chip(c) for c in chips]
    gpu_specs = [g if isinstance(g, GpuSpec) else load_gpu(g) for g in gpus]
    check_targets(parsed, [c.name for c in chip_specs] + [g.name for g in gpu_specs])
    return (
        [apply_overrides(chip, parsed) for chip in chip_specs],
        [apply_overrides(gpu, parsed) for gpu in gpu_specs],
    )
