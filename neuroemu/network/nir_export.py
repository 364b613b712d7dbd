"""Exporting a :class:`Network` as a NIR graph, so networks built here run in other NIR tools.

Only populations of the ``nir_*`` models are expressible: their equations are NIR's own
(:mod:`neuroemu.network.neuron_models`). The library's ``lif``, ``if``, ``cuba_lif``... take
delta or exponential synapses in physical units and, integrated exactly or step-wise, have no
NIR node whose meaning does not depend on the timestep, so the export names such a population
and stops instead of writing something that would run differently elsewhere.

Each population becomes its NIR node with one value per neuron; each input an ``Input``; each
projection a ``Linear`` (an ``Affine`` on the first projection into a population with a
``bias``) named after it, followed by a ``Delay`` node when it has a delay. A ``Linear``'s
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
from neuroemu.network.network import Network, Population, Projection
from neuroemu.network.nir_nodes import NEURONS

#: neuroemu model -> (NIR type, NIR field -> parameter), the inverse of the import's table.
EXPORTABLE: dict[str, tuple[str, dict[str, str]]] = {
    model: (kind, fields) for kind, (model, fields) in NEURONS.items()
}


def _values(pop: Population, key: str) -> np.ndarray:
    value = pop.parameters.get(key, pop.model.parameters[key])
    return np.broadcast_to(np.asarray(value, dtype=float), (pop.size,)).copy()


def _node(nir: Any, pop: Population) -> Any:
    kind, fields = EXPORTABLE[pop.model.name]
    return getattr(nir, kind)(**{field: _values(pop, key) for field, key in fields.items()})


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
    for source in network.inputs:
        nodes[source.name] = nir.Input(input_type={"input": np.array([source.size])})
    for pop in network.populations:
        nodes[pop.name] = _node(nir, pop)
    biased = {p.name for p in network.populations if np.any(_bias(p))}
    for proj in network.projections:
        n_pre = _size(network, proj.pre)
        post = network.population(proj.post)
        weight = np.zeros((post.size, n_pre))
        weight[proj.j, proj.i] = proj.weight
        meta = {"neuroemu_i": proj.i.astype(np.int64), "neuroemu_j": proj.j.astype(np.int64)}
        if proj.post in biased:
            biased.discard(proj.post)
            node = nir.Affine(weight=weight, bias=_bias(post), metadata=meta)
        else:
            node = nir.Linear(weight=weight, metadata=meta)
        nodes[proj.name] = node
        edges.append((proj.pre, proj.name))
        delay = _delay_s(proj, post.size, path)
        if delay is None:
            edges.append((proj.name, proj.post))
        else:
            nodes[f"{proj.name}_delay"] = nir.Delay(delay=delay)
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
        size = network.population(pop_name).size
        nodes[out_name] = nir.Output(output_type={"output": np.array([size])})
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
