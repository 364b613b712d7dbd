"""Connectivity generators in numpy: they return ``(i, j)`` index arrays, seeded and exact.

They run before any simulation so that every synapse is known to the mapping and the accounting,
and so the same seed gives the same synapses whatever simulator runs the network. A convolution
(:func:`conv2d`, :func:`sum_pool2d`) also returns its weights and the :class:`ConvStructure` a
chip that stores kernels needs.
"""

from __future__ import annotations

import math
import os

import numpy as np

from neuroemu.errors import ModelError, NetworkError
from neuroemu.network.structure import ConvStructure, conv_output_size

# Bytes one sampled synapse costs while it is generated (two int64 indices).
_BYTES_PER_SYNAPSE = 16


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_sizes(n_pre: int, n_post: int) -> None:
    if n_pre <= 0 or n_post <= 0:
        raise NetworkError(f"connectivity needs positive group sizes, got {n_pre} x {n_post}")


def available_memory_bytes() -> int | None:
    """Memory the machine can give now (Linux ``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def require_memory(n_bytes: float, what: str) -> None:
    """Refuse, before allocating, to build something larger than the machine's free memory.

    A size a user typed (``-p scale=5e6``) once tried to allocate 119 GiB.
    """
    have = available_memory_bytes()
    if have is not None and n_bytes > have:
        raise ModelError(
            f"{what} would need about {n_bytes / 2**30:.3g} GiB; this machine has "
            f"{have / 2**30:.3g} GiB available: expected a smaller network (a smaller scale)"
        )


def scaled_probability(p: float, scale: float) -> float:
    """The connection probability ``p / scale`` of a network scaled by ``scale`` (constant
    in-degree), or a :class:`ModelError` naming the parameters when it is not a probability."""
    if not (math.isfinite(scale) and scale > 0):
        raise ModelError(f"parameter scale must be a positive, finite number, got {scale!r}")
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise ModelError(f"parameter p must lie in [0, 1], got {p!r}")
    if p > scale:
        raise ModelError(
            f"parameters p / scale = {p:g} / {scale:g} = {p / scale:g} is not a probability "
            f"(above 1): expected scale >= p (the in-degree is kept constant as the network "
            f"shrinks, so a network smaller than p x its size cannot keep it)"
        )
    return p / scale


def fixed_probability(
    n_pre: int,
    n_post: int,
    p: float,
    seed: int | np.random.Generator,
    allow_self: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Each of the ``n_pre x n_post`` pairs is connected independently with probability ``p``.

    Exact Bernoulli sampling by geometric gaps over the flattened pair index, so the cost is
    proportional to the number of synapses, not to ``n_pre * n_post``. ``allow_self=False``
    drops ``i == j`` pairs (for a population projecting onto itself).
    """
    _check_sizes(n_pre, n_post)
    if not 0.0 <= p <= 1.0:
        raise NetworkError(f"fixed_probability: p must lie in [0, 1], got {p}")
    require_memory(float(n_pre) * n_post * p * _BYTES_PER_SYNAPSE,
                   f"{n_pre:,} x {n_post:,} neurons connected with p = {p:g}")  # fmt: skip
    rng = _rng(seed)
    total = n_pre * n_post
    if p == 0.0:
        linear = np.empty(0, dtype=np.int64)
    elif p == 1.0:
        linear = np.arange(total, dtype=np.int64)
    else:
        chunks = []
        position = -1
        expected = int(total * p)
        while position < total:
            size = max(1024, int(expected * 1.05) + 10 * int(np.sqrt(expected + 1)))
            gaps = rng.geometric(p, size=size).astype(np.int64)
            # For tiny p the gaps saturate at 2**63 - 1 and their sum would wrap around to
            # negative positions (an endless loop); any gap past the end means "no more pairs".
            np.minimum(gaps, total + 1, out=gaps)
            steps = position + np.cumsum(gaps)
            chunks.append(steps[steps < total])
            position = int(steps[-1])
            expected = max(0, int((total - position) * p))
        linear = np.concatenate(chunks)
    i = linear // n_post
    j = linear % n_post
    if not allow_self:
        keep = i != j
        i, j = i[keep], j[keep]
    return i, j


