"""Strict loading of YAML data files (chip, GPU and experiment descriptors) with line numbers.

Why this module exists: a descriptor is data a user writes by hand, so every mistake must come back
as ``file:line: field: what was expected, what was found``. YAML is parsed into a node tree (to
know the line of every key and to refuse duplicate keys, which PyYAML would silently overwrite),
then validated by pydantic models that forbid unknown keys and coercion. Pydantic's errors are
translated here into :class:`~neuroemu.errors.DescriptorError` with the line of the field.

Every number in a descriptor is a *quantity*: a mapping with ``value`` and ``source`` (a tag of the
file's ``sources`` table), optionally ``range``, ``estimated: true`` with a ``note`` when no source
gives it, or ``unknown: true`` when nobody has published it (the accounting then refuses to price
it instead of using zero).
"""

from __future__ import annotations

import difflib
import os
import re
import reprlib
import stat
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from neuroemu.errors import DescriptorError, DescriptorErrors, UnpricedError

FORMAT_VERSION = 1

# Bounds on a file a user hands us, so that a hostile or broken one is refused in well under a
# second: its size, the nesting depth of its YAML, and the nodes its aliases expand to.
MAX_FILE_BYTES = 4 * 2**20
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 200_000

Loc = tuple[str | int, ...]

# Which number of a quantity to use: its value, or the low or high end of its range.
Bound = Literal["value", "low", "high"]
BOUNDS: tuple[Bound, ...] = ("value", "low", "high")


# Infinite and NaN values are refused everywhere: a YAML ``.inf`` energy or capacity is a typo,
# never a figure someone published.
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class FieldProblem(ValueError):
    """A validator's complaint about one field *below* the model being validated.

    Pydantic reports a model validator's error at the model itself (``topology``); raising this
    instead lets :func:`validate_document` point at the offending key and its line
    (``topology.cores_per_chip``).

    Parameters
    ----------
    loc : tuple
        Path of the field relative to the model whose validator raises.
    message : str
        What was expected and what was found.
    """

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc


