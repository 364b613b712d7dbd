"""Layer rules for ``neuroemu``: which module may import which, found by parsing the source.

The package is a stack of layers (shared vocabulary, specs and networks, mapping, the three
estimators, the pipeline and its friends, the command line). A module that imports upward, a
cycle between modules, or a heavy third-party library outside its one home makes the package
slow to import, hard to test in parts, or broken on some platform, and nobody notices until
it hurts. So the rules are checked here, by reading every module with ``ast`` (never importing
it): module-level imports, imports inside functions, ``if TYPE_CHECKING:`` blocks, relative
imports and ``importlib.import_module``/``__import__`` calls with a constant name alike.

Every check takes the package's sources as a ``{relative path: source}`` map and the package
name, so the unit tests below run it on tiny fake packages (proving each check can fail) and
:func:`check_package` runs it on any copy of the package on disk.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "neuroemu"
ROOT = PACKAGE.name
THIS_FILE = "tests/test_boundaries.py"

#: Layer of each top-level module (``name.py``) and subpackage (``name/``) of the package. A
#: module may import modules of its own layer or lower ones; modules of one subpackage may
#: import each other. ``None`` marks the data package: no code rules, anyone may import it.
#: Entries for modules that do not exist yet are fine: they say where those will go.
LAYERS: dict[str, int | None] = {
    # 0: shared vocabulary. The package __init__ re-exports the public API lazily (a
    # name -> module table in strings); its real imports of higher layers must sit under
    # ``if TYPE_CHECKING:``.
    "__init__.py": 0,
    "__main__.py": 0,  # may import neuroemu.cli (ALLOWED below)
    "errors.py": 0,
    "events.py": 0,
    "units.py": 0,
    "activity.py": 0,
    "report.py": 0,
    "timesteps.py": 0,
    "resources.py": 0,
    "operating_point.py": 0,
    "outputs.py": 0,
    "dataframes.py": 0,
    "notebook.py": 0,  # HTML tables for every layer's _repr_html_: reads objects, imports none
    # 1: what is being estimated (spec may import network, not the reverse: FORBIDDEN below)
    "spec/": 1,
    "network/": 1,
    # 2: placing a network on a chip
    "mapping/": 2,
    # 3: the three estimators, siblings that never import each other
    "engine/": 3,
    "accounting/": 3,
    "gpu/": 3,
    # 4: putting the estimators together
    "traces/": 4,
    "pipeline.py": 4,
    "experiment.py": 4,
    "plots.py": 4,
    "comparison.py": 4,
    "validate.py": 4,
    "validation_cases.py": 4,
    "run_budget.py": 4,
    "sweep/": 4,
    # 5: the command line, on top of everything
    "cli/": 5,
    # data files shipped with the package
    "data/": None,
}

LAYER_RULE = "a module imports only its own layer or lower ones"
INIT_RULE = (
    "the package __init__ re-exports higher layers lazily, through its name -> module table; "
    "a real import of them is allowed only under `if TYPE_CHECKING:`"
)
CLI_RULE = (
    "no library module imports neuroemu.cli (only neuroemu/cli/ and neuroemu/__main__.py do): "
    "the command line sits on top of the library"
)
SIBLINGS_RULE = (
    "engine, accounting and gpu must not import each other: what they share belongs in a lower "
    "layer"
)

#: Pairs (importer, imported) of one layer that must not import each other, and why.
FORBIDDEN: dict[tuple[str, str], str] = {
    ("network/", "spec/"): (
        "network must not import spec (spec may import network): one direction only, so the "
        "two never form a cycle"
    ),
    **{
        (a, b): SIBLINGS_RULE
        for a in ("engine/", "accounting/", "gpu/")
        for b in ("engine/", "accounting/", "gpu/")
        if a != b
    },
}

#: Pairs (importer, imported) allowed although they break the layer order.
ALLOWED: frozenset[tuple[str, str]] = frozenset({("__main__.py", "cli/")})

#: Modules that may import neuroemu.cli.
CLI_USERS: frozenset[str] = frozenset({"cli/", "__main__.py"})

#: Third-party (and standard) libraries that live in one place only: top-level import name ->
#: (where it may be imported, why). A place ending in ``/`` is a whole subpackage.
LIBRARIES: dict[str, tuple[tuple[str, ...], str]] = {
    "brian2": (
        ("engine/",),
        "everything else must start fast and work without Brian2's globals",
    ),
    "click": (("cli/",), "the library must work without a command line"),
    "tabulate": (("cli/",), "plain-text tables are a command-line concern"),
    "h5py": (("traces/",), "HDF5 is the trace file format and nothing else"),
    "torch": (("gpu/torch_sim.py",), "an optional extra, used by the measured GPU run only"),
    "pynvml": (("gpu/nvml.py",), "an optional extra, used by the NVML energy counter only"),
    "pymetis": (("mapping/partition.py",), "the min-traffic partitioner is its one user"),
    "matplotlib": (("plots.py",), "slow to import, and only plots need it"),
    "nir": (
        ("network/nir_import.py", "network/nir_export.py", "network/nir_inputs.py"),
        "an optional extra (neuroemu[nir]), imported lazily by the NIR modules only",
    ),
    "dask": (("sweep/execute.py",), "an optional extra (neuroemu[sweep]): distributed execution"),
    "distributed": (
        ("sweep/execute.py",),
        "an optional extra (neuroemu[sweep]): the scheduler, its clients and workers",
    ),
    "pyarrow": (("sweep/results.py",), "an optional extra (neuroemu[sweep]): Parquet tables"),
    "fcntl": ((), "Windows has no fcntl; lock files with the filelock library"),
}


@dataclass(frozen=True)
class ImportRef:
    """One import found in a module's source.

    Attributes
    ----------
    line : int
        1-based line of the statement or call.
    module : str
        Absolute dotted name the import names; for ``from X import a`` that is ``X`` (relative
        names already resolved against the module's package).
    names : tuple of str
        The names after ``import`` in a ``from`` import, empty otherwise; needed because
        ``from pkg import sub`` depends on ``pkg.sub`` when that is a module.
    written : str
        The statement or call as written, shown in messages for relative and dynamic imports.
    function : str or None
        Name of the innermost enclosing function, ``None`` at module level.
    type_checking : bool
        Whether it sits in the body of ``if TYPE_CHECKING:``.
    dynamic : bool
        Whether it is an ``importlib.import_module``/``__import__`` call.
    relative : bool
        Whether it was written relative (``from .x import y``).
    """

    line: int
    module: str
    names: tuple[str, ...] = ()
    written: str = ""
    function: str | None = None
    type_checking: bool = False
    dynamic: bool = False
    relative: bool = False

    def how(self) -> str:
        """Where and how the import was written, for messages (empty for a plain one).

        Returns
        -------
        str
            For instance ``"inside function load(), written `from ..engine import runner`"``.
        """
        parts = []
        if self.type_checking:
            parts.append("under TYPE_CHECKING")
        if self.function is not None:
            parts.append(f"inside function {self.function}()")
        if self.relative or self.dynamic:
            parts.append(f"written `{self.written}`")
        return ", ".join(parts)

    def aside(self) -> str:
        """:meth:`how` in parentheses after a space, or empty, to append to a message."""
        how = self.how()
        return f" ({how})" if how else ""


def _is_type_checking(test: ast.expr) -> bool:
    """Whether an ``if`` test is ``TYPE_CHECKING`` or ``<module>.TYPE_CHECKING``.

    Parameters
    ----------
    test : ast.expr
        The test of an ``if`` statement.

    Returns
    -------
    bool
        True for the guard of imports needed by annotations only.
    """
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _nodes_in_context(
    node: ast.AST, function: str | None = None, type_checking: bool = False
) -> Iterator[tuple[ast.AST, str | None, bool]]:
    """Every node under ``node`` with its enclosing function and TYPE_CHECKING state.

    ``ast.walk`` loses where a node sits; messages name the function an import hides in, and
    the package ``__init__`` rule needs to know whether an import is under TYPE_CHECKING.

    Parameters
    ----------
    node : ast.AST
        Where to start (usually the parsed module).
    function : str or None
        Innermost enclosing function of ``node``.
    type_checking : bool
        Whether ``node`` is inside the body of ``if TYPE_CHECKING:``.

    Yields
    ------
    tuple of (ast.AST, str or None, bool)
        Each node, the innermost function around it, and whether it is under TYPE_CHECKING.
    """
    yield node, function, type_checking
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            yield from _nodes_in_context(child, function, True)
        for child in [node.test, *node.orelse]:
            yield from _nodes_in_context(child, function, type_checking)
        return
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        function = node.name
    elif isinstance(node, ast.Lambda):
        function = "<lambda>"
    for child in ast.iter_child_nodes(node):
        yield from _nodes_in_context(child, function, type_checking)


def resolve_relative(name: str, level: int, package: str | None) -> str | None:
    """Absolute name of a relative import, the way Python resolves it.

    Parameters
    ----------
    name : str
        The module part after the dots (``"engine.runner"`` in ``from ..engine.runner import
        x``), empty for ``from . import x``.
    level : int
        Number of leading dots; 0 means ``name`` is already absolute.
    package : str or None
        Dotted package of the importing module (the module's own name for a package
        ``__init__``); ``None`` when unknown.

    Returns
    -------
    str or None
        The absolute dotted name, or ``None`` when it cannot be resolved (package unknown or
        too many dots: Python would refuse the import too).
    """
    if level == 0:
        return name
    if package is None:
        return None
    parts = package.split(".")
    if level - 1 >= len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _dynamic_import(call: ast.Call, package: str | None) -> str | None:
    """Module named by ``importlib.import_module("...")`` or ``__import__("...")``.

    Parameters
    ----------
    call : ast.Call
        Any call.
    package : str or None
        Package of the calling module, used for a relative name when the call gives no
        constant ``package`` argument (the usual ``package=__package__``).

    Returns
    -------
    str or None
        The absolute module name, or ``None`` when the call is not an import with a constant
        name.
    """
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if called not in ("import_module", "__import__") or not call.args:
        return None
    first = call.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    name = first.value
    if called == "import_module" and name.startswith("."):
        anchor = call.args[1] if len(call.args) > 1 else None
        anchor = next((k.value for k in call.keywords if k.arg == "package"), anchor)
        if isinstance(anchor, ast.Constant) and isinstance(anchor.value, str):
            package = anchor.value
        stripped = name.lstrip(".")
        return resolve_relative(stripped, len(name) - len(stripped), package)
    return name


@cache
def imports_of(
    source: str, package: str | None = None, filename: str = "<source>"
) -> tuple[ImportRef, ...]:
    """Every import in ``source``: statements at any depth and constant-name import calls.

    Parameters
    ----------
    source : str
        Python source text.
    package : str or None
        Dotted package of the module, to resolve relative imports; with ``None`` relative
        imports are skipped.
    filename : str
        Used in syntax-error messages only.

    Returns
    -------
    tuple of ImportRef
        In source order (one per name for ``import a, b``).
    """
    found: list[ImportRef] = []
    for node, function, type_checking in _nodes_in_context(ast.parse(source, filename)):
        context = {"function": function, "type_checking": type_checking}
        if isinstance(node, ast.Import):
            written = ast.unparse(node)
            for alias in node.names:
                found.append(ImportRef(node.lineno, alias.name, (), written, **context))
        elif isinstance(node, ast.ImportFrom):
            module = resolve_relative(node.module or "", node.level, package)
            if module is not None:
                names = tuple(alias.name for alias in node.names)
                written = ast.unparse(node)
                relative = node.level > 0
                found.append(
                    ImportRef(node.lineno, module, names, written, relative=relative, **context)
                )
        elif isinstance(node, ast.Call):
            module = _dynamic_import(node, package)
            if module is not None:
                written = ast.unparse(node)
                found.append(ImportRef(node.lineno, module, (), written, dynamic=True, **context))
    return tuple(sorted(found, key=lambda ref: ref.line))


def brian2_imports(source: str, filename: str = "<source>") -> list[int]:
    """Line numbers where ``source`` imports brian2 (any form, including ``importlib``).

    Kept as the first and simplest client of :func:`imports_of`: its tests below pin down that
    every form of import is seen, and that look-alikes are not.

    Parameters
    ----------
    source : str
        Python source text.
    filename : str
        Used in syntax-error messages only.

    Returns
    -------
    list of int
        1-based line numbers of the offending statements or calls.
    """
    refs = imports_of(source, None, filename)
    return [ref.line for ref in refs if ref.module.split(".")[0] == "brian2"]


def module_name(rel: str, root: str = ROOT) -> str:
    """Dotted name of the module at ``rel`` (``"mapping/capacity.py"`` -> ``root.mapping...``).

    Parameters
    ----------
    rel : str
        Path of the module relative to the package folder, with ``/``.
    root : str
        Name of the package.

    Returns
    -------
    str
        The dotted name; a package ``__init__.py`` is named after its package.
    """
    parts = PurePosixPath(rel).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((root, *parts))


def package_of(rel: str, root: str = ROOT) -> str:
    """Package that relative imports of the module at ``rel`` start from.

    Parameters
    ----------
    rel : str
        Path of the module relative to the package folder.
    root : str
        Name of the package.

    Returns
    -------
    str
        The module's own name for a package ``__init__.py``, its parent's otherwise.
    """
    name = module_name(rel, root)
    return name if PurePosixPath(rel).name == "__init__.py" else name.rpartition(".")[0]


def unit_of_path(rel: str) -> str:
    """Key of :data:`LAYERS` the module at ``rel`` belongs to (``name.py`` or ``name/``).

    Parameters
    ----------
    rel : str
        Path of the module relative to the package folder.

    Returns
    -------
    str
        ``"errors.py"`` for a top-level module, ``"mapping/"`` for anything in a subpackage.
    """
    parts = PurePosixPath(rel).parts
    return f"{parts[0]}/" if len(parts) > 1 else parts[0]


def unit_of_name(name: str, root: str = ROOT) -> str | None:
    """Key of :data:`LAYERS` the dotted module ``name`` belongs to.

    Parameters
    ----------
    name : str
        Dotted name inside the package (or the package itself).
    root : str
        Name of the package.

    Returns
    -------
    str or None
        ``"__init__.py"`` for the package itself, ``"mapping/"`` or ``"errors.py"`` and so on,
        ``None`` when the table has no entry for it.
    """
    parts = name.split(".")[1:]
    if not parts:
        return "__init__.py"
    if f"{parts[0]}/" in LAYERS:
        return f"{parts[0]}/"
    if len(parts) == 1 and f"{parts[0]}.py" in LAYERS:
        return f"{parts[0]}.py"
    return None


def _label(unit: str) -> str:
    """Short name of a :data:`LAYERS` key for messages (``"mapping/"`` -> ``"mapping"``)."""
    return unit.removesuffix("/").removesuffix(".py")


def module_names(sources: Mapping[str, str], root: str = ROOT) -> frozenset[str]:
    """Dotted names of all modules (and packages with an ``__init__.py``) in ``sources``.

    Parameters
    ----------
    sources : Mapping of str to str
        ``{path relative to the package folder: source}``.
    root : str
        Name of the package.

    Returns
    -------
    frozenset of str
        The names an import can depend on.
    """
    return frozenset(module_name(rel, root) for rel in sources)


def module_imports(rel: str, sources: Mapping[str, str], root: str = ROOT) -> tuple[ImportRef, ...]:
    """The imports of the module at ``rel``, relative ones resolved against its package.

    Parameters
    ----------
    rel : str
        Path of the module relative to the package folder.
    sources : Mapping of str to str
        ``{path relative to the package folder: source}``.
    root : str
        Name of the package.

    Returns
    -------
    tuple of ImportRef
        In source order.
    """
    return imports_of(sources[rel], package_of(rel, root), f"{root}/{rel}")


def dependencies(ref: ImportRef, modules: Collection[str], root: str = ROOT) -> list[str]:
    """Modules of the package that ``ref`` makes its module depend on.

    ``import root.x.y`` depends on ``root.x.y``; ``from root.x import y`` on ``root.x.y`` when
    that is a module and on ``root.x`` (its ``__init__``) otherwise. The parent packages that
    Python imports on the way are not counted: a package ``__init__`` that re-exports from its
    own submodules is no cycle.

    Parameters
    ----------
    ref : ImportRef
        One import.
    modules : Collection of str
        Dotted names of the package's modules.
    root : str
        Name of the package.

    Returns
    -------
    list of str
        Dotted names inside the package (empty for third-party imports), without repeats.
    """
    if ref.module != root and not ref.module.startswith(f"{root}."):
        return []
    if not ref.names:
        return [ref.module]
    targets: list[str] = []
    for name in ref.names:
        sub = f"{ref.module}.{name}"
        target = sub if sub in modules else ref.module
        if target not in targets:
            targets.append(target)
    return targets


def broken_rule(unit: str, target_unit: str, type_checking: bool = False) -> str | None:
    """Rule broken when a module of ``unit`` imports one of ``target_unit``, if any.

    Parameters
    ----------
    unit, target_unit : str
        Keys of :data:`LAYERS` of the importer and the imported module.
    type_checking : bool
        Whether the import is under ``if TYPE_CHECKING:`` (matters for the package
        ``__init__`` only).

    Returns
    -------
    str or None
        The rule, worded for the developer, or ``None`` when the import is fine.
    """
    if target_unit == unit and unit.endswith("/"):
        return None
    if (unit, target_unit) in ALLOWED:
        return None
    if target_unit == "cli/" and unit not in CLI_USERS:
        return CLI_RULE
    if (unit, target_unit) in FORBIDDEN:
        return FORBIDDEN[unit, target_unit]
    layer, target_layer = LAYERS[unit], LAYERS[target_unit]
    if layer is None or target_layer is None or target_layer <= layer:
        return None
    if unit == "__init__.py":
        return None if type_checking and target_layer <= 4 else INIT_RULE
    return LAYER_RULE


def module_layer_violations(rel: str, sources: Mapping[str, str], root: str = ROOT) -> list[str]:
    """Imports of the module at ``rel`` that break the layer rules.

    Parameters
    ----------
    rel : str
        Path of the module relative to the package folder.
    sources : Mapping of str to str
        ``{path relative to the package folder: source}`` of the whole package.
    root : str
        Name of the package.

    Returns
    -------
    list of str
        One message per broken rule: module, line, what it imported, which layers, the rule.
        A module missing from :data:`LAYERS` gives none here (see :func:`unlisted_modules`);
        a data module has no code rules.
    """
    unit = unit_of_path(rel)
    if LAYERS.get(unit) is None:
        return []
    modules = module_names(sources, root)
    problems = []
    for ref in module_imports(rel, sources, root):
        for target in dependencies(ref, modules, root):
            where = f"{root}/{rel}:{ref.line} imports {target}"
            target_unit = unit_of_name(target, root)
            if target_unit is None:
                problems.append(
                    f"{where}{ref.aside()}, which is not in the layer table: add it to LAYERS in "
                    f"{THIS_FILE}, or import an existing module"
                )
                continue
            rule = broken_rule(unit, target_unit, ref.type_checking)
            if rule is not None:
                target = ", ".join(filter(None, [f"layer {LAYERS[target_unit]}", ref.how()]))
                problems.append(
                    f"{where} ({target}) from layer {LAYERS[unit]} ({_label(unit)}): {rule}"
                )
    return problems


def layer_violations(sources: Mapping[str, str], root: str = ROOT) -> list[str]:
    """:func:`module_layer_violations` of every module in ``sources``.

    Parameters
    ----------
    sources : Mapping of str to str
        ``{path relative to the package folder: source}``.
    root : str
        Name of the package.

    Returns
    -------
    list of str
        All messages, module by module.
    """
    return [msg for rel in sorted(sources) for msg in module_layer_violations(rel, sources, root)]


def module_library_violations(rel: str, sources: Mapping[str, str], root: str = ROOT) -> list[str]:
    """Imports of third-party (or platform) libraries outside their one home, see LIBRARIES.

    Parameters
    ----------
    rel : str
        Path of the module relative to the package folder.
    sources : Mapping of str to str
        ``{path relative to the package folder: source}``.
    root : str
        Name of the package.

    Returns
    -------
    list of str
        One message per offending import.
    """
    problems = []
    for ref in module_imports(rel, sources, root):
        library = ref.module.split(".")[0]
        if library not in LIBRARIES:
            continue
        places, why = LIBRARIES[library]
        if any(rel == place or (place.endswith("/") and rel.startswith(place)) for place in places):
            continue
        home = " and ".join(f"{root}/{place}" for place in places)
        rule = f"{library} belongs only in {home}" if places else f"{library} is allowed nowhere"
        problems.append(
            f"{root}/{rel}:{ref.line} imports {ref.module}{ref.aside()}: {rule} ({why})"
        )
    return problems


def library_violations(sources: Mapping[str, str], root: str = ROOT) -> list[str]:
    """:func:`module_library_violations` of every module in ``sources``.

    Parameters
    ----------
    sources : Mapping of str to str
        ``{path relative to the package folder: source}``.
    root : str
        Name of the package.

    Returns
    -------
    list of str
        All messages, module by module.
    """
    return [msg for rel in sorted(sources) for msg in module_library_violations(rel, sources, root)]


def unlisted_modules(sources: Mapping[str, str], root: str = ROOT) -> list[str]:
    """Modules and subpackages that :data:`LAYERS` does not place.

    A new module has to be given a layer on purpose, not slip in wherever it was written.

    Parameters
    ----------
    sources : Mapping of str to str
        ``{path relative to the package folder: source}``.
    root : str
        Name of the package.

    Returns
    -------
    list of str
        One message per missing table entry.
    """
    missing: dict[str, str] = {}
    for rel in sorted(sources):
        missing.setdefault(unit_of_path(rel), rel)
    return [
        f"{root}/{rel} is not in the layer table: add {unit!r} to LAYERS in {THIS_FILE} with "
        f"its layer (0-5, or None for data), so that each new module is placed deliberately"
        for unit, rel in missing.items()
        if unit not in LAYERS
    ]


def import_graph(
    sources: Mapping[str, str], root: str = ROOT
) -> dict[str, dict[str, tuple[str, ImportRef]]]:
    """Which module imports which, from every import (function-level and TYPE_CHECKING too).

    Parameters
    ----------
    sources : Mapping of str to str
        ``{path relative to the package folder: source}``.
    root : str
        Name of the package.

    Returns
    -------
    dict
        ``{importer: {imported: (importer's relative path, its first import of it)}}`` over
        the package's modules; imports of modules that do not exist are left out.
    """
    modules = module_names(sources, root)
    graph: dict[str, dict[str, tuple[str, ImportRef]]] = {}
    for rel in sorted(sources):
        name = module_name(rel, root)
        edges = graph.setdefault(name, {})
        for ref in module_imports(rel, sources, root):
            for target in dependencies(ref, modules, root):
                if target != name and target in modules:
                    edges.setdefault(target, (rel, ref))
    return graph


def strongly_connected(graph: Mapping[str, Collection[str]]) -> list[list[str]]:
    """Strongly connected components of a directed graph (Tarjan, iterative).

    Parameters
    ----------
    graph : Mapping of str to Collection of str
        ``{node: nodes it points to}``; nodes only pointed to may be missing as keys.

    Returns
    -------
    list of list of str
        Each component sorted; a component of two or more nodes holds a cycle.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def _shortest_cycle(start: str, members: Collection[str], graph: Mapping) -> list[str]:
    """Shortest closed path ``start -> ... -> start`` inside one strongly connected component.

    Parameters
    ----------
    start : str
        A node of the component.
    members : Collection of str
        All nodes of the component.
    graph : Mapping
        ``{node: nodes it points to}``.

    Returns
    -------
    list of str
        The path, starting and ending at ``start``.
    """
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child in members and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is on no cycle within {sorted(members)}")


def find_cycles(sources: Mapping[str, str], root: str = ROOT) -> list[str]:
    """Import cycles between modules of the package, each printed as a chain of imports.

    Parameters
    ----------
    sources : Mapping of str to str
        ``{path relative to the package folder: source}``.
    root : str
        Name of the package.

    Returns
    -------
    list of str
        One message per strongly connected component of two or more modules.
    """
    graph = import_graph(sources, root)
    problems = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        cycle = _shortest_cycle(component[0], component, graph)
        steps = []
        for importer, imported in itertools.pairwise(cycle):
            rel, ref = graph[importer][imported]
            steps.append(f"{root}/{rel}:{ref.line} imports {imported}{ref.aside()}")
        others = sorted(set(component) - set(cycle))
        also = f"; the tangle also holds {', '.join(others)}" if others else ""
        problems.append(
            f"import cycle between {len(component)} modules: " + " -> ".join(steps) + also + ". "
            "Modules must not import each other in a circle: move what both need into one of "
            "them or into a lower module"
        )
    return problems


def read_package(package: Path) -> dict[str, str]:
    """Sources of every module under the package folder ``package``.

    Parameters
    ----------
    package : Path
        The package folder (the one holding ``__init__.py``); its name is the package name.

    Returns
    -------
    dict of str to str
        ``{path relative to package, with /: source}``, sorted by path.
    """
    return {
        path.relative_to(package).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(package.rglob("*.py"))
    }


def check_package(package: Path) -> list[str]:
    """Every rule of this file, on the package folder ``package`` (any copy on disk).

    Parameters
    ----------
    package : Path
        The package folder; its name is taken as the package name.

    Returns
    -------
    list of str
        Unlisted modules, layer violations, misplaced libraries and cycles, in that order.
    """
    sources = read_package(package)
    root = package.name
    return [
        *unlisted_modules(sources, root),
        *layer_violations(sources, root),
        *library_violations(sources, root),
        *find_cycles(sources, root),
    ]


def _report(problems: list[str]) -> str:
    """Assertion message listing ``problems`` one per line."""
    return "\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The real package.

SOURCES = read_package(PACKAGE)
MODULES = sorted(SOURCES)


def test_the_package_has_modules() -> None:
    """Guard against a wrong PACKAGE path, which would make every other test vacuous."""
    assert "__init__.py" in SOURCES
    assert len(MODULES) > 5


def test_every_module_is_in_the_layer_table() -> None:
    """A new module must be given its layer deliberately."""
    problems = unlisted_modules(SOURCES)
    assert not problems, _report(problems)


@pytest.mark.parametrize("rel", MODULES)
def test_module_imports_only_its_own_or_lower_layers(rel: str) -> None:
    """Upward imports make low layers slow to import and impossible to use on their own."""
    problems = module_layer_violations(rel, SOURCES)
    assert not problems, _report(problems)


@pytest.mark.parametrize("rel", MODULES)
def test_third_party_libraries_stay_in_their_modules(rel: str) -> None:
    """Heavy or optional libraries (brian2 first of all) are imported in one place each."""
    problems = module_library_violations(rel, SOURCES)
    assert not problems, _report(problems)


def test_there_are_no_import_cycles() -> None:
    """A cycle makes import order matter and the layers meaningless."""
    problems = find_cycles(SOURCES)
    assert not problems, _report(problems)


# ---------------------------------------------------------------------------------------------
# The checks themselves: each one can fail.


def test_the_layer_table_places_the_planned_modules() -> None:
    """Modules still being written are placed already, so they start in the right layer."""
    planned = {
        "__main__.py": 0,
        "resources.py": 0,
        "comparison.py": 4,
        "validate.py": 4,
        "validation_cases.py": 4,
        "run_budget.py": 4,
        "operating_point.py": 0,
        "sweep/": 4,
        "traces/": 4,
    }
    assert {unit: LAYERS.get(unit) for unit in planned} == planned


@pytest.mark.parametrize(
    "source",
    [
        "import brian2",
        "import brian2 as b2",
        "import numpy, brian2.units",
        "from brian2 import ms",
        "from brian2.units import mV",
        "def f():\n    import brian2\n",
        "import importlib\nimportlib.import_module('brian2')",
        "__import__('brian2.devices')",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import brian2\n",
    ],
)
def test_the_check_finds_every_form_of_import(source: str) -> None:
    """The collector misses no way of writing an import."""
    assert brian2_imports(source)


@pytest.mark.parametrize(
    "source",
    ["import brian2tools_not_brian2 as x", "from . import engine", "x = 'import brian2'"],
)
def test_the_check_ignores_lookalikes(source: str) -> None:
    """Names that merely contain the library's name, and strings, are no imports."""
    assert not brian2_imports(source)


@pytest.mark.parametrize(
    ("source", "package", "module", "names"),
    [
        ("from ..engine.runner import simulate", "neuroemu.mapping", "neuroemu.engine.runner", 1),
        ("from ..engine import runner", "neuroemu.mapping", "neuroemu.engine", 1),
        ("from . import placement", "neuroemu.mapping", "neuroemu.mapping", 1),
        ("from .placement import pack_cores", "neuroemu.mapping", "neuroemu.mapping.placement", 1),
        ("from . import errors", "neuroemu", "neuroemu", 1),
        ("import_module('.x', 'neuroemu.gpu')", "neuroemu", "neuroemu.gpu.x", 0),
        ("import_module('.runner', __package__)", "neuroemu.engine", "neuroemu.engine.runner", 0),
        ("import_module('..x', package='neuroemu.gpu')", "neuroemu", "neuroemu.x", 0),
    ],
)
def test_relative_imports_are_resolved_against_the_package(
    source: str, package: str, module: str, names: int
) -> None:
    """``from ..x import y`` in ``root.mapping.m`` names ``root.x``, as Python resolves it."""
    (ref,) = imports_of(source, package)
    assert ref.module == module
    assert len(ref.names) == names
    assert ref.relative or ref.dynamic


@pytest.mark.parametrize(
    ("name", "modules", "expected"),
    [
        (("neuroemu.engine", ("runner",)), {"neuroemu.engine.runner"}, ["neuroemu.engine.runner"]),
        (("neuroemu.engine", ("simulate",)), {"neuroemu.engine.runner"}, ["neuroemu.engine"]),
        (("neuroemu.engine.runner", ("simulate",)), set(), ["neuroemu.engine.runner"]),
        (("neuroemu.x", ("a", "b", "c")), {"neuroemu.x.b"}, ["neuroemu.x", "neuroemu.x.b"]),
        (("numpy", ("array",)), set(), []),
    ],
)
def test_a_from_import_depends_on_the_submodule_or_the_package(
    name: tuple[str, tuple[str, ...]], modules: set[str], expected: list[str]
) -> None:
    """``from pkg import y`` depends on ``pkg.y`` if that is a module, else on ``pkg``."""
    assert dependencies(ImportRef(1, *name), modules) == expected


#: Fake packages for the layer rules: (files, the start of the one expected message or None).
LAYER_CASES = [
    pytest.param(
        {"mapping/capacity.py": "import numpy\nfrom neuroemu.engine.runner import simulate\n"},
        "neuroemu/mapping/capacity.py:2 imports neuroemu.engine.runner (layer 3) from layer 2 "
        f"(mapping): {LAYER_RULE}",
        id="lower-imports-higher",
    ),
    pytest.param(
        {"errors.py": "def f():\n    from neuroemu import pipeline\n", "pipeline.py": ""},
        "neuroemu/errors.py:2 imports neuroemu.pipeline (layer 4, inside function f()) from "
        "layer 0 (errors)",
        id="function-level",
    ),
    pytest.param(
        {
            "network/network.py": (
                "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                "    from neuroemu.mapping.mapping import Mapping\n"
            )
        },
        "neuroemu/network/network.py:4 imports neuroemu.mapping.mapping (layer 2, under "
        "TYPE_CHECKING) from layer 1 (network)",
        id="type-checking",
    ),
    pytest.param(
        {"spec/chip.py": "import typing\nif typing.TYPE_CHECKING:\n    import neuroemu.gpu.model"},
        "neuroemu/spec/chip.py:3 imports neuroemu.gpu.model (layer 3, under TYPE_CHECKING)",
        id="typing-dot-type-checking",
    ),
    pytest.param(
        {"mapping/capacity.py": "from ..engine import runner\n", "engine/runner.py": ""},
        "neuroemu/mapping/capacity.py:1 imports neuroemu.engine.runner (layer 3, written "
        "`from ..engine import runner`) from layer 2 (mapping)",
        id="relative",
    ),
    pytest.param(
        {"report.py": "import importlib\nM = importlib.import_module('neuroemu.traces.file')\n"},
        "neuroemu/report.py:2 imports neuroemu.traces.file (layer 4, written "
        "`importlib.import_module('neuroemu.traces.file')`) from layer 0 (report)",
        id="import-module",
    ),
    pytest.param(
        {"units.py": "x = __import__('neuroemu.spec.chip')\n"},
        "neuroemu/units.py:1 imports neuroemu.spec.chip (layer 1",
        id="dunder-import",
    ),
    pytest.param(
        {"network/network.py": "from neuroemu.spec.chip import ChipSpec\n"},
        "neuroemu/network/network.py:1 imports neuroemu.spec.chip (layer 1) from layer 1 "
        f"(network): {FORBIDDEN['network/', 'spec/']}",
        id="network-imports-spec",
    ),
    pytest.param(
        {"engine/runner.py": "def f():\n    from neuroemu.accounting import count_events\n"},
        f"neuroemu/engine/runner.py:2 imports neuroemu.accounting (layer 3, inside function f()) "
        f"from layer 3 (engine): {SIBLINGS_RULE}",
        id="engine-imports-accounting",
    ),
    pytest.param(
        {"gpu/model.py": "import neuroemu.engine.runner\n"},
        f"neuroemu/gpu/model.py:1 imports neuroemu.engine.runner (layer 3) from layer 3 (gpu): "
        f"{SIBLINGS_RULE}",
        id="gpu-imports-engine",
    ),
    pytest.param(
        {"mapping/capacity.py": "from neuroemu.cli.main import cli\n"},
        f"neuroemu/mapping/capacity.py:1 imports neuroemu.cli.main (layer 5) from layer 2 "
        f"(mapping): {CLI_RULE}",
        id="library-imports-cli",
    ),
    pytest.param(
        {"pipeline.py": "def main():\n    import neuroemu.cli\n"},
        f"neuroemu/pipeline.py:2 imports neuroemu.cli (layer 5, inside function main()) from "
        f"layer 4 (pipeline): {CLI_RULE}",
        id="layer-4-imports-cli",
    ),
    pytest.param(
        {"__init__.py": "from neuroemu.engine.runner import simulate\n"},
        "neuroemu/__init__.py:1 imports neuroemu.engine.runner (layer 3) from layer 0 "
        f"(__init__): {INIT_RULE}",
        id="init-eager-import",
    ),
    pytest.param(
        {
            "__init__.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import neuroemu.cli"
            )
        },
        f"neuroemu/__init__.py:3 imports neuroemu.cli (layer 5, under TYPE_CHECKING) from layer 0 "
        f"(__init__): {CLI_RULE}",
        id="init-type-checking-cli",
    ),
    pytest.param(
        {"traces/file.py": "from neuroemu.nowhere import x\n"},
        "neuroemu/traces/file.py:1 imports neuroemu.nowhere, which is not in the layer table",
        id="unlisted-target",
    ),
    # Allowed imports: each would be a false alarm.
    pytest.param(
        {
            "__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from neuroemu.pipeline import RunResult\n"
        },
        None,
        id="init-type-checking-ok",
    ),
    pytest.param(
        {
            "__init__.py": "_LAZY = {'simulate': 'neuroemu.engine.runner'}\n"
            "from neuroemu.errors import NeuroEmuError\n"
        },
        None,
        id="init-name-table-ok",
    ),
    pytest.param({"__main__.py": "from neuroemu.cli.main import main\n"}, None, id="main-cli-ok"),
    pytest.param({"cli/run.py": "from neuroemu.cli import options\n"}, None, id="cli-cli-ok"),
    pytest.param({"cli/run.py": "import neuroemu.pipeline\n"}, None, id="higher-imports-lower"),
    pytest.param({"spec/chip.py": "from neuroemu.network import x\n"}, None, id="spec-network-ok"),
    pytest.param(
        {"mapping/capacity.py": "from . import placement\n", "mapping/placement.py": ""},
        None,
        id="same-package-ok",
    ),
    pytest.param({"pipeline.py": "from neuroemu.traces import file\n"}, None, id="same-layer-ok"),
    pytest.param({"errors.py": "import neuroemu.data\n"}, None, id="data-ok"),
    pytest.param({"data/__init__.py": "import neuroemu.cli\n"}, None, id="data-no-rules"),
    pytest.param({"mapping/x.py": "import numpy, scipy.sparse\n"}, None, id="third-party-ok"),
]


@pytest.mark.parametrize(("files", "expected"), LAYER_CASES)
def test_the_layer_check(files: dict[str, str], expected: str | None) -> None:
    """Each layer rule is enforced (and allowed imports pass), with a precise message."""
    problems = layer_violations(files)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        assert problems[0].startswith(expected), problems[0]


@pytest.mark.parametrize(
    ("rel", "source", "caught"),
    [
        ("engine/group_plan.py", "from brian2 import ms", False),
        ("accounting/counting.py", "def f():\n    import brian2\n", True),
        ("cli/main.py", "import click\nfrom tabulate import tabulate", False),
        ("mapping/mapping.py", "def f():\n    import click\n", True),
        ("report.py", "from tabulate import tabulate", True),
        ("traces/codec.py", "import h5py", False),
        ("engine/runner.py", "import h5py", True),
        ("gpu/torch_sim.py", "def f():\n    import torch\n", False),
        ("gpu/model.py", "import torch.nn", True),
        ("gpu/nvml.py", "import pynvml as nvml", False),
        ("gpu/torch_sim.py", "import pynvml", True),
        ("mapping/partition.py", "import pymetis", False),
        ("mapping/mapping.py", "import importlib\nimportlib.import_module('pymetis')", True),
        ("plots.py", "from matplotlib import colormaps", False),
        ("cli/trace.py", "import matplotlib.pyplot as plt", True),
        (
            "report.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import matplotlib",
            True,
        ),
        ("engine/runner.py", "import fcntl", True),
        ("cli/run.py", "def lock():\n    import fcntl\n", True),
        ("engine/runner.py", "import filelock", False),
        ("mapping/mapping.py", "import matplotlibx\nimport torchvision_not_torch", False),
    ],
)
def test_the_library_check(rel: str, source: str, caught: bool) -> None:
    """Each library is allowed in its home and caught anywhere else, in any form of import."""
    problems = library_violations({rel: source})
    assert bool(problems) == caught, problems
    if caught:
        assert problems[0].startswith(f"neuroemu/{rel}:"), problems[0]


def test_the_fcntl_message_says_why() -> None:
    """The message points the developer at the replacement, not only at the rule."""
    (problem,) = library_violations({"engine/runner.py": "import os\nimport fcntl\n"})
    assert problem == (
        "neuroemu/engine/runner.py:2 imports fcntl: fcntl is allowed nowhere (Windows has no "
        "fcntl; lock files with the filelock library)"
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"errors.py": "from neuroemu import events\n", "events.py": "import neuroemu.errors\n"},
            "import cycle between 2 modules: neuroemu/errors.py:1 imports neuroemu.events -> "
            "neuroemu/events.py:1 imports neuroemu.errors.",
            id="two-modules",
        ),
        pytest.param(
            {
                "mapping/partition.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from .placement import CoreCaps\n",
                "mapping/placement.py": "def f():\n    from neuroemu.mapping.partition import x\n",
            },
            "import cycle between 2 modules: neuroemu/mapping/partition.py:3 imports "
            "neuroemu.mapping.placement (under TYPE_CHECKING, written `from .placement import "
            "CoreCaps`) -> neuroemu/mapping/placement.py:2 imports neuroemu.mapping.partition "
            "(inside function f()).",
            id="type-checking-and-function",
        ),
        pytest.param(
            {
                "a.py": "import neuroemu.b\n",
                "b.py": "import neuroemu.c\nimport neuroemu.d\n",
                "c.py": "import neuroemu.a\n",
                "d.py": "import neuroemu.b\n",
            },
            "import cycle between 4 modules: neuroemu/a.py:1 imports neuroemu.b -> neuroemu/b.py:1 "
            "imports neuroemu.c -> neuroemu/c.py:1 imports neuroemu.a; the tangle also holds "
            "neuroemu.d.",
            id="four-modules",
        ),
        pytest.param(
            {
                "mapping/__init__.py": "from neuroemu.mapping.mapping import Mapping\n",
                "mapping/mapping.py": "from neuroemu.mapping import Mapping\n",
            },
            "import cycle between 2 modules: neuroemu/mapping/__init__.py:1 imports "
            "neuroemu.mapping.mapping -> neuroemu/mapping/mapping.py:1 imports neuroemu.mapping.",
            id="submodule-imports-its-package-init",
        ),
        pytest.param(
            {
                "mapping/__init__.py": "from neuroemu.mapping.mapping import Mapping\n",
                "mapping/mapping.py": "from neuroemu.mapping import capacity\nimport neuroemu",
                "mapping/capacity.py": "from neuroemu.mapping.placement import x\n",
                "mapping/placement.py": "",
                "__init__.py": "from neuroemu.errors import NeuroEmuError\n",
                "errors.py": "",
            },
            None,
            id="init-re-exports-submodules",
        ),
        pytest.param(
            {"a.py": "import neuroemu.a\nfrom . import a\n", "b.py": "import neuroemu.a\n"},
            None,
            id="self-import",
        ),
    ],
)
def test_the_cycle_check(files: dict[str, str], expected: str | None) -> None:
    """A cycle through any kind of import is found and printed as a chain; no false cycles."""
    problems = find_cycles(files)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        assert problems[0].startswith(expected), problems[0]


