"""NIR's linear layers as explicit synapse matrices: dense, scale, convolution, pooling.

A chip stores every synapse a layer has, so each layer becomes a sparse matrix over the
flattened (C-order) elements of its input and output, with a *pattern* that says which entries
are synapses: a convolution keeps every kernel tap that lands on an input element, zero weights
included (the chip stores and reads them), and drops only the taps that fall on padding. The
values and the pattern are kept apart because scipy's sparse products drop entries whose value
is zero. This module knows no NIR type; :mod:`neuroemu.network.nir_import` calls it with arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neuroemu.network.connectivity import conv2d_taps
from neuroemu.network.structure import ConvStructure, conv_output_size


@dataclass(frozen=True)
class LinearMap:
    """``y = values @ x + bias`` over flattened elements, then delayed by ``delay_s`` per output.

    Attributes
    ----------
    values : scipy.sparse.csr_matrix
        Weights, shape ``(n_out, n_in)``.
    pattern : scipy.sparse.csr_matrix
        1.0 where a synapse exists (zero-weight ones too), same shape.
    bias : ndarray
        Constant added to each output, shape ``(n_out,)``.
    out_shape : tuple of int
        Shape of the output (NIR's, without a batch dimension).
    delay_s : ndarray or None
        Delay of each output element in seconds (NIR ``Delay``), None for none.
    structure : ConvStructure or None
        The convolution (or pooling, a depthwise convolution) the map expands, if it is one.
    """

    values: sp.csr_matrix
    pattern: sp.csr_matrix
    bias: np.ndarray
    out_shape: tuple[int, ...]
    delay_s: np.ndarray | None = None
    structure: ConvStructure | None = None


def _csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]) -> tuple:
    values = sp.csr_matrix((vals.astype(float), (rows, cols)), shape=shape)
    pattern = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    pattern.data[:] = 1.0  # duplicates (none expected) would have summed
    return values, pattern


def dense(weight: np.ndarray, bias: np.ndarray | None) -> LinearMap:
    """A fully connected layer: every entry of ``weight`` (out, in) is a synapse."""
    n_out, n_in = weight.shape
    rows, cols = np.divmod(np.arange(n_out * n_in), n_in)
    values, pattern = _csr(rows, cols, weight.ravel(), (n_out, n_in))
    b = np.zeros(n_out) if bias is None else np.asarray(bias, dtype=float).ravel()
    return LinearMap(values, pattern, b, (n_out,))


def structured(
    weight: np.ndarray, bias: np.ndarray | None, i: np.ndarray, j: np.ndarray
) -> LinearMap:
    """A layer whose synapses are only the ``(j, i)`` entries of ``weight`` (post, pre)."""
    n_out, n_in = weight.shape
    values, pattern = _csr(j, i, weight[j, i], (n_out, n_in))
    b = np.zeros(n_out) if bias is None else np.asarray(bias, dtype=float).ravel()
    return LinearMap(values, pattern, b, (n_out,))


def diagonal(
    scale: np.ndarray, shape: tuple[int, ...], delay_s: np.ndarray | None = None
) -> LinearMap:
    """Element-wise scaling (NIR ``Scale``; 1 for identity, ``Flatten`` and ``Delay``)."""
    n = int(np.prod(shape))
    index = np.arange(n)
    values, pattern = _csr(index, index, np.broadcast_to(scale, (n,)), (n, n))
    delay = None if delay_s is None else np.broadcast_to(delay_s, (n,)).astype(float)
    return LinearMap(values, pattern, np.zeros(n), tuple(shape), delay)


def conv2d(
    weight: np.ndarray,
    bias: np.ndarray | None,
    in_shape: tuple[int, int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> LinearMap:
    """A 2-D convolution (PyTorch's definition, as NIR's) as explicit synapses.

    ``weight`` is ``(C_out, C_in / groups, k_h, k_w)`` and ``in_shape`` ``(C_in, H, W)``; the
    output is ``(C_out, H_out, W_out)`` with ``H_out = (H + 2 p - d (k - 1) - 1) // s + 1``.
    Every tap that lands inside the input is a synapse, whatever its weight
    (:func:`neuroemu.network.connectivity.conv2d_taps`); the map keeps its
    :class:`ConvStructure`.
    """
    c_out, _, k_h, k_w = weight.shape
    out = [
        conv_output_size(size, k, s, p, d)
        for size, k, s, p, d in zip(
            in_shape[1:], (k_h, k_w), stride, padding, dilation, strict=True
        )
    ]
    structure = ConvStructure(
        in_shape, (c_out, out[0], out[1]), (k_h, k_w), stride, padding, dilation, groups
    )
    cols, rows, tap = conv2d_taps(structure)
    values, pattern = _csr(rows, cols, weight.ravel()[tap], (structure.n_out, structure.n_in))
    b_out = np.zeros(c_out) if bias is None else np.broadcast_to(np.asarray(bias, float), (c_out,))
    return LinearMap(
        values, pattern, np.repeat(b_out, out[0] * out[1]), structure.out_shape, None, structure
    )


def restrict(layer: LinearMap, i: np.ndarray, j: np.ndarray) -> LinearMap:
    """``layer`` with only the synapses ``(j, i)`` (post, pre) of its pattern kept."""
    keep = sp.csr_matrix((np.ones(len(i)), (j, i)), shape=layer.pattern.shape)
    pattern = layer.pattern.multiply(keep).tocsr()
    values = layer.values.multiply(keep).tocsr()
    return LinearMap(values, pattern, layer.bias, layer.out_shape, layer.delay_s, layer.structure)


def same_padding(kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    """Padding of ``padding='same'`` at stride 1 (odd kernels; PyTorch pads the extra on the
    right for even ones, which a symmetric padding cannot say: the importer refuses those)."""
    return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation, strict=True))


def pool2d(
    in_shape: tuple[int, int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    average: bool,
) -> LinearMap:
    """Sum or average pooling per channel: a depthwise convolution with weight 1 or 1/(k_h k_w)."""
    channels = in_shape[0]
    value = 1.0 / (kernel[0] * kernel[1]) if average else 1.0
    weight = np.full((channels, 1, *kernel), value)
    return conv2d(weight, None, in_shape, stride, padding, (1, 1), channels)