class StrictModel(BaseModel):
    """Base of every descriptor model: frozen, no unknown keys, no type coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _QuantityBase(StrictModel):
    """A number with its provenance.

    ``value`` is absent only when ``unknown`` is true. ``source`` names an entry of the file's
    ``sources`` table; a value without a source must say ``estimated: true`` and explain itself in
    ``note``.
    """

    range: Annotated[list[FiniteFloat], Field(min_length=2, max_length=2)] | None = None
    source: str | None = None
    estimated: bool = False
    unknown: bool = False
    note: str | None = None
    # ``file: field`` of the quantity, set once its document is validated, for messages.
    _where: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _check_provenance(self) -> _QuantityBase:
        value = getattr(self, "value", None)
        if self.unknown:
            if value is not None:
                raise FieldProblem(
                    ("value",), "a quantity marked 'unknown: true' must not also carry a 'value'"
                )
            if not (self.note or self.source):
                raise FieldProblem(
                    ("unknown",), "an unknown quantity needs a 'note' (or 'source') saying why"
                )
            return self
        if value is None:
            raise ValueError("expected a 'value' (or 'unknown: true' with a 'note'), found neither")
        if self.source is None and not self.estimated:
            raise ValueError(
                "every number needs a 'source' (a tag of the file's 'sources' table); "
                "a value nobody published must say 'estimated: true' and give a 'note'"
            )
        if self.estimated and self.source is None and not self.note:
            raise ValueError("an estimated value without a source needs a 'note' saying how")
        if self.range is not None:
            lo, hi = self.range
            if lo > hi:
                raise FieldProblem(
                    ("range",), f"range [{lo}, {hi}] is reversed: expected [low, high]"
                )
            if not lo <= float(value) <= hi:
                raise FieldProblem(("value",), f"value {value} lies outside its range [{lo}, {hi}]")
        return self

    @property
    def known(self) -> bool:
        """True when the quantity has a usable value."""
        return not self.unknown

    def at(self, bound: Bound) -> float:
        """The value (``bound='value'``) or an end of its ``range`` (``'low'``, ``'high'``);
        a quantity without a range has the value at both ends.

        Raises
        ------
        UnpricedError
            When the quantity is marked unknown.
        """
        value = getattr(self, "value", None)
        if value is None:
            raise self._unknown_error()
        if bound == "value" or self.range is None:
            return float(value)
        return float(self.range[0] if bound == "low" else self.range[1])

    def _unknown_error(self) -> UnpricedError:
        where = self._where or f"a {type(self).__name__} quantity"
        return UnpricedError(
            f"{where} is marked unknown; it is needed here (give a value with its source, or "
            f"'estimated: true' with a note saying how it was derived)"
        )


# Public name of the base class, for code that handles any quantity (``isinstance`` checks).
Quantity = _QuantityBase


class Count(_QuantityBase):
    """A strictly positive integer quantity (cores, neurons, bits...)."""

    value: PositiveInt | None = None

    def require(self) -> int:
        """The value; an :class:`~neuroemu.errors.UnpricedError` naming the field if unknown."""
        if self.value is None:
            raise self._unknown_error()
        return self.value


class Positive(_QuantityBase):
    """A strictly positive real quantity (times, bandwidths...)."""

    value: PositiveFloat | None = None

    def require(self) -> float:
        """The value; an :class:`~neuroemu.errors.UnpricedError` naming the field if unknown."""
        if self.value is None:
            raise self._unknown_error()
        return float(self.value)


class NonNegative(_QuantityBase):
    """A real quantity that may be zero (energies, static powers)."""

    value: NonNegativeFloat | None = None

    def require(self) -> float:
        """The value; an :class:`~neuroemu.errors.UnpricedError` naming the field if unknown."""
        if self.value is None:
            raise self._unknown_error()
        return float(self.value)


Fraction = Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]


class FractionQuantity(_QuantityBase):
    """A quantity in (0, 1] (achievable fractions of a peak)."""

    value: Fraction | None = None

    def require(self) -> float:
        """The value; an :class:`~neuroemu.errors.UnpricedError` naming the field if unknown."""
        if self.value is None:
            raise self._unknown_error()
        return float(self.value)


class Identity(StrictModel):
    """Who made the device and when; free text except the process node and year."""

    full_name: str
    vendor: str
    process_nm: Count | None = None
    year: int | None = None
    notes: str | None = None


QuantityT = TypeVar("QuantityT", bound=_QuantityBase)


def iter_quantities(model: BaseModel, loc: Loc = ()) -> Iterator[tuple[Loc, _QuantityBase]]:
    """Yield ``(location, quantity)`` for every quantity nested anywhere in ``model``."""
    if isinstance(model, _QuantityBase):
        yield loc, model
        return
    for name in type(model).model_fields:
        yield from _iter_value(getattr(model, name), (*loc, name))


def at_range_end(model: ModelT, pick: Callable[[Loc], str]) -> ModelT:
    """A copy of ``model`` with every quantity that has a range set to one end of it.

    ``pick(loc)`` says which end (``'low'`` or ``'high'``) for the quantity at ``loc``, so a
    caller can take the low end of a rate and the high end of an energy for the same bound.
    """
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        changed = _at_end(value, (name,), pick)
        if changed is not value:
            updates[name] = changed
    return model.model_copy(update=updates) if updates else model


def _at_end(value: Any, loc: Loc, pick: Callable[[Loc], str]) -> Any:
    if isinstance(value, _QuantityBase):
        if value.range is None or getattr(value, "value", None) is None:
            return value
        end = value.range[0] if pick(loc) == "low" else value.range[1]
        return value.model_copy(update={"value": end})
    if isinstance(value, StrictModel):
        return at_range_end(value, lambda sub: pick((*loc, *sub)))
    if isinstance(value, dict):
        items = {key: _at_end(item, (*loc, key), pick) for key, item in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    return value


def _iter_value(value: Any, loc: Loc) -> Iterator[tuple[Loc, _QuantityBase]]:
    if isinstance(value, BaseModel):
        yield from iter_quantities(value, loc)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _iter_value(item, (*loc, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _iter_value(item, (*loc, index))


# --------------------------------------------------------------------------------------------
# YAML with line numbers


def parse_yaml(text: str, path: str) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML text and return ``(data, lines)`` where ``lines`` maps a key path to its line.

    Raises
    ------
    DescriptorError
        On a YAML syntax error, a duplicate key, or an empty document.
    """
    loader: yaml.SafeLoader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            raise DescriptorError(path, None, "", "the file is empty: expected a YAML mapping")
        _check_size(node, path)
        lines: dict[Loc, int] = {}
        _index_lines(node, (), lines, path, set())
        data = loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        # A control character or a byte that is not text; the reader knows only the offset.
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        raise DescriptorError(
            path, line, "", f"not valid YAML: {exc.reason} (character {shown})"
        ) from None
    except RecursionError:
        # PyYAML composes nested nodes recursively: a few hundred levels exhaust Python's stack
        # before _check_size sees the document.
        raise DescriptorError(
            path, None, "", f"nested deeper than {MAX_DEPTH} levels: expected a descriptor's "
            f"shallow mapping",
        ) from None  # fmt: skip
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        mark_line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise DescriptorError(path, mark_line, "", f"not valid YAML: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's numbers: ``2e-3`` and ``1e9`` are floats (YAML 1.1,
    which PyYAML follows, wants a dot and reads them as text)."""


# A copy of the resolver table: PyYAML's add_implicit_resolver would append to lists shared
# with yaml.SafeLoader and change every other user of PyYAML in the process.
_Loader.yaml_implicit_resolvers = {
    key: list(resolvers) for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _check_size(root: yaml.Node, path: str) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH` or whose aliases expand to more
    than :data:`MAX_EXPANDED_NODES` nodes ("billion laughs"), before anything expands it."""
    expanded: dict[int, int] = {}
    # Nodes being walked: an alias back to one of them (a self-referencing anchor) counts once;
    # validation then refuses the structure with the field's own message.
    walking: set[int] = set()
    # Post-order walk with an explicit stack: a deep file cannot exhaust Python's recursion.
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, children_done = stack.pop()
        if depth > MAX_DEPTH:
            raise DescriptorError(
                path, node.start_mark.line + 1, "",
                f"nested deeper than {MAX_DEPTH} levels: expected a descriptor's shallow mapping",
            )  # fmt: skip
        if id(node) in expanded:
            continue
        children = _children(node)
        if children_done or not children:
            size = 1 + sum(expanded.get(id(child), 1) for child in children)
            if size > MAX_EXPANDED_NODES:
                raise DescriptorError(
                    path, node.start_mark.line + 1, "",
                    f"its aliases expand to more than {MAX_EXPANDED_NODES:,} values: expected a "
                    f"descriptor, not a YAML alias bomb",
                )  # fmt: skip
            expanded[id(node)] = size
            walking.discard(id(node))
            continue
        walking.add(id(node))
        stack.append((node, depth, True))
        stack.extend(
            (child, depth + 1, False)
            for child in children
            if id(child) not in expanded and id(child) not in walking
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _index_lines(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], path: str, visited: set[int]
) -> None:
    lines[loc] = node.start_mark.line + 1
    # An alias points back at a node already indexed: walking it again would recurse forever on
    # a self-referencing anchor and blow up exponentially on nested aliases ("billion laughs").
    if id(node) in visited:
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                field = dotted(loc) or "(top level)"
                raise DescriptorError(
                    path, line, field, "expected a plain name as key, got a list or mapping"
                )
            key = _key_value(key_node)
            if key in seen:
                field = ".".join(str(p) for p in (*loc, key))
                raise DescriptorError(
                    path, line, field, f"duplicate key (first given on line {seen[key]})"
                )
            seen[key] = line
            _index_lines(value_node, (*loc, key), lines, path, visited)
            lines[(*loc, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), lines, path, visited)


