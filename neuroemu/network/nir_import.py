"""Importing a NIR graph (neuromorphs/NIR, ``nir.read``) as a :class:`Network`.

Each NIR neuron node becomes a population of the matching ``nir_*`` model
(:mod:`neuroemu.network.neuron_models`) with NIR's parameters, per neuron where they differ, in
NIR's units (time constants in seconds, the rest dimensionless). The linear nodes between two
neuron nodes (``Affine``, ``Linear``, ``Scale``, ``Conv1d``, ``Conv2d``, ``SumPool2d``,
``AvgPool2d``, ``Flatten``, ``Delay``, and the ``Input``/``Output`` of nested graphs) are
composed into one projection per path, expanded to explicit synapses
(:mod:`neuroemu.network.nir_layers`); an ``Affine`` bias, carried through the later layers,
becomes the ``bias`` parameter of the neurons it feeds. The top-level ``Input`` nodes are the
network's inputs, fed by spike trains or a Poisson rate.

Time: a spike emitted at step n reaches its targets at step n + 1 (+ the ``Delay``), one step
per projection as on chips that pipeline layers, and the neurons integrate NIR's equations with
forward Euler on the chip's dt (see the ``nir_*`` models for why). NIR's continuous-time graph
has no latency; this is the discretisation neuroemu states and its tests check.

``nir`` is an optional extra (``pip install neuroemu[nir]``), imported here lazily.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from neuroemu.errors import NirError
from neuroemu.network import nir_layers as layers
from neuroemu.network.network import (
    Input,
    Network,
    PoissonInput,
    Population,
    Projection,
    SpikeTimesInput,
)

#: NIR neuron type -> (neuroemu model, NIR field -> parameter name). Time constants must be > 0.
NEURONS: dict[str, tuple[str, dict[str, str]]] = {
    "LIF": (
        "nir_lif",
        {
            "tau": "tau_s",
            "r": "r",
            "v_leak": "v_leak",
            "v_threshold": "v_threshold",
            "v_reset": "v_reset",
        },
    ),
    "CubaLIF": (
        "nir_cuba_lif",
        {
            "tau_syn": "tau_syn_s",
            "tau_mem": "tau_mem_s",
            "r": "r",
            "v_leak": "v_leak",
            "v_threshold": "v_threshold",
            "v_reset": "v_reset",
            "w_in": "w_in",
        },
    ),
    "IF": ("nir_if", {"r": "r", "v_threshold": "v_threshold", "v_reset": "v_reset"}),
    "LI": ("nir_li", {"tau": "tau_s", "r": "r", "v_leak": "v_leak"}),
    "CubaLI": (
        "nir_cuba_li",
        {
            "tau_syn": "tau_syn_s",
            "tau_mem": "tau_mem_s",
            "r": "r",
            "v_leak": "v_leak",
            "w_in": "w_in",
        },
    ),
    "I": ("nir_integrator", {"r": "r"}),
    "Threshold": ("nir_threshold", {"threshold": "threshold"}),
}

Shape = tuple[int, ...]


def _affine(node: Any, shape: Shape, ctx: _Context, name: str) -> layers.LinearMap:
    weight = ctx.array(node, name, "weight", ndim=2)
    bias = ctx.array(node, name, "bias", ndim=1) if hasattr(node, "bias") else None
    ctx.expect(name, node, int(np.prod(shape)), weight.shape[1], shape, "input size")
    if bias is not None and bias.shape != (weight.shape[0],):
        ctx.fail(name, node, f"bias has shape {bias.shape}; expected ({weight.shape[0]},)")
    meta = getattr(node, "metadata", None) or {}
    if "neuroemu_i" in meta and "neuroemu_j" in meta:  # synapses listed by neuroemu's export
        i, j = np.asarray(meta["neuroemu_i"], int), np.asarray(meta["neuroemu_j"], int)
        return layers.structured(weight, bias, i, j)
    return layers.dense(weight, bias)


def _scale(node: Any, shape: Shape, ctx: _Context, name: str) -> layers.LinearMap:
    scale = ctx.array(node, name, "scale").ravel()
    ctx.expect(name, node, int(np.prod(shape)), scale.size, shape, "size")
    return layers.diagonal(scale, shape)


def _delay(node: Any, shape: Shape, ctx: _Context, name: str) -> layers.LinearMap:
    delay = ctx.array(node, name, "delay").ravel()
    ctx.expect(name, node, int(np.prod(shape)), delay.size, shape, "size")
    if np.any(delay < 0):
        ctx.fail(name, node, f"delays must be >= 0 s, found {delay.min()}")
    return layers.diagonal(np.ones(1), shape, delay)


def _identity(node: Any, shape: Shape, ctx: _Context, name: str) -> layers.LinearMap:
    return layers.diagonal(np.ones(1), shape)


def _flatten(node: Any, shape: Shape, ctx: _Context, name: str) -> layers.LinearMap:
    start, end = int(node.start_dim), int(node.end_dim)
    end = len(shape) - 1 if end == -1 else end
    if not 0 <= start <= end < len(shape):
        ctx.fail(name, node, f"start_dim {start} and end_dim {end} do not fit input {shape}")
    out = (*shape[:start], int(np.prod(shape[start : end + 1])), *shape[end + 1 :])
    return layers.diagonal(np.ones(1), out)


def _pair(value: Any) -> tuple[int, int]:
    flat = np.atleast_1d(np.asarray(value)).astype(int).ravel()
    return (int(flat[0]), int(flat[-1]))


def _conv(node: Any, shape: Shape, ctx: _Context, name: str, one_d: bool) -> layers.LinearMap:
    weight = ctx.array(node, name, "weight", ndim=3 if one_d else 4)
    if one_d:  # a 1-D convolution is a 2-D one over a height of 1
        weight = weight[:, :, None, :]
    dims = 1 if one_d else 2
    if len(shape) != dims + 1:
        ctx.fail(
            name,
            node,
            f"expected a (channels, {'N' if one_d else 'H, W'}) input, got shape {shape}",
        )
    in_shape = (shape[0], 1, shape[1]) if one_d else (shape[0], shape[1], shape[2])
    groups = int(node.groups)
    if groups < 1 or shape[0] != weight.shape[1] * groups or weight.shape[0] % groups:
        ctx.fail(
            name,
            node,
            f"weight {weight.shape} with groups={groups} needs "
            f"{weight.shape[1] * groups} input channels; the input has "
            f"{shape[0]} (shape {shape})",
        )

    def lift(value: Any, height: int) -> tuple[int, int]:
        return (height, int(np.asarray(value).ravel()[0])) if one_d else _pair(value)

    stride, dilation = lift(node.stride, 1), lift(node.dilation, 1)
    if isinstance(node.padding, str):
        if node.padding == "valid":
            padding = (0, 0)
        elif any(k % 2 == 0 for k in weight.shape[2:]) or max(stride) > 1:
            ctx.fail(name, node, "padding='same' is supported for odd kernels at stride 1 only")
        else:
            padding = layers.same_padding(weight.shape[2:], dilation)  # type: ignore[assignment]
    else:
        padding = lift(node.padding, 0)
    declared = getattr(node, "input_shape", None)
    if declared is not None and tuple(np.atleast_1d(declared)) != tuple(shape[1:]):
        ctx.fail(
            name,
            node,
            f"input_shape {tuple(np.atleast_1d(declared))} does not match "
            f"the input's spatial shape {tuple(shape[1:])}",
        )
    bias = ctx.array(node, name, "bias").ravel()
    result = layers.conv2d(weight, bias, in_shape, stride, padding, dilation, groups)
    if one_d:
        return layers.LinearMap(
            result.values, result.pattern, result.bias, (result.out_shape[0], result.out_shape[2])
        )
    return result


def _pool(node: Any, shape: Shape, ctx: _Context, name: str, average: bool) -> layers.LinearMap:
    if len(shape) != 3:
        ctx.fail(name, node, f"expected a (channels, H, W) input, got shape {shape}")
    return layers.pool2d(
        (shape[0], shape[1], shape[2]),
        _pair(node.kernel_size),
        _pair(node.stride),
        _pair(node.padding),
        average,
    )


Builder = Callable[[Any, Shape, "_Context", str], layers.LinearMap]

#: NIR linear node type -> builder of its synapse matrix, given the input's shape.
LINEAR: dict[str, Builder] = {
    "Affine": _affine,
    "Linear": _affine,
    "Scale": _scale,
    "Delay": _delay,
    "Flatten": _flatten,
    "Conv1d": lambda n, s, c, name: _conv(n, s, c, name, one_d=True),
    "Conv2d": lambda n, s, c, name: _conv(n, s, c, name, one_d=False),
    "SumPool2d": lambda n, s, c, name: _pool(n, s, c, name, average=False),
    "AvgPool2d": lambda n, s, c, name: _pool(n, s, c, name, average=True),
    "Input": _identity,  # of a nested graph: passes its input on
    "Output": _identity,
}

SUPPORTED = sorted({"Input", "Output", "NIRGraph", *NEURONS, *LINEAR})


@dataclass
class _Term:
    """One path of linear nodes from a source to the node being traced."""

    source: str
    values: sp.csr_matrix
    pattern: sp.csr_matrix
    delay_s: sp.csr_matrix  # delay in seconds of each of the pattern's entries
    last: str  # last weight-carrying node on the path, names the projection


class _Context:
    """The flattened graph being imported, with error helpers that name the file."""

    def __init__(
        self, path: str, nodes: dict[str, Any], edges: list[tuple[str, str]], top_inputs: set[str]
    ) -> None:
        self.path, self.nodes, self.top_inputs = path, nodes, top_inputs
        self.preds: dict[str, list[str]] = {name: [] for name in nodes}
        for pre, post in edges:
            self.preds[post].append(pre)
        self.traced: dict[str, tuple[list[_Term], np.ndarray, Shape]] = {}
        self.visiting: list[str] = []

    def fail(self, name: str, node: Any, problem: str) -> None:
        raise NirError(self.path, name, type(node).__name__, problem)

    def array(self, node: Any, name: str, field: str, ndim: int | None = None) -> np.ndarray:
        value = getattr(node, field, None)
        if value is None:
            self.fail(name, node, f"missing parameter {field!r}")
        array = np.asarray(value, dtype=float)
        if ndim is not None and array.ndim != ndim:
            self.fail(name, node, f"{field} has shape {array.shape}; expected {ndim} dimensions")
        if not np.all(np.isfinite(array)):
            self.fail(name, node, f"{field} has NaN or infinite values")
        return array

    def expect(self, name: str, node: Any, have: int, want: int, shape: Shape, what: str) -> None:
        if have != want:
            self.fail(
                name,
                node,
                f"shape mismatch: its {what} is {want} but its input has "
                f"shape {shape} ({have} elements)",
            )

    def kind(self, name: str) -> str:
        node = self.nodes[name]
        kind = type(node).__name__
        if kind == "Input" and name in self.top_inputs:
            return "source"
        return "neuron" if kind in NEURONS else "linear"

    def shape(self, name: str) -> Shape:
        node = self.nodes[name]
        if type(node).__name__ == "Input":
            shape = node.input_type.get("input")
            if shape is None:
                self.fail(name, node, "an Input needs its shape (input_type['input'])")
            return tuple(int(x) for x in np.atleast_1d(shape))
        field = next(iter(NEURONS[type(node).__name__][1]))
        return tuple(int(x) for x in self.array(node, name, field).shape) or (1,)

    def trace(self, name: str) -> tuple[list[_Term], np.ndarray, Shape]:
        """The paths into ``name`` from sources and neurons, its bias, its output shape."""
        if name in self.traced:
            return self.traced[name]
        node = self.nodes[name]
        if self.kind(name) in ("source", "neuron"):
            shape = self.shape(name)
            eye = sp.identity(int(np.prod(shape)), format="csr")
            zero = sp.csr_matrix(eye.shape)
            return [_Term(name, eye, eye, zero, "")], np.zeros(eye.shape[0]), shape
        if name in self.visiting:
            loop = " -> ".join([*self.visiting[self.visiting.index(name) :], name])
            self.fail(
                name,
                node,
                f"is on a cycle of linear nodes only ({loop}); neuroemu "
                "schedules a cycle only through a neuron node, which holds "
                "the state from one step to the next",
            )
        preds = self.preds[name]
        if not preds:
            self.fail(name, node, "has no input edge")
        self.visiting.append(name)
        traced = [self.trace(pre) for pre in preds]
        self.visiting.pop()
        shapes = {shape for _, _, shape in traced}
        if len(shapes) > 1:
            self.fail(name, node, f"shape mismatch: its inputs have shapes {sorted(shapes)}")
        shape = shapes.pop()
        layer = LINEAR[type(node).__name__](node, shape, self, name)
        bias = layer.values @ sum(b for _, b, _ in traced) + layer.bias
        carries = type(node).__name__ not in ("Delay", "Input", "Output", "Flatten")
        terms = [
            _compose(layer, term, name if carries else term.last)
            for pres, _, _ in traced
            for term in pres
        ]
        self.traced[name] = (terms, bias, layer.out_shape)
        return self.traced[name]


def _compose(layer: layers.LinearMap, term: _Term, last: str) -> _Term:
    pattern = (layer.pattern @ term.pattern).tocoo()
    rows, cols = pattern.row, pattern.col
    shape = pattern.shape
    values = np.asarray((layer.values @ term.values).tocsr()[rows, cols]).ravel()
    count = np.asarray((layer.pattern @ term.pattern).tocsr()[rows, cols]).ravel()
    # one delay per synapse: every path that meets in it must have the same (sum = count x mean
    # and sum of squares = count x mean squared, i.e. zero variance)
    total = np.asarray((layer.pattern @ term.delay_s).tocsr()[rows, cols]).ravel()
    square = np.asarray((layer.pattern @ term.delay_s.power(2)).tocsr()[rows, cols]).ravel()
    delay_s = total / count
    if not np.allclose(square * count, total**2, rtol=1e-9, atol=1e-12):
        raise NirError("<graph>", last, "", "paths with different delays meet in one synapse")
    if layer.delay_s is not None:
        delay_s = delay_s + layer.delay_s[rows]
    ones = np.ones(len(rows))
    return _Term(
        term.source,
        sp.csr_matrix((values, (rows, cols)), shape=shape),
        sp.csr_matrix((ones, (rows, cols)), shape=shape),
        sp.csr_matrix((delay_s, (rows, cols)), shape=shape),
        last,
    )


def _flatten_graph(graph: Any, path: str, prefix: str = "") -> tuple[dict, list, set[str]]:
    """Nodes and edges of ``graph`` with nested graphs inlined under dotted names."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    ends: dict[str, tuple[list[str], list[str]]] = {}  # subgraph -> (its Inputs, its Outputs)
    top = {f"{prefix}{n}" for n, node in graph.nodes.items() if type(node).__name__ == "Input"}
    for name, node in graph.nodes.items():
        full = f"{prefix}{name}"
        if type(node).__name__ == "NIRGraph":
            sub_nodes, sub_edges, _ = _flatten_graph(node, path, f"{full}.")
            nodes.update(sub_nodes)
            edges += sub_edges
            kinds = {n: type(x).__name__ for n, x in node.nodes.items()}
            ends[full] = (
                [f"{full}.{n}" for n, k in kinds.items() if k == "Input"],
                [f"{full}.{n}" for n, k in kinds.items() if k == "Output"],
            )
        else:
            nodes[full] = node
    for pre, post in graph.edges:
        pre, post = f"{prefix}{pre}", f"{prefix}{post}"
        for end in (pre, post):
            if end not in nodes and end not in ends:
                raise NirError(
                    path,
                    end,
                    "",
                    f"an edge ({pre!r} -> {post!r}) names a node the graph does not have",
                )
        if pre in ends:
            pre = _single(ends[pre][1], pre, "Output", path)
        if post in ends:
            post = _single(ends[post][0], post, "Input", path)
        edges.append((pre, post))
    return nodes, edges, top