@pytest.mark.parametrize(
    ("files", "unlisted"),
    [
        ({"__init__.py": "", "errors.py": "", "mapping/x.py": ""}, []),
        ({"comparison.py": "", "sweep/__init__.py": "", "data/__init__.py": ""}, []),
        ({"errors.py": "", "helpers.py": ""}, ["helpers.py"]),
        ({"newpkg/__init__.py": "", "newpkg/a.py": "", "cli/main.py": ""}, ["newpkg/"]),
    ],
)
def test_the_unlisted_check(files: dict[str, str], unlisted: list[str]) -> None:
    """A module missing from LAYERS fails, telling the developer to add it."""
    problems = unlisted_modules(files)
    assert len(problems) == len(unlisted), problems
    for problem, unit in zip(problems, unlisted, strict=True):
        assert f"add {unit!r} to LAYERS in {THIS_FILE}" in problem


def test_check_package_reads_any_copy_on_disk(tmp_path: Path) -> None:
    """The package folder is a parameter, so a scratch copy with a bad import can be checked."""
    package = tmp_path / "neuroemu"
    (package / "mapping").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "mapping" / "__init__.py").write_text("")
    (package / "mapping" / "capacity.py").write_text("from neuroemu.cli.main import cli\n")
    (package / "odd.py").write_text("import fcntl\n")
    assert check_package(package) == [
        f"neuroemu/odd.py is not in the layer table: add 'odd.py' to LAYERS in {THIS_FILE} with "
        "its layer (0-5, or None for data), so that each new module is placed deliberately",
        "neuroemu/mapping/capacity.py:1 imports neuroemu.cli.main (layer 5) from layer 2 "
        f"(mapping): {CLI_RULE}",
        "neuroemu/odd.py:1 imports fcntl: fcntl is allowed nowhere (Windows has no fcntl; lock "
        "files with the filelock library)",
    ]