def _key_value(node: yaml.ScalarNode) -> Any:
    """The Python value of a mapping key as the constructor will build it (``1`` -> int 1).

    So that a key path reported by pydantic (``core[1]`` for a key ``1:``) finds its line.
    """
    if node.tag == "tag:yaml.org,2002:str":
        return node.value
    try:
        value = yaml.safe_load(node.value)
        hash(value)
    except (yaml.YAMLError, TypeError):
        return node.value
    return value


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of the deepest known prefix of ``loc``."""
    for end in range(len(loc), -1, -1):
        line = lines.get(tuple(loc[:end]))
        if line is not None:
            return line
    return None


def dotted(loc: Loc) -> str:
    """``('core', 'neurons')`` -> ``core.neurons``; list indices as ``[3]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --------------------------------------------------------------------------------------------
# Validation


ModelT = TypeVar("ModelT", bound=StrictModel)


def problem_at(path: str, lines: dict[Loc, int], loc: Loc, message: str) -> DescriptorError:
    """A :class:`DescriptorError` at the line of ``loc`` in a file parsed by :func:`parse_yaml`
    (experiment and sweep files report their own problems this way)."""
    return DescriptorError(path, line_of(lines, loc), dotted(loc), message)


def file_reference(base: Path, value: str, suffixes: tuple[str, ...]) -> str:
    """``value`` as a path relative to ``base`` if it names a file (ends in one of
    ``suffixes``); a bundled name (``loihi``, ``cuba``) stays as it is."""
    return str(base / value) if value.endswith(suffixes) else value


