"""PilotNet as a spiking network: lava-dl's PilotNet LIF, the steering regressor Intel runs on
one Loihi 2 chip (158,509 neurons, 10.7 M non-zero synapses in five convolutions and four
dense layers).

Source: lava-nc/lava-dl ``tutorials/lava/lib/dl/netx/pilotnet_snn/`` at commit d825ac5
(``network.net``, the trained network as netx reads it, and ``benchmark.ipynb``, whose stored
output prints the layer table below and the Loihi 2 compiler's placement: 74 cores on one
chip). PilotNet itself is Bojarski et al. 2016, "End to End Learning for Self-Driving Cars",
arXiv:1604.07316; lava-dl's version is narrower (24-36-48-64-64 channels, 100-50-10-1 dense).
Layers, as ``(channels, height, width)``, with netx's kernel, stride and padding as
``(rows, columns)``::

    layer   shape            kernel  stride  padding   neurons   synapses (all taps)
    input   (3, 66, 200)     -       -       -          39,600   -
    conv1   (24, 32, 99)     3x3     (2, 2)  (0, 0)     76,032    2,052,864
    conv2   (36, 15, 49)     3x3     (2, 2)  (0, 0)     26,460    5,715,360
    conv3   (48, 7, 24)      3x3     (2, 2)  (0, 0)      8,064    2,612,736
    conv4   (64, 4, 22)      3x3     (2, 1)  (1, 0)      5,632    2,027,520
    conv5   (64, 2, 20)      3x3     (1, 1)  (0, 0)      2,560    1,474,560
    fc1     100              dense 2560 -> 100             100      256,000
    fc2     50               dense                          50        5,000
    fc3     10               dense                          10          500
    fc4     1                dense                           1           10

(``network.net`` stores shapes as (C, H, W) and strides and paddings as (rows, columns); netx
prints them reversed, as (x, y).) conv5's output is flattened channel-major into fc1, as netx
does (``transpose([2, 1, 0]).flatten()`` of its (x, y, c) layout). The weights are the trained
8-bit ones of ``network.net`` (``models/data/pilotnet.npz``; BSD 3-Clause, Intel 2021, see
``models/data/pilotnet_LICENSE.txt``). Of the 14.14 M synapses the taps give, 10.69 M have a
non-zero weight; the Loihi compiler does not store a zero weight of a dense or sparse matrix,
so by default the zero-weight synapses are left out (``keep_zero_weights`` keeps them). Every
convolution's projection carries its :class:`~neuroemu.network.structure.ConvStructure`, so a
chip that stores kernels sizes them from the kernel.

Neurons (netx's Loihi CUBA neuron, ``network.net``'s parameters; netx maps ``iDecay`` to
``du = iDecay - 1`` and sets ``bias_exp`` 6): the current holds only the step's input
(``iDecay`` 4096 of 4096), the voltage keeps 3/4 per step (``vDecay`` 1024),
``v = 0.75 v + 64 (sum of weights + bias)``, a spike when ``v > vThMant x 64`` = 1,600, reset to
0. In units of a weight that is ``v = 0.75 v + sum w + b``, threshold 25: NIR's LIF under
neuroemu's forward Euler on a 1 ms step (``nir_lif``: ``v += dt / tau (v_leak - v + r (S +
bias))``) with ``tau`` = 4 ms, ``r`` = 4, ``v_leak`` = 0, ``v_threshold`` = 25, ``v_reset`` =
0 and the trained bias per channel; a spike reaches the next layer one step later, as on
Loihi. The output (fc4) integrates without leak (``vDecay`` 0) and never spikes (threshold
131,071): ``nir_if`` with ``r`` = 1 / dt. The model means this at dt = 1 ms (run it on a chip
with that step, as loihi2). Checked against lava-dl's stored run
(``models/data/pilotnet_conv1_spikes.npz``, a crop of
``tests/lava/lib/dl/netx/gts/pilotnet_lif/input.npy`` and ``conv-0.npy``): these conv1
synapses and biases under Loihi's fixed-point update, fed the stored input spikes, give the
stored conv1 spikes exactly over steps 0-16 (tests/test_conv_models.py), so the kernels'
orientation, the channel order and the bias scale are lava-dl's. Simulated by neuroemu on
loihi2 (8-bit weights, numpy, 32 steps of the synthetic frame: 20 s, 0.73 GB), the layers fire
at 0.091, 0.094, 0.120, 0.119, 0.108 (conv1-5), 0.148, 0.049, 0.028 (fc1-3) spikes per neuron
and step, against lava-dl's stored run (a real frame) 0.092, 0.100, 0.120, 0.108, 0.110,
0.094, 0.041, 0.033.

Input: the input layer is neurons on the chip, as in netx (the frame is written into their
biases, ``net.in_layer.neuron.bias = image``), so it is placed like the others and has no
synapses. Here a synthetic frame: input neuron k fires regularly at ``rate_k`` spikes per step
(an ``if`` neuron with a bias and subtractive reset), ``rate_k`` uniform in
[2 r - 1, 1] for ``input_rate`` r >= 0.5 (in [0, 2 r] below), mean r. The default r = 0.887 is
the mean over 24 steps of lava-dl's stored PilotNet input spikes
(``tests/lava/lib/dl/netx/gts/pilotnet_lif/input.npy``, one frame: median pixel 1 spike per
step, 10 % below 0.46; that run resets every 16 steps, so its rates above are over 24 steps
with one reset).

Inference: 16 steps per frame; every layer is reset every 16 steps, layer k (input = 0) at
steps 3 + k + 16 n (``hdf5.Network(reset_interval=16, reset_offset=3)`` in
``benchmark.ipynb``; netx adds 1 because hardware time starts at 1, and 1 per layer), set as
``Network.inference``.

Parameters
----------
width : int
    Input width (default 200; at least 47). The convolutions keep their trained kernels; at
    other widths fc1's trained weights are cropped or repeated along x to fit, so a narrower
    network is the same architecture at a smaller size (for tests), not a trained one.
input_rate : float
    Mean spikes per step of an input neuron, in [0, 1] (default 0.887).
keep_zero_weights : bool
    Keep the synapses whose trained weight is zero (default False: 10,685,862 synapses; True:
    14,144,550).
seed : int
    Seed of the synthetic frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuroemu.errors import ModelError
from neuroemu.network.connectivity import all_to_all, conv2d
from neuroemu.network.inference import InferenceSchedule
from neuroemu.network.network import Network, Population, Projection
from neuroemu.network.structure import ConvStructure

REFERENCE = (
    "lava-nc/lava-dl tutorials/lava/lib/dl/netx/pilotnet_snn (network.net, benchmark.ipynb), "
    "commit d825ac5; Bojarski et al. 2016, arXiv:1604.07316"
)
# Sizes at the default parameters, for `neuroemu models list` (zero-weight synapses left out).
N_NEURONS = 158_509
N_SYNAPSES = 10_685_862

DATA = Path(__file__).resolve().parent / "data" / "pilotnet.npz"
#: (name, output channels, stride, padding) of the five convolutions, all 3x3, (rows, columns).
CONVS = (
    ("conv1", 24, (2, 2), (0, 0)),
    ("conv2", 36, (2, 2), (0, 0)),
    ("conv3", 48, (2, 2), (0, 0)),
    ("conv4", 64, (2, 1), (1, 0)),
    ("conv5", 64, (1, 1), (0, 0)),
)
DENSE = (("fc1", 100), ("fc2", 50), ("fc3", 10), ("fc4", 1))
INPUT_SHAPE = (3, 66, 200)
STEPS, RESET_OFFSET = 16, 3  # netx reset_interval and reset_offset (benchmark.ipynb)
DECAY = 0.75  # 1 - vDecay / 4096 per step
THRESHOLD = 25.0  # vThMant, in weight units
DT_S = 1e-3  # the step the parameters are written for
#: v += dt / tau (v_leak - v + r (S + bias)) = 0.75 v + S + bias at dt = 1 ms
LIF = {"tau_s": DT_S / (1 - DECAY), "r": 1 / (1 - DECAY), "v_leak": 0.0,
       "v_threshold": THRESHOLD, "v_reset": 0.0}  # fmt: skip
OUTPUT = {"r": 1 / DT_S, "v_threshold": 131071.0, "v_reset": 0.0}  # netx's fc4: never fires


def load_weights() -> dict[str, np.ndarray]:
    """The trained weights and biases (``conv1_weight`` ... ``fc4_bias``) as floats."""
    if not DATA.exists():
        raise ModelError(f"{DATA}: the PilotNet weights are missing (they ship with the models)")
    with np.load(DATA) as data:
        return {key: data[key].astype(float) for key in data.files if key != "source"}


def frame_rates(input_rate: float, seed: int) -> np.ndarray:
    """A synthetic frame: spikes per step of each input neuron, uniform with mean
    ``input_rate`` over [2 r - 1, 1] (r >= 0.5) or [0, 2 r]."""
    if not 0.0 <= input_rate <= 1.0:
        raise ModelError(
            f"parameter input_rate must lie in [0, 1] spikes per step, got {input_rate}"
        )
    low, high = (2 * input_rate - 1, 1.0) if input_rate >= 0.5 else (0.0, 2 * input_rate)
    return np.random.default_rng(seed).uniform(low, high, int(np.prod(INPUT_SHAPE)))


def _fit_width(weight: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """fc1's trained (100, 64 x 2 x 20) weights on conv5's ``shape``: cropped or repeated in x."""
    trained = weight.reshape(len(weight), 64, 2, 20)
    columns = np.resize(np.arange(20), shape[2])
    return trained[..., columns].reshape(len(weight), -1)


def build(
    width: int = 200, input_rate: float = 0.887, keep_zero_weights: bool = False, seed: int = 1
) -> Network:
    """Build PilotNet LIF (see the module docstring for the parameters)."""
    if width < 47:
        raise ModelError(f"parameter width must be >= 47 (conv5 needs a column), got {width}")
    weights = load_weights()
    in_shape = (INPUT_SHAPE[0], INPUT_SHAPE[1], int(width))
    rates = frame_rates(input_rate, seed)[: int(np.prod(in_shape))]
    c_m_pf = 250.0  # the if model's default; I_bias dt / C_m = rate x threshold per step
    populations = [
        Population(
            "input",
            int(np.prod(in_shape)),
            "if",
            {"v_th_mV": 1.0 - 1e-9, "reset_subtract": 1.0, "I_bias_pA": rates * c_m_pf},
        )
    ]
    projections = []
    previous, shape = "input", in_shape
    for name, channels, stride, padding in CONVS:
        kernel = weights[f"{name}_weight"]
        i, j, w, structure = conv2d(shape, channels, 3, kernel, stride, padding)
        projections.append(_projection(previous, name, i, j, w, structure, keep_zero_weights))
        bias = np.repeat(weights[f"{name}_bias"], structure.n_out // channels)
        populations.append(_lif(name, structure.n_out, bias))
        previous, shape = name, structure.out_shape
    n_in = int(np.prod(shape))
    for name, size in DENSE:
        weight = weights[f"{name}_weight"]
        if name == "fc1":
            weight = _fit_width(weight, shape)
        i, j = all_to_all(n_in, size)
        projections.append(
            _projection(previous, name, i, j, weight.T.ravel(), None, keep_zero_weights)
        )
        if name == "fc4":
            populations.append(Population(name, size, "nir_if", OUTPUT))
        else:
            populations.append(_lif(name, size, weights[f"{name}_bias"]))
        previous, n_in = name, size
    names = [p.name for p in populations]
    schedule = InferenceSchedule(
        STEPS, reset=None, offsets={n: RESET_OFFSET + k for k, n in enumerate(names)}
    )
    return Network(
        tuple(populations),
        tuple(projections),
        name="pilotnet",
        inference_ms=float(STEPS),
        inference=schedule,
    )


def _lif(name: str, size: int, bias: np.ndarray) -> Population:
    # netx's bias_exp 6 puts a bias in the units of a weight: it is added as one every step
    return Population(name, size, "nir_lif", {**LIF, "bias": bias})


def _projection(
    pre: str,
    post: str,
    i: np.ndarray,
    j: np.ndarray,
    weight: np.ndarray,
    structure: ConvStructure | None,
    keep_zero_weights: bool,
) -> Projection:
    if not keep_zero_weights:
        kept = weight != 0
        i, j, weight = i[kept], j[kept], weight[kept]
    return Projection(pre, post, i, j, weight.astype(np.float32), target="in", structure=structure)