def _single(names: list[str], graph: str, kind: str, path: str) -> str:
    if len(names) != 1:
        raise NirError(
            path,
            graph,
            "NIRGraph",
            f"an edge to the nested graph as a whole needs "
            f"exactly one {kind} node; it has {len(names)}",
        )
    return names[0]


def _identifier(name: str) -> str:
    """A node name as a population name (``block.lif-1`` -> ``block_lif_1``)."""
    text = re.sub(r"\W", "_", name)
    return f"n{text}" if not text or text[0].isdigit() or text[0] == "_" else text


def _parameter(values: np.ndarray) -> float | np.ndarray:
    """One value when every neuron has it (so populations can share a Brian2 group)."""
    flat = np.asarray(values, dtype=float).ravel()
    return float(flat[0]) if len(flat) and np.all(flat == flat[0]) else flat


def _population(ctx: _Context, name: str, bias: np.ndarray) -> Population:
    node = ctx.nodes[name]
    kind = type(node).__name__
    model, fields = NEURONS[kind]
    shape = ctx.shape(name)
    parameters: dict[str, float | np.ndarray] = {}
    for field, key in fields.items():
        values = ctx.array(node, name, field)
        if values.shape not in (shape, ()):
            ctx.fail(
                name,
                node,
                f"shape mismatch: {field} has shape {values.shape}, "
                f"{next(iter(fields))} has {shape}",
            )
        if key.endswith("_s") and np.any(values <= 0):
            ctx.fail(name, node, f"{field} must be > 0 s (a time constant), found {values.min()}")
        parameters[key] = _parameter(np.broadcast_to(values, shape))
    if np.any(bias != 0):
        parameters["bias"] = _parameter(bias)
    return Population(_identifier(name), int(np.prod(shape)), model, parameters)