def validate_document(
    model: type[ModelT], data: Any, lines: dict[Loc, int], path: str, kind: str
) -> ModelT:
    """Validate parsed YAML against ``model``; raise one :class:`DescriptorErrors` listing all.

    Also checks ``format_version`` and ``kind`` first (so a file of the wrong kind or a newer
    format gets one clear sentence, not twenty field errors) and, after validation, that every
    quantity's ``source`` is a tag of the file's ``sources`` table.
    """
    if not isinstance(data, dict):
        raise DescriptorError(
            path, line_of(lines, ()), "", f"expected a YAML mapping, got {type(data).__name__}"
        )
    version = data.get("format_version")
    # ``type(...) is int``: YAML ``true`` and ``1.0`` compare equal to 1 but are not a version.
    if type(version) is not int or version != FORMAT_VERSION:
        found = "nothing" if version is None else repr(version)
        raise DescriptorError(
            path,
            line_of(lines, ("format_version",)),
            "format_version",
            f"expected {FORMAT_VERSION} (the format this neuroemu reads), got {found}",
        )
    if data.get("kind") != kind:
        raise DescriptorError(
            path,
            line_of(lines, ("kind",)),
            "kind",
            f"expected '{kind}', got {data.get('kind')!r}",
        )
    try:
        document = model.model_validate(data)
    except ValidationError as exc:
        errors = [_translate(err, model, lines, path) for err in exc.errors()]
        errors.sort(key=lambda e: (e.line or 0, e.field))
        raise DescriptorErrors(errors) from None
    except (TypeError, ArithmeticError, AttributeError, KeyError) as exc:
        # A cross-field check met a combination it did not foresee (an unknown quantity where a
        # number is needed, say): still one paragraph naming the file, never a traceback.
        raise DescriptorError(
            path, None, "", f"the file could not be validated: {type(exc).__name__}: {exc}"
        ) from None
    sources = getattr(document, "sources", {}) or {}
    bad = []
    for loc, quantity in iter_quantities(document):
        if quantity.source is not None and quantity.source not in sources:
            hint = _did_you_mean(quantity.source, list(sources))
            bad.append(
                DescriptorError(
                    path,
                    line_of(lines, (*loc, "source")),
                    dotted((*loc, "source")),
                    f"unknown source tag {quantity.source!r}: expected a key of the 'sources' "
                    f"table{hint}",
                )
            )
    if bad:
        raise DescriptorErrors(bad)
    for loc, quantity in iter_quantities(document):
        quantity._where = f"{path}: {dotted(loc)}"
    return document


