"""Importing a NIR graph (neuromorphs/NIR, ``nir.read``) as a :class:`Network`.

Each NIR neuron node becomes a population of the matching ``nir_*`` model
(:mod:`neuroemu.network.neuron_models`) with NIR's parameters, per neuron where they differ, in
NIR's units (time constants in seconds, the rest dimensionless). The linear nodes between two
neuron nodes (``Affine``, ``Linear``, ``Scale``, ``Conv1d``, ``Conv2d``, ``SumPool2d``,
``AvgPool2d``, ``Flatten``, ``Delay``, and the ``Input``/``Output`` of nested graphs) are
composed into one projection per path, expanded to explicit synapses
(:mod:`neuroemu.network.nir_layers`); a path whose one weight-carrying node is a convolution
or a pooling keeps its :class:`~neuroemu.network.structure.ConvStructure` on the projection,
for chips that store kernels. An ``Affine`` bias, carried through the later layers, becomes
the ``bias`` parameter of the neurons it feeds. The top-level ``Input`` nodes are the
network's inputs, fed by spike trains or a Poisson rate (:mod:`neuroemu.network.nir_inputs`).
This module walks the graph: it inlines nested graphs, traces every path of linear nodes back
from each neuron node to a source (an Input or a neuron node) and composes the layers along it;
what each node type means is :mod:`neuroemu.network.nir_nodes`.

Time: a spike emitted at step n reaches its targets at step n + 1 (+ the ``Delay``), one step
per projection as on chips that pipeline layers, and the neurons integrate NIR's equations with
forward Euler on the chip's dt, the input held over the step (see the ``nir_*`` models for why:
it is what NIR's main producers simulate). NIR's continuous-time graph has no latency; this is
the discretisation neuroemu states, and tests/nir_reference.py simulates it apart from
neuroemu. A cycle is scheduled when it passes through a neuron node (its state carries it to
the next step); a cycle of linear nodes only has no step to break it and is refused.

``nir`` is an optional extra (``pip install neuroemu[nir]``), imported here lazily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from neuroemu.errors import NirError
from neuroemu.network import nir_layers as layers
from neuroemu.network.network import Network, Population, Projection
from neuroemu.network.nir_inputs import build_input, read_spikes
from neuroemu.network.nir_nodes import (
    LINEAR,
    NEURONS,
    NON_SPIKING,
    SUPPORTED,
    NodeChecks,
    Shape,
    neuron_parameters,
)
from neuroemu.network.structure import ConvStructure


@dataclass
class _Term:
    """One path of linear nodes from a source to the node being traced."""

    source: str
    values: sp.csr_matrix
    pattern: sp.csr_matrix
    delay_s: sp.csr_matrix  # delay in seconds of each of the pattern's entries
    last: str  # last weight-carrying node on the path, names the projection
    # the convolution the path is, when its only weight-carrying node is one (Conv1d, Conv2d,
    # a pooling); ``plain``: no weight-carrying node yet (the source itself, a Delay, a Flatten)
    structure: ConvStructure | None = None
    plain: bool = True


class _Context:
    """The flattened graph being imported, with error helpers that name the file."""

    def __init__(
        self, path: str, nodes: dict[str, Any], edges: list[tuple[str, str]], top_inputs: set[str]
    ) -> None:
        self.path, self.nodes, self.top_inputs = path, nodes, top_inputs
        self.checks = NodeChecks(path)
        self.preds: dict[str, list[str]] = {name: [] for name in nodes}
        for pre, post in edges:
            self.preds[post].append(pre)
        self.traced: dict[str, tuple[list[_Term], np.ndarray, Shape]] = {}
        self.visiting: list[str] = []

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
                self.checks.fail(name, node, "an Input needs its shape (input_type['input'])")
            return tuple(int(x) for x in np.atleast_1d(shape))
        field = next(iter(NEURONS[type(node).__name__][1]))
        return tuple(int(x) for x in self.checks.array(node, name, field).shape) or (1,)

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
            self.checks.fail(
                name,
                node,
                f"is on a cycle of linear nodes only ({loop}); neuroemu "
                "schedules a cycle only through a neuron node, which holds "
                "the state from one step to the next",
            )
        preds = self.preds[name]
        if not preds:
            self.checks.fail(name, node, "has no input edge")
        self.visiting.append(name)
        traced = [self.trace(pre) for pre in preds]
        self.visiting.pop()
        shapes = {shape for _, _, shape in traced}
        if len(shapes) > 1:
            self.checks.fail(name, node, f"shape mismatch: its inputs have shapes {sorted(shapes)}")
        shape = shapes.pop()
        layer = LINEAR[type(node).__name__](node, shape, self.checks, name)
        bias = layer.values @ sum(b for _, b, _ in traced) + layer.bias
        carries = type(node).__name__ not in _PASSING
        terms = [
            _compose(self.checks, layer, term, name if carries else term.last, carries)
            for pres, _, _ in traced
            for term in pres
        ]
        self.traced[name] = (terms, bias, layer.out_shape)
        return self.traced[name]


#: Linear nodes that move elements without weighting them: a path through them keeps the
#: convolution it carries (a Flatten keeps the channel-major numbering).
_PASSING = ("Delay", "Input", "Output", "Flatten")


def _compose(
    checks: NodeChecks, layer: layers.LinearMap, term: _Term, last: str, carries: bool
) -> _Term:
    """``layer`` applied after ``term``: the product of the weights, on the product of the
    patterns, each synapse's delay the one of the paths that meet in it; the path's
    convolution, if ``layer`` is its first weight-carrying node and a convolution."""
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
        raise NirError(
            checks.path,
            last,
            "",
            "paths with different delays meet in one synapse (a Delay before a layer that "
            "mixes its elements); a chip stores one delay per synapse",
        )
    if layer.delay_s is not None:
        delay_s = delay_s + layer.delay_s[rows]
    ones = np.ones(len(rows))
    if not carries:
        structure, plain = term.structure, term.plain
    else:
        structure, plain = (layer.structure if term.plain else None), False
    return _Term(
        term.source,
        sp.csr_matrix((values, (rows, cols)), shape=shape),
        sp.csr_matrix((ones, (rows, cols)), shape=shape),
        sp.csr_matrix((delay_s, (rows, cols)), shape=shape),
        last,
        structure,
        plain,
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
            ctx.checks.expect(pop_name, pop_node, int(np.prod(shape)), size, shape, "size")
            bias = bias + pre_bias
            for term in terms:
                source = nodes[term.source]
                if type(source).__name__ in NON_SPIKING:
                    ctx.checks.fail(
                        term.source,
                        source,
                        f"feeds {pop_name!r}, but its output is its potential, not spikes; "
                        "a chip sends only spikes, so a non-spiking node (LI, CubaLI, I) can "
                        "only be read out (feed an Output)",
                    )
                projections.append((term, pop_name))
        model, parameters = neuron_parameters(
            ctx.checks, pop_name, pop_node, ctx.shape(pop_name), bias
        )
        populations.append(Population(_identifier(pop_name), size, model, parameters))
    for out_name, node in nodes.items():
        if type(node).__name__ == "Output" and out_name.count(".") == 0:
            for pre in ctx.preds[out_name]:
                if ctx.kind(pre) == "linear":
                    ctx.checks.fail(
                        out_name,
                        node,
                        f"is fed by {pre!r} ({type(nodes[pre]).__name__}); "
                        "an Output must read a neuron node or an Input, "
                        "since a chip computes a layer only into "
                        "neurons (end the graph with LI or LIF)",
                    )
    inputs = [
        build_input(
            ctx.checks, n, nodes[n], _identifier(n), ctx.shape(n), _given(spikes, n), dt_ms, rate_hz
        )
        for n in nodes
        if ctx.kind(n) == "source"
    ]
    built = _projections(projections)
    by_name = {proj.name: proj for proj in built}
    order = _order(graph, list(by_name), "neuroemu_projections")
    return Network(tuple(populations), tuple(by_name[n] for n in order), tuple(inputs), name=name)


def _given(spikes: dict[str, Any] | None, name: str) -> Any:
    """The spikes given for Input ``name``, under its NIR name or its population-style name."""
    return None if spikes is None else spikes.get(name, spikes.get(_identifier(name)))


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
                structure=term.structure,
            )
        )
    return out


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


def load_nir(
    path: str | Path, spikes: str | Path | None = None, rate_hz: float | None = None
) -> Network:
    """Read a ``.nir`` file and import it; ``spikes`` is a ``.npz`` or NIR recorded data
    (``.h5``, see :func:`read_spikes`); inputs without spikes fire at ``rate_hz``."""
    graph = read_nir(path)
    arrays, dt_ms = read_spikes(spikes) if spikes else (None, None)
    name = _identifier(Path(path).stem)
    return import_nir(graph, str(path), arrays, dt_ms, rate_hz, name=name)