def import_nir(
    graph: Any,
    path: str = "<graph>",
    spikes: dict[str, np.ndarray] | None = None,
    dt_ms: float | None = None,
    rate_hz: float | None = None,
    name: str = "nir",
) -> Network:
    """Build a :class:`Network` from a NIR graph (a ``nir.NIRGraph``).

    Parameters
    ----------
    graph : nir.NIRGraph
        The graph, as ``nir.read`` returns it.
    path : str
        Where it came from, for error messages.
    spikes : dict or None
        Input node name -> array ``(n_steps, *shape)`` (or ``(n_steps, size)``) of 0/1 spikes
        (NIR's time-gridded layout), one step being ``dt_ms``; or ``(indices, times_ms)`` of
        events, indices into the flattened input.
    dt_ms : float or None
        The step of ``spikes``.
    rate_hz : float or None
        Poisson rate of the inputs ``spikes`` does not give (default 10 Hz).
    name : str
        Network name.

    Returns
    -------
    Network
        Populations in the order of the graph's ``neuroemu_populations`` metadata when neuroemu
        wrote it, else of the node names; one projection per path of linear nodes.

    Raises
    ------
    NirError
        Unsupported node, shape mismatch, missing or invalid parameter, a cycle of linear nodes.
    """
    nodes, edges, top = _flatten_graph(graph, path)
    for node_name, node in nodes.items():
        kind = type(node).__name__
        if kind not in NEURONS and kind not in LINEAR:
            raise NirError(
                path,
                node_name,
                kind,
                f"unsupported node type; neuroemu imports {', '.join(SUPPORTED)}",
            )
    ctx = _Context(path, nodes, edges, top)
    order = _order(graph, [n for n in nodes if ctx.kind(n) == "neuron"])
    populations, projections = [], []
    for pop_name in order:
        pop_node = nodes[pop_name]
        size = int(np.prod(ctx.shape(pop_name)))
        bias = np.zeros(size)
        for pre in ctx.preds[pop_name]:
            terms, pre_bias, shape = ctx.trace(pre)
            ctx.expect(pop_name, pop_node, int(np.prod(shape)), size, shape, "size")
            bias = bias + pre_bias
            projections += [(term, pop_name) for term in terms]
        populations.append(_population(ctx, pop_name, bias))
    for out_name, node in nodes.items():
        if type(node).__name__ == "Output" and out_name.count(".") == 0:
            for pre in ctx.preds[out_name]:
                if ctx.kind(pre) == "linear":
                    ctx.fail(
                        out_name,
                        node,
                        f"is fed by {pre!r} ({type(nodes[pre]).__name__}); "
                        "an Output must read a neuron node or an Input, "
                        "since a chip computes a layer only into "
                        "neurons (end the graph with LI or LIF)",
                    )
    inputs = [_input(ctx, n, spikes, dt_ms, rate_hz) for n in nodes if ctx.kind(n) == "source"]
    built = _projections(projections)
    by_name = {proj.name: proj for proj in built}
    order = _order(graph, list(by_name), "neuroemu_projections")
    return Network(tuple(populations), tuple(by_name[n] for n in order), tuple(inputs), name=name)


