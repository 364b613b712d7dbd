"""A direct NumPy simulation of a NIR graph, written apart from neuroemu's code.

It evaluates the graph node by node, as NIR defines it, with the discretisation neuroemu states
(neuroemu/network/nir_import.py): forward Euler on ``dt`` with the input held over the step, and
a spike emitted at step n reaching the next neuron node at step n + 1 (+ its ``Delay`` in whole
steps). Convolutions and pooling are loops over the output, not sparse matrices, so a mistake
in neuroemu's expansion cannot hide in both.
"""

from __future__ import annotations

import numpy as np

NEURON_TYPES = {"LIF", "CubaLIF", "IF", "LI", "CubaLI", "I", "Threshold"}


def flatten(graph, prefix=""):
    """Nodes and edges with nested graphs inlined (edges to a subgraph go to its Input)."""
    nodes, edges, ends = {}, [], {}
    for name, node in graph.nodes.items():
        if type(node).__name__ == "NIRGraph":
            sub_nodes, sub_edges = flatten(node, f"{prefix}{name}.")
            nodes.update(sub_nodes)
            edges += sub_edges
            ins = [n for n, x in node.nodes.items() if type(x).__name__ == "Input"]
            outs = [n for n, x in node.nodes.items() if type(x).__name__ == "Output"]
            ends[f"{prefix}{name}"] = (f"{prefix}{name}.{ins[0]}", f"{prefix}{name}.{outs[0]}")
        else:
            nodes[f"{prefix}{name}"] = node
    for pre, post in graph.edges:
        pre, post = f"{prefix}{pre}", f"{prefix}{post}"
        pre = ends[pre][1] if pre in ends else pre
        post = ends[post][0] if post in ends else post
        edges.append((pre, post))
    return nodes, edges


def _conv2d(x, w, b, stride, padding, dilation, groups):
    _, height, width = x.shape
    c_out, c_per, k_h, k_w = w.shape
    xp = np.pad(x, ((0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    h_out = (height + 2 * padding[0] - dilation[0] * (k_h - 1) - 1) // stride[0] + 1
    w_out = (width + 2 * padding[1] - dilation[1] * (k_w - 1) - 1) // stride[1] + 1
    out = np.zeros((c_out, h_out, w_out))
    per_group_out = c_out // groups
    for co in range(c_out):
        g = co // per_group_out
        for y in range(h_out):
            for xx in range(w_out):
                total = 0.0
                for cl in range(c_per):
                    for a in range(k_h):
                        for bb in range(k_w):
                            yy = y * stride[0] + a * dilation[0]
                            xi = xx * stride[1] + bb * dilation[1]
                            total += w[co, cl, a, bb] * xp[g * c_per + cl, yy, xi]
                out[co, y, xx] = total + (0.0 if b is None else b[co])
    return out


def _two(v):
    v = np.atleast_1d(np.asarray(v)).astype(int)
    return (int(v[0]), int(v[-1]))


def apply_linear(node, x):
    kind = type(node).__name__
    if kind in ("Input", "Output", "Delay"):
        return x
    if kind == "Affine":
        return node.weight @ x.ravel() + node.bias
    if kind == "Linear":
        return node.weight @ x.ravel()
    if kind == "Scale":
        return node.scale * x
    if kind == "Flatten":
        return x.reshape(-1) if node.start_dim == 0 else x.reshape(x.shape[0], -1)
    if kind == "Conv2d":
        return _conv2d(
            x,
            node.weight,
            node.bias,
            _two(node.stride),
            _two(node.padding),
            _two(node.dilation),
            node.groups,
        )
    if kind == "Conv1d":
        out = _conv2d(
            x[:, None, :],
            node.weight[:, :, None, :],
            node.bias,
            (1, node.stride),
            (0, node.padding),
            (1, node.dilation),
            node.groups,
        )
        return out[:, 0, :]
    if kind in ("SumPool2d", "AvgPool2d"):
        channels = x.shape[0]
        k = _two(node.kernel_size)
        w = np.ones((channels, 1, *k)) / (k[0] * k[1] if kind == "AvgPool2d" else 1)
        return _conv2d(x, w, None, _two(node.stride), _two(node.padding), (1, 1), channels)
    raise ValueError(kind)


def simulate(graph, inputs, dt_s, n_steps):
    """Spikes ``{node: (n_steps, size) bool}`` and states ``{node: (n_steps, size) v}``."""
    nodes, edges = flatten(graph)
    preds = {n: [a for a, b in edges if b == n] for n in nodes}
    top_inputs = {n for n, x in graph.nodes.items() if type(x).__name__ == "Input"}
    neurons = [n for n, x in nodes.items() if type(x).__name__ in NEURON_TYPES]
    history = {n: [] for n in [*neurons, *top_inputs]}  # output of each step, as arrays
    state = {}
    for n in neurons:
        node = nodes[n]
        shape = np.shape(getattr(node, "threshold", getattr(node, "r", None)))
        state[n] = {"v": np.zeros(shape), "I": np.zeros(shape)}

    zeros = {n: np.zeros(state[n]["v"].shape) for n in neurons}
    zeros.update({n: np.zeros(tuple(nodes[n].input_type["input"])) for n in top_inputs})

    def value(name, step):
        if name in history:
            return zeros[name] if step < 0 else history[name][step]
        node = nodes[name]
        if type(node).__name__ == "Delay":
            k = np.round(np.asarray(node.delay) / dt_s).astype(int)
            out = np.zeros_like(sum(value(p, step) for p in preds[name]))
            for kk in np.unique(k):
                delayed = sum(value(p, step - kk) for p in preds[name])
                out[k == kk] = delayed[k == kk]
            return out
        return apply_linear(node, sum(value(p, step) for p in preds[name]))

    spikes = {n: [] for n in neurons}
    states = {n: [] for n in neurons}
    for step in range(n_steps):
        for name in top_inputs:
            history[name].append(np.asarray(inputs[name][step], dtype=float))
        outs = {}
        for n in neurons:
            node, s = nodes[n], state[n]
            shape = s["v"].shape
            current = np.zeros(shape)
            for p in preds[n]:
                current = current + np.reshape(value(p, step - 1), shape)
            kind = type(node).__name__
            z = np.zeros(shape, bool)
            if kind in ("LIF", "LI"):
                s["v"] = s["v"] + dt_s * (node.v_leak - s["v"] + node.r * current) / node.tau
            elif kind in ("CubaLIF", "CubaLI"):
                v_new = s["v"] + dt_s * (node.v_leak - s["v"] + node.r * s["I"]) / node.tau_mem
                s["I"] = s["I"] + dt_s * (node.w_in * current - s["I"]) / node.tau_syn
                s["v"] = v_new
            elif kind in ("IF", "I"):
                s["v"] = s["v"] + dt_s * node.r * current
            elif kind == "Threshold":
                z = current > node.threshold
            if kind in ("LIF", "CubaLIF", "IF"):
                z = s["v"] > node.v_threshold
                s["v"] = np.where(z, node.v_reset, s["v"])
            outs[n] = z.astype(float)
            spikes[n].append(z.ravel().copy())
            states[n].append(s["v"].ravel().copy())
        for n in neurons:
            history[n].append(outs[n])
    return (
        {n: np.array(v) for n, v in spikes.items()},
        {n: np.array(v) for n, v in states.items()},
    )