def fixed_indegree(
    n_pre: int,
    n_post: int,
    k: int,
    seed: int | np.random.Generator,
    allow_self: bool = True,
    allow_multapses: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Every postsynaptic neuron receives exactly ``k`` synapses from random presynaptic neurons.

    Without multapses the ``k`` sources of a neuron are distinct (resampled until they are).
    """
    _check_sizes(n_pre, n_post)
    available = n_pre - (0 if allow_self else 1)
    if k < 0 or (not allow_multapses and k > available):
        raise NetworkError(
            f"fixed_indegree: k = {k} distinct sources requested from {available} available"
        )
    rng = _rng(seed)
    sources = rng.integers(0, n_pre, size=(n_post, k), dtype=np.int64)
    post = np.arange(n_post, dtype=np.int64)[:, None]
    for _ in range(1000):
        bad = np.zeros(sources.shape, dtype=bool)
        if not allow_self:
            bad |= sources == post
        if not allow_multapses:
            order = np.argsort(sources, axis=1, kind="stable")
            ordered = np.take_along_axis(sources, order, axis=1)
            repeat = np.zeros_like(bad)
            repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
            np.put_along_axis(bad, order, repeat | np.take_along_axis(bad, order, axis=1), axis=1)
        if not bad.any():
            break
        sources[bad] = rng.integers(0, n_pre, size=int(bad.sum()), dtype=np.int64)
    else:  # pragma: no cover - would need an astronomically unlucky draw
        raise NetworkError("fixed_indegree: could not draw distinct sources")
    return sources.ravel(), np.repeat(np.arange(n_post, dtype=np.int64), k)


def fixed_total_number(
    n_pre: int, n_post: int, n: int, seed: int | np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Exactly ``n`` distinct (pre, post) pairs drawn uniformly."""
    _check_sizes(n_pre, n_post)
    if not 0 <= n <= n_pre * n_post:
        raise NetworkError(f"fixed_total_number: n = {n} exceeds the {n_pre * n_post} pairs")
    linear = np.sort(_rng(seed).choice(n_pre * n_post, size=n, replace=False))
    return linear // n_post, linear % n_post


def one_to_one(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Neuron ``k`` of the source to neuron ``k`` of the target."""
    _check_sizes(n, n)
    index = np.arange(n, dtype=np.int64)
    return index, index.copy()


def all_to_all(n_pre: int, n_post: int, allow_self: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every pair, in row-major order."""
    _check_sizes(n_pre, n_post)
    i = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
    j = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
    if not allow_self:
        keep = i != j
        i, j = i[keep], j[keep]
    return i, j


def _pair(value: int | tuple[int, int] | np.ndarray, name: str) -> tuple[int, int]:
    flat = np.atleast_1d(np.asarray(value)).ravel()
    if flat.size not in (1, 2) or not np.all(flat == np.round(flat)):
        raise NetworkError(f"conv2d: {name} must be an int or a pair of ints, got {value!r}")
    return (int(flat[0]), int(flat[-1]))


def conv2d_taps(
    structure: ConvStructure,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every synapse of a convolution: pre index, post index and the flat index of its weight.

    Torch's ``Conv2d`` (a cross-correlation): output ``(co, y, x)`` reads input
    ``(ci, y s - p + a d, x s - p + b d)`` through weight ``(co, ci - g C_in/groups, a, b)``,
    ``g = co // (C_out / groups)``. A tap that lands on padding is no synapse; every other is,
    whatever its weight. One pass per kernel position ``(a, b)``, vectorised over channels and
    the output positions whose tap lands inside, written straight into the result; synapses
    come in that order (tap, then output channel, input channel, output row and column).

    Returns
    -------
    i, j : array of int
        Pre (input map) and post (output map) neuron of each synapse, channel-major.
    tap : array of int
        Index of its weight in the flattened ``(C_out, C_in / groups, kh, kw)`` kernel.
        All three are int32 where every index fits, else int64.
    """
    c_in, height, width = structure.in_shape
    c_out, h_out, w_out = structure.out_shape
    k_h, k_w = structure.kernel
    per_group = c_in // structure.groups
    largest = max(structure.n_in, structure.n_out, structure.n_weights)
    dtype = np.dtype(np.int32 if largest < 2**31 else np.int64)
    co: np.ndarray = np.arange(c_out, dtype=dtype)[:, None, None]
    cl: np.ndarray = np.arange(per_group, dtype=dtype)[None, :, None]
    ci = (co // (c_out // structure.groups)) * per_group + cl
    (s_y, s_x), (p_y, p_x), (d_y, d_x) = structure.stride, structure.padding, structure.dilation
    # per kernel row a (column b): the input row (column) each output row (column) reads, and
    # the output rows (columns) for which it lies inside the input
    rows = [np.arange(h_out) * s_y - p_y + a * d_y for a in range(k_h)]
    columns = [np.arange(w_out) * s_x - p_x + b * d_x for b in range(k_w)]
    rows_in = [np.flatnonzero((y >= 0) & (y < height)) for y in rows]
    columns_in = [np.flatnonzero((x >= 0) & (x < width)) for x in columns]
    per_tap = c_out * per_group
    total = per_tap * sum(map(len, rows_in)) * sum(map(len, columns_in))
    i, j, tap = (np.empty(total, dtype=dtype) for _ in range(3))
    position = 0
    for a, (ys, y_in) in enumerate(zip(rows_in, rows, strict=True)):
        for b, (xs, x_in) in enumerate(zip(columns_in, columns, strict=True)):
            n_positions = len(ys) * len(xs)
            block = slice(position, position + per_tap * n_positions)
            shape = (c_out, per_group, n_positions)
            pre: np.ndarray = (y_in[ys][:, None] * width + x_in[xs][None, :]).ravel()
            post: np.ndarray = (ys[:, None] * w_out + xs[None, :]).ravel()
            np.add(ci * (height * width), pre.astype(dtype), out=i[block].reshape(shape))
            np.add(co * (h_out * w_out) + 0 * cl, post.astype(dtype), out=j[block].reshape(shape))
            entry = ((co * per_group + cl) * k_h + a) * k_w + b
            tap[block].reshape(shape)[...] = entry
            position = block.stop
    return i, j, tap


def conv2d(
    in_shape: tuple[int, int, int],
    out_channels: int,
    kernel: int | tuple[int, int],
    weights: np.ndarray | float = 1.0,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, ConvStructure]:
    """A 2-D convolution as explicit synapses, with the :class:`ConvStructure` it came from.

    Same meaning as ``torch.nn.Conv2d`` (cross-correlation; zero padding adds no synapse) over
    neurons numbered channel-major, ``c * H * W + y * W + x`` (see :func:`conv2d_taps`).

    Parameters
    ----------
    in_shape : (C_in, H, W)
        Shape of the presynaptic map.
    out_channels : int
        ``C_out``; the output's height and width follow from the rest (torch's formula).
    kernel, stride, padding, dilation : int or (rows, columns)
    weights : array or float
        The kernel, ``(C_out, C_in / groups, kh, kw)`` (torch's layout), or one weight for every
        synapse (as sum pooling). For random kernels draw the array with a seeded generator.
    groups : int
        Channel groups (``C_in`` for a depthwise convolution).

    Returns
    -------
    i, j : array of int
        Pre and post neuron of each synapse (int32 where every index fits, else int64).
    weight : array of float
        Its weight (float32 kept, else float64).
    structure : ConvStructure
        Shapes, kernel, stride, padding, dilation, groups: pass it to ``Projection(structure=)``.
    """
    c_in, height, width = (int(v) for v in in_shape)
    k = _pair(kernel, "kernel")
    s, p, d = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    h_out, w_out = (
        conv_output_size(*args) for args in zip((height, width), k, s, p, d, strict=True)
    )
    out = (h_out, w_out)
    if min(out) < 1:
        raise NetworkError(
            f"conv2d: a ({c_in}, {height}, {width}) input with kernel {k}, padding {p} and "
            f"dilation {d} has no output position (output {out[0]} x {out[1]})"
        )
    structure = ConvStructure(
        (c_in, height, width), (int(out_channels), h_out, w_out), k, s, p, d, int(groups)
    )
    kernel_shape = (int(out_channels), c_in // structure.groups, *k)
    values = np.asarray(weights)
    if values.ndim == 0:
        values = np.broadcast_to(values, kernel_shape)
    if values.shape != kernel_shape:
        raise NetworkError(
            f"conv2d: weights have shape {values.shape}; expected (C_out, C_in / groups, kh, "
            f"kw) = {kernel_shape}, or a scalar"
        )
    if not np.all(np.isfinite(values)):
        raise NetworkError("conv2d: weights have NaN or infinite values")
    require_memory(
        float(structure.n_out) * structure.weights_per_out_channel * (_BYTES_PER_SYNAPSE + 16),
        f"a convolution {structure.in_shape} -> {structure.out_shape} with kernel {k}",
    )
    i, j, tap = conv2d_taps(structure)
    dtype = np.float32 if values.dtype == np.float32 else np.float64
    return i, j, values.astype(dtype, copy=False).ravel()[tap], structure


def sum_pool2d(
    in_shape: tuple[int, int, int],
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    weight: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, ConvStructure]:
    """Sum pooling per channel (stride defaults to the kernel), exactly a depthwise
    :func:`conv2d` (``groups = C``) whose kernel is all ``weight``: one weight shared by all."""
    channels = int(in_shape[0])
    step = kernel if stride is None else stride
    return conv2d(in_shape, channels, kernel, float(weight), step, padding, 1, channels)