def _order(graph: Any, names: list[str], key: str = "neuroemu_populations") -> list[str]:
    """``names`` in the order neuroemu's export recorded (``key`` in the graph's metadata), or
    as found (node names sorted, the order ``nir.read`` gives) for a graph from elsewhere."""
    meta = getattr(graph, "metadata", None) or {}
    stored = meta.get(key)
    if isinstance(stored, bytes):
        stored = stored.decode()
    if isinstance(stored, str) and sorted(stored.split(",")) == sorted(names):
        return stored.split(",")
    return sorted(names) if key == "neuroemu_populations" else names


def _projections(found: list[tuple[_Term, str]]) -> list[Projection]:
    labels = [term.last or f"{term.source}_to_{post}" for term, post in found]
    taken: dict[str, int] = {}
    out = []
    for (term, post), label in zip(found, labels, strict=True):
        if labels.count(label) > 1:
            label = f"{term.source}_to_{post}" if term.last else label
        label = _identifier(label)
        taken[label] = taken.get(label, 0) + 1
        if taken[label] > 1:
            label = f"{label}_{taken[label]}"
        pattern = term.pattern.tocoo()
        # synapses by pre, then post neuron: a chip's synapse memory lists them by source
        order = np.lexsort((pattern.row, pattern.col))
        rows, cols = pattern.row[order], pattern.col[order]
        weights = np.asarray(term.values.tocsr()[rows, cols]).ravel()
        # to ms, rounded to 1e-9 ms so that ms -> s -> ms gives the value back
        delays = np.round(np.asarray(term.delay_s.tocsr()[rows, cols]).ravel() * 1000.0, 9)
        out.append(
            Projection(
                _identifier(term.source),
                _identifier(post),
                cols,
                rows,
                weights,
                delay_ms=delays,
                target="in",
                name=label,
            )
        )
    return out


