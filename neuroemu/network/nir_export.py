"""Exporting a :class:`Network` as a NIR graph, so networks built here run in other NIR tools.

Only populations of the ``nir_*`` models are expressible: their equations are NIR's own
(:mod:`neuroemu.network.neuron_models`). The library's ``lif``, ``if``, ``cuba_lif``... take
delta or exponential synapses in physical units and, integrated exactly or step-wise, have no
NIR node whose meaning does not depend on the timestep, so the export names such a population
and stops instead of writing something that would run differently elsewhere.

Each population becomes its NIR node with one value per neuron; each input an ``Input``; each
projection a ``Linear`` (an ``Affine`` on the first projection into a population with a
``bias``) named after it, followed by a ``Delay`` node when it has a delay. A projection with a
:class:`~neuroemu.network.structure.ConvStructure` whose synapses are the convolution's taps
becomes a ``Conv2d`` (the kernel read back from the synapses; a per-channel bias on it), and
the nodes it reads and writes take its ``(C, H, W)`` shapes; when some taps were left out
(zero weights dropped) the ones present are listed as for a ``Linear``. A ``Linear``'s
weight matrix is dense, so the synapses that exist are listed in its metadata
(``neuroemu_i``, ``neuroemu_j``) and :mod:`neuroemu.network.nir_import` reads them back: zero
weights stay synapses and absent entries stay absent, and the import gives back the same
Network (synapses listed by pre, then post neuron). The graph's metadata records the order of
the populations and projections. Importing needs the input spikes again: a graph holds no
data. An ``Output`` node follows every population whose spikes go nowhere else, since other
NIR tools start their type inference there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neuroemu.errors import NirError
from neuroemu.network.connectivity import conv2d_taps
from neuroemu.network.network import Network, Population, Projection
from neuroemu.network.nir_nodes import NEURONS

#: neuroemu model -> (NIR type, NIR field -> parameter), the inverse of the import's table.
EXPORTABLE: dict[str, tuple[str, dict[str, str]]] = {
    model: (kind, fields) for kind, (model, fields) in NEURONS.items()
}


def _values(pop: Population, key: str) -> np.ndarray:
    value = pop.parameters.get(key, pop.model.parameters[key])
    return np.broadcast_to(np.asarray(value, dtype=float), (pop.size,)).copy()


def _node(nir: Any, pop: Population, shape: tuple[int, ...]) -> Any:
    kind, fields = EXPORTABLE[pop.model.name]
    return getattr(nir, kind)(
        **{field: _values(pop, key).reshape(shape) for field, key in fields.items()}
    )


def _map_shapes(network: Network) -> dict[str, tuple[int, ...]]:
    """The (C, H, W) shape of each group a convolution reads or writes (its output's shape
    first, then its input's), so that the NIR node before a ``Conv2d`` has the shape it needs;
    other groups stay flat."""
    shapes: dict[str, tuple[int, ...]] = {}
    with_structure = [p for p in network.projections if p.structure is not None]
    for proj in with_structure:
        shapes.setdefault(proj.post, proj.structure.out_shape)  # type: ignore[union-attr]
    for proj in with_structure:
        shapes.setdefault(proj.pre, proj.structure.in_shape)  # type: ignore[union-attr]
    return shapes


def conv_kernel(proj: Projection) -> tuple[np.ndarray, bool] | None:
    """The kernel ``(C_out, C_in / groups, kh, kw)`` of a projection with a structure, and
    whether its synapses are all the convolution's taps (else a subset, zero weights dropped);
    None when the synapses are not the structure's (a tap outside it, or two weights for one
    kernel entry)."""
    st = proj.structure
    if st is None:
        return None
    (c_in, height, width), (c_out, h_out, w_out) = st.in_shape, st.out_shape
    i, j = proj.i.astype(np.int64), proj.j.astype(np.int64)
    ci, yi, xi = i // (height * width), i // width % height, i % width
    co, y, x = j // (h_out * w_out), j // w_out % h_out, j % w_out
    per_group = c_in // st.groups
    cl = ci - co // (c_out // st.groups) * per_group
    a, ra = np.divmod(yi - y * st.stride[0] + st.padding[0], st.dilation[0])
    b, rb = np.divmod(xi - x * st.stride[1] + st.padding[1], st.dilation[1])
    k_h, k_w = st.kernel
    valid = (ra == 0) & (rb == 0) & (a >= 0) & (a < k_h) & (b >= 0) & (b < k_w)
    valid &= (cl >= 0) & (cl < per_group)
    if not np.all(valid):
        return None
    tap = ((co * per_group + cl) * k_h + a) * k_w + b
    kernel = np.zeros(st.n_weights)
    kernel[tap] = proj.weight
    if not np.array_equal(kernel[tap], proj.weight):
        return None  # two weights for one kernel entry
    if len(np.unique(tap * st.n_out + j)) != len(tap):
        return None  # a synapse listed twice
    full = len(proj.i) == st.n_out * st.weights_per_out_channel or len(proj.i) == _n_taps(proj)
    return kernel.reshape(c_out, per_group, k_h, k_w), full


def _n_taps(proj: Projection) -> int:
    return len(conv2d_taps(proj.structure)[0])  # type: ignore[arg-type]


def _conv_node(
    nir: Any, proj: Projection, shapes: dict[str, tuple[int, ...]], bias: np.ndarray | None
) -> Any:
    """A NIR ``Conv2d`` for ``proj``, or None when it cannot be one: no structure, node shapes
    that differ from the structure's, synapses that are not its taps, or a bias that is not
    one value per output channel."""
    st = proj.structure
    if st is None or shapes.get(proj.pre) != st.in_shape or shapes.get(proj.post) != st.out_shape:
        return None
    found = conv_kernel(proj)
    if found is None:
        return None
    kernel, full = found
    per_channel = np.zeros(st.out_shape[0])
    if bias is not None:
        by_channel = bias.reshape(st.out_shape[0], -1)
        if not np.all(by_channel == by_channel[:, :1]):
            return None
        per_channel = by_channel[:, 0].copy()
    meta = (
        {}
        if full
        else {"neuroemu_i": proj.i.astype(np.int64), "neuroemu_j": proj.j.astype(np.int64)}
    )
    return nir.Conv2d(
        input_shape=st.in_shape[1:],
        weight=kernel,
        stride=np.array(st.stride),
        padding=np.array(st.padding),
        dilation=np.array(st.dilation),
        groups=st.groups,
        bias=per_channel,
        metadata=meta,
    )


def _delay_s(proj: Projection, post_size: int, path: str) -> np.ndarray | None:
    """The projection's delay per post neuron in seconds (NIR delays elements, not synapses)."""
    delays = proj.delays_ms()
    if not np.any(delays):
        return None
    per_post = np.zeros(post_size)
    per_post[proj.j] = delays
    if not np.array_equal(per_post[proj.j], delays):
        raise NirError(
            path,
            proj.name,
            "projection",
            "its delays differ between synapses onto "
            "one neuron; NIR's Delay delays a neuron's "
            "whole input",
        )
    return per_post / 1000.0


