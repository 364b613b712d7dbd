"""conv2d and sum_pool2d: the explicit synapses of a convolution against a brute-force loop and,
where torch is installed, ``torch.nn.functional.conv2d`` (the same input spikes give the same
weighted sums), with the structure each returns."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neuroemu.errors import NetworkError
from neuroemu.network.connectivity import conv2d, sum_pool2d
from neuroemu.network.network import Network, PoissonInput, Population, Projection
from neuroemu.network.structure import ConvStructure

# (in_shape, out_channels, kernel, stride, padding, dilation, groups)
CASES = [
    ((1, 5, 5), 1, 3, 1, 0, 1, 1),
    ((2, 8, 7), 4, (3, 2), (2, 1), (1, 0), 1, 1),
    ((4, 9, 9), 6, 3, 2, 2, (2, 1), 2),
    ((3, 7, 24), 3, 3, (2, 1), (1, 0), 1, 3),  # depthwise, PilotNet conv4's stride and padding
    ((2, 4, 4), 2, 4, 1, 1, 1, 1),  # even kernel
]


def brute_force(in_shape, weight, stride, padding, dilation, groups):
    """Every synapse, one loop iteration each: {(pre, post): weight}."""
    _, height, width = in_shape
    c_out, per_group, k_h, k_w = weight.shape
    h_out = (height + 2 * padding[0] - dilation[0] * (k_h - 1) - 1) // stride[0] + 1
    w_out = (width + 2 * padding[1] - dilation[1] * (k_w - 1) - 1) // stride[1] + 1
    synapses = {}
    for co, y, x, cl, a, b in itertools.product(
        range(c_out), range(h_out), range(w_out), range(per_group), range(k_h), range(k_w)
    ):
        ci = co // (c_out // groups) * per_group + cl
        yi = y * stride[0] - padding[0] + a * dilation[0]
        xi = x * stride[1] - padding[1] + b * dilation[1]
        if 0 <= yi < height and 0 <= xi < width:
            pre = (ci * height + yi) * width + xi
            post = (co * h_out + y) * w_out + x
            synapses[(pre, post)] = weight[co, cl, a, b]
    return synapses, (c_out, h_out, w_out)


def _pair(value):
    return (value, value) if isinstance(value, int) else value


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_conv2d_gives_the_brute_force_synapses(case) -> None:
    in_shape, c_out, kernel, stride, padding, dilation, groups = case
    k = _pair(kernel)
    rng = np.random.default_rng(1)
    weight = rng.normal(size=(c_out, in_shape[0] // groups, *k))
    weight[0, 0, 0, 0] = 0.0  # a zero weight is still a synapse
    i, j, w, structure = conv2d(in_shape, c_out, kernel, weight, stride, padding, dilation, groups)
    want, out_shape = brute_force(
        in_shape, weight, _pair(stride), _pair(padding), _pair(dilation), groups
    )
    assert structure == ConvStructure(
        in_shape, out_shape, k, _pair(stride), _pair(padding), _pair(dilation), groups
    )
    assert len(i) == len(want)
    assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == len(i)  # no synapse twice
    got = {(p, q): v for p, q, v in zip(i.tolist(), j.tolist(), w.tolist(), strict=True)}
    assert got == want


def _weighted_sums(i, j, w, spikes, n_out):
    return np.bincount(j, weights=w * spikes[i], minlength=n_out)


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_same_spikes_give_torchs_weighted_sums(case) -> None:
    torch = pytest.importorskip("torch")
    in_shape, c_out, kernel, stride, padding, dilation, groups = case
    rng = np.random.default_rng(2)
    weight = rng.normal(size=(c_out, in_shape[0] // groups, *_pair(kernel)))
    spikes = (rng.random(in_shape) < 0.3).astype(float)
    i, j, w, structure = conv2d(in_shape, c_out, kernel, weight, stride, padding, dilation, groups)
    want = torch.nn.functional.conv2d(
        torch.tensor(spikes[None]),
        torch.tensor(weight),
        stride=_pair(stride),
        padding=_pair(padding),
        dilation=_pair(dilation),
        groups=groups,
    )[0].numpy()
    assert want.shape == structure.out_shape
    got = _weighted_sums(i, j, w, spikes.ravel(), structure.n_out)
    np.testing.assert_allclose(got, want.ravel(), rtol=1e-12, atol=1e-12)


def test_same_spikes_give_the_loops_weighted_sums() -> None:
    """Without torch: the weighted sums against a direct cross-correlation in numpy."""
    rng = np.random.default_rng(3)
    in_shape, weight = (3, 10, 12), rng.normal(size=(4, 3, 3, 3))
    spikes = (rng.random(in_shape) < 0.3).astype(float)
    i, j, w, structure = conv2d(in_shape, 4, 3, weight, stride=2, padding=1)
    padded = np.pad(spikes, ((0, 0), (1, 1), (1, 1)))
    want = np.zeros(structure.out_shape)
    for co, y, x in np.ndindex(*structure.out_shape):
        want[co, y, x] = np.sum(padded[:, 2 * y : 2 * y + 3, 2 * x : 2 * x + 3] * weight[co])
    got = _weighted_sums(i, j, w, spikes.ravel(), structure.n_out)
    np.testing.assert_allclose(got, want.ravel(), rtol=1e-12, atol=1e-12)


def test_scalar_weight_float32_and_the_projection_takes_the_structure() -> None:
    i, j, w, structure = conv2d((2, 6, 6), 3, 3, 0.5)
    assert np.all(w == 0.5) and len(i) == 3 * 2 * 9 * 16
    _, _, w32, _ = conv2d((2, 6, 6), 3, 3, np.ones((3, 2, 3, 3), np.float32))
    assert w32.dtype == np.float32
    network = Network(
        (Population("out", structure.n_out),),
        (Projection("x", "out", i, j, w, structure=structure),),
        (PoissonInput("x", structure.n_in, 10.0),),
    )
    assert network.projections[0].structure.n_weights == 3 * 2 * 9


def test_sum_pool2d_is_a_depthwise_conv_of_ones() -> None:
    i, j, w, structure = sum_pool2d((3, 4, 6), 2)
    assert structure.out_shape == (3, 2, 3) and structure.groups == 3
    assert structure.stride == (2, 2) and np.all(w == 1.0)
    np.testing.assert_array_equal(np.bincount(j), 4)  # each output sums a 2 x 2 window
    np.testing.assert_array_equal(np.bincount(i), 1)  # each input reaches one output
    assert np.all(i // 24 == j // 6)  # within its channel


@pytest.mark.parametrize(
    "args, message",
    [
        (((2, 5, 5), 4, 3, np.ones((4, 1, 3, 3))), r"weights have shape \(4, 1, 3, 3\)"),
        (((2, 2, 2), 4, 3), r"has no output position \(output 0 x 0\)"),
        (((2, 5, 5), 3, 3, 1.0, 1, 0, 1, 2), r"groups=2 must divide both channel counts"),
        (((2, 5, 5), 4, 3, np.full((4, 2, 3, 3), np.nan)), "NaN or infinite"),
        (((2, 5, 5), 4, 1.5), "kernel must be an int or a pair of ints"),
    ],
)
def test_conv2d_errors_name_the_problem(args, message) -> None:
    with pytest.raises(NetworkError, match=message):
        conv2d(*args)