def _input(
    ctx: _Context, name: str, spikes: dict | None, dt_ms: float | None, rate_hz: float | None
) -> Input:
    shape = ctx.shape(name)
    size = int(np.prod(shape))
    label = _identifier(name)
    given = None if spikes is None else spikes.get(name, spikes.get(label))
    if given is None:
        return PoissonInput(label, size, 10.0 if rate_hz is None else float(rate_hz))
    if isinstance(given, tuple):  # events: (flat indices, times in ms)
        index, times_ms = (np.asarray(x) for x in given)
        if len(index) and (index.min() < 0 or index.max() >= size):
            ctx.fail(name, ctx.nodes[name], f"event indices must lie in [0, {size}), found "
                                            f"[{index.min()}, {index.max()}]")  # fmt: skip
        return SpikeTimesInput(label, size, index.astype(np.int64), times_ms.astype(float))
    array = np.asarray(given)
    if array.ndim < 1 or array.shape[1:] not in (shape, (size,)):
        ctx.fail(
            name,
            ctx.nodes[name],
            f"the spike array has shape {array.shape}; expected "
            f"(n_steps, {', '.join(map(str, shape))})",
        )
    if dt_ms is None or dt_ms <= 0:
        ctx.fail(name, ctx.nodes[name], "spikes given without a positive dt_ms")
    if np.any((array != 0) & (array != 1)):
        ctx.fail(name, ctx.nodes[name], "spike arrays hold 0 or 1 per step and element")
    steps, index = np.nonzero(array.reshape(len(array), size))
    return SpikeTimesInput(label, size, index, steps * float(dt_ms or 0.0))