def _translate(
    err: Any, model: type[BaseModel], lines: dict[Loc, int], path: str
) -> DescriptorError:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    loc = tuple(p for p in loc if p not in _UNION_TAGS)
    kind = err["type"]
    found = err.get("input")
    problem = (err.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        loc = (*loc, *problem.loc)
    is_key = bool(loc) and loc[-1] == "[key]"
    if is_key:
        loc = loc[:-1]
    line = line_of(lines, loc)
    if kind == "missing":
        return DescriptorError(path, line, dotted(loc), "missing required field")
    if kind == "extra_forbidden" or (is_key and kind == "literal_error"):
        allowed = [k for k in _allowed_keys(model, loc[:-1]) if k not in _RESERVED]
        if is_key:
            allowed = list(typing.get_args(_unwrap(_step_into_path(model, loc[:-1], key=True))))
        hint = _did_you_mean(str(loc[-1]), allowed)
        listing = f"; expected one of: {', '.join(sorted(allowed))}" if allowed and not hint else ""
        return DescriptorError(path, line, dotted(loc), f"unknown key{hint}{listing}")
    message = err["msg"]
    if message.startswith("Value error, "):
        return DescriptorError(path, line, dotted(loc), message[len("Value error, ") :])
    if kind == "model_type":
        target = _unwrap(_step_into_path(model, loc))
        if isinstance(target, type) and issubclass(target, _QuantityBase):
            expected = (
                "a quantity such as {value: 23.6, source: tag} (or {unknown: true, note: ...})"
            )
        else:
            expected = "a mapping of keys to values"
        return DescriptorError(path, line, dotted(loc), f"expected {expected}, got {_show(found)}")
    if kind == "dict_type":
        return DescriptorError(path, line, dotted(loc), f"expected a mapping, got {_show(found)}")
    message = message.replace("Input should be", "expected").replace("Input", "value")
    message = message.replace("Keys should be strings", "expected a text key")
    return DescriptorError(path, line, dotted(loc), f"{message}, got {_show(found)}")


_UNION_TAGS = {"int", "float", "str", "bool", "list[...]", "dict[...]", "tuple[...]"}
# Fields the loaders fill in themselves (never written in a file); not offered as suggestions.
_RESERVED = {"path", "text"}


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 40, 40


def _show(value: Any) -> str:
    """A found value as a short text: bounded however large or self-referencing it is."""
    text = _SHORT.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the model found at ``loc`` (following nested models, dicts and lists)."""
    current = _unwrap(_step_into_path(model, loc))
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _step_into_path(model: type[BaseModel], loc: Loc, key: bool = False) -> Any:
    """The annotation found at ``loc`` below ``model`` (``None`` if the path leaves the schema).

    With ``key=True``, the annotation of the *keys* of the dict found at ``loc``.
    """
    current: Any = model
    for part in loc:
        current = _step_into(current, part)
        if current is None:
            return None
    if key:
        args = typing.get_args(_unwrap(current))
        return args[0] if typing.get_origin(_unwrap(current)) is dict and args else None
    return current


def _step_into(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (list, tuple) and args:
        return args[0]
    return None


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        candidates = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(candidates) == 1:
            return _unwrap(candidates[0])
    return annotation


def read_text(path: str | Path) -> str:
    """Read a descriptor file, turning OS errors into a DescriptorError.

    Only a regular file of at most :data:`MAX_FILE_BYTES` is read: a FIFO would hang, and
    ``/dev/zero`` or a huge file would fill the memory.
    """
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise DescriptorError(
                str(path), None, "", "not a regular file (a folder, device or pipe): expected a "
                "YAML file",
            )  # fmt: skip
        if info.st_size > MAX_FILE_BYTES:
            raise DescriptorError(
                str(path), None, "",
                f"{info.st_size:,} bytes: expected a descriptor of at most {MAX_FILE_BYTES:,}",
            )  # fmt: skip
        with open(path, encoding="utf-8") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise DescriptorError(str(path), None, "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DescriptorError(str(path), None, "", f"cannot read the file: {exc}") from None


def parse_descriptor(model: type[ModelT], text: str, path: str, kind: str) -> ModelT:
    """Parse and validate descriptor text of ``kind``; the model keeps ``path`` and ``text``.

    ``path`` and ``text`` are filled in here (provenance for traces), so a file may not set them.
    """
    data, lines = parse_yaml(text, path)
    if isinstance(data, dict):
        for reserved in ("path", "text"):
            if reserved in data:
                raise DescriptorError(path, lines.get((reserved,)), reserved, "unknown key")
        data = {**data, "path": path, "text": text}
    return validate_document(model, data, lines, path, kind=kind)