def to_nir(network: Network, path: str = "<network>") -> Any:
    """The NIR graph of ``network`` (a ``nir.NIRGraph``).

    Raises
    ------
    NirError
        A population whose model NIR cannot express, a population with a bias but no
        incoming projection to carry it, or per-synapse delays NIR cannot express.
    """
    try:
        import nir  # type: ignore[import-untyped]
    except ImportError:
        raise NirError(
            path, "", "", "writing NIR needs the nir package: pip install 'neuroemu[nir]'"
        ) from None
    for pop in network.populations:
        if pop.model.name not in EXPORTABLE:
            raise NirError(
                path,
                pop.name,
                pop.model.name,
                f"NIR cannot express this neuron model; exportable models: {', '.join(EXPORTABLE)}",
            )
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    shapes = _map_shapes(network)
    for source in network.inputs:
        shape = np.array(shapes.get(source.name, (source.size,)))
        nodes[source.name] = nir.Input(input_type={"input": shape})
    for pop in network.populations:
        nodes[pop.name] = _node(nir, pop, shapes.get(pop.name, (pop.size,)))
    biased = {p.name for p in network.populations if np.any(_bias(p))}
    for proj in network.projections:
        post = network.population(proj.post)
        bias = _bias(post) if proj.post in biased else None
        node = _conv_node(nir, proj, shapes, bias)
        if node is None:
            n_pre = _size(network, proj.pre)
            weight = np.zeros((post.size, n_pre))
            weight[proj.j, proj.i] = proj.weight
            meta = {"neuroemu_i": proj.i.astype(np.int64), "neuroemu_j": proj.j.astype(np.int64)}
            if bias is not None:
                node = nir.Affine(weight=weight, bias=bias, metadata=meta)
            else:
                node = nir.Linear(weight=weight, metadata=meta)
        biased.discard(proj.post)
        nodes[proj.name] = node
        edges.append((proj.pre, proj.name))
        delay = _delay_s(proj, post.size, path)
        if delay is None:
            edges.append((proj.name, proj.post))
        else:
            post_shape = shapes.get(proj.post, (post.size,))
            nodes[f"{proj.name}_delay"] = nir.Delay(delay=delay.reshape(post_shape))
            edges += [(proj.name, f"{proj.name}_delay"), (f"{proj.name}_delay", proj.post)]
    if biased:
        name = sorted(biased)[0]
        raise NirError(
            path,
            name,
            network.population(name).model.name,
            "has a bias but no incoming projection; NIR carries a bias only on an Affine node",
        )
    # Other NIR tools start type inference at Output nodes: one for every population whose
    # spikes leave no projection (the last one when all do, as in a recurrent network).
    sending = {proj.pre for proj in network.projections}
    ends = [p for p in network.population_names if p not in sending]
    for pop_name in ends or network.population_names[-1:]:
        out_name = _unique(f"{pop_name}_output", nodes)
        read = shapes.get(pop_name, (network.population(pop_name).size,))
        nodes[out_name] = nir.Output(output_type={"output": np.array(read)})
        edges.append((pop_name, out_name))
    order = {
        "neuroemu_populations": ",".join(network.population_names),
        "neuroemu_projections": ",".join(p.name for p in network.projections),
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=order, type_check=False)


def _unique(name: str, taken: dict[str, Any]) -> str:
    candidate, k = name, 1
    while candidate in taken:
        k += 1
        candidate = f"{name}{k}"
    return candidate


def _bias(pop: Population) -> np.ndarray:
    return _values(pop, "bias")


def _size(network: Network, name: str) -> int:
    for group in (*network.populations, *network.inputs):
        if group.name == name:
            return group.size
    raise NirError("<network>", name, "", "unknown group")  # Network validation prevents this


def export_nir(network: Network, path: str | Path) -> None:
    """Write ``network`` to ``path`` as a NIR file (``nir.write``)."""
    import nir

    graph = to_nir(network, str(path))
    nir.write(str(path), graph)