def read_nir(path: str | Path) -> Any:
    """``nir.read(path)``, with a neuroemu error when ``nir`` is missing or the file is bad."""
    try:
        import nir  # type: ignore[import-untyped]
    except ImportError:
        raise NirError(
            str(path), "", "", "reading NIR needs the nir package: pip install 'neuroemu[nir]'"
        ) from None
    if not Path(path).exists():
        raise NirError(str(path), "", "", "no such file")
    try:
        # neuroemu checks shapes itself, node by node, with messages that name the node
        return nir.read(str(path), type_check=False)
    except Exception as exc:
        raise NirError(str(path), "", "", f"nir.read failed: {type(exc).__name__}: {exc}") from exc


def read_spikes(path: str | Path) -> tuple[dict[str, Any], float | None]:
    """Input spike trains, from a NumPy ``.npz`` or NIR recorded data (``.h5``).

    A ``.npz`` holds one ``(n_steps, *shape)`` 0/1 array per Input node, under its name, and
    the step ``dt_ms``. An ``.h5`` is read with ``nir.read_data``: for each top-level node, its
    ``output`` observable (else its first), time-gridded (``dt`` in seconds) or events (times
    in seconds); of several samples, the first (neuroemu runs one).

    Returns
    -------
    dict, float or None
        Input name -> dense array or ``(indices, times_ms)``; the step of the dense arrays.
    """
    if Path(path).suffix in (".h5", ".hdf5"):
        return _read_recorded(path)
    try:
        with np.load(str(path)) as data:
            arrays = {key: np.asarray(data[key]) for key in data.files}
    except Exception as exc:
        raise NirError(
            str(path), "", "", f"cannot read spikes: {type(exc).__name__}: {exc}"
        ) from exc
    if "dt_ms" not in arrays:
        raise NirError(str(path), "", "", "a spike file needs dt_ms, the step of its arrays")
    return arrays, float(arrays.pop("dt_ms"))


def _read_recorded(path: str | Path) -> tuple[dict[str, Any], float | None]:
    import nir

    try:
        data = nir.read_data(str(path))
    except Exception as exc:
        raise NirError(
            str(path), "", "", f"nir.read_data failed: {type(exc).__name__}: {exc}"
        ) from exc
    out: dict[str, Any] = {}
    for name, node in data.nodes.items():
        if not isinstance(node, nir.NIRNodeData) or not node.observables:
            continue
        obs = node.observables.get("output", next(iter(node.observables.values())))
        if isinstance(obs, nir.TimeGriddedData):
            steps, index = np.nonzero(np.asarray(obs.data[0]))
            out[name] = (index, steps * float(obs.dt) * 1000.0)
        else:
            valid = np.asarray(obs.idx[0]) >= 0
            out[name] = (np.asarray(obs.idx[0])[valid], np.asarray(obs.time[0])[valid] * 1000.0)
    return out, None


def load_nir(
    path: str | Path, spikes: str | Path | None = None, rate_hz: float | None = None
) -> Network:
    """Read a ``.nir`` file and import it; ``spikes`` is a ``.npz`` or NIR recorded data
    (``.h5``, see :func:`read_spikes`); inputs without spikes fire at ``rate_hz``."""
    graph = read_nir(path)
    arrays, dt_ms = read_spikes(spikes) if spikes else (None, None)
    name = _identifier(Path(path).stem)
    return import_nir(graph, str(path), arrays, dt_ms, rate_hz, name=name)
