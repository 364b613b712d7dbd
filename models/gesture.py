"""A DVS-gesture classifier as SANA-FE simulates it on Loihi: an input layer, four 3x3
convolutions and a dense readout of 11 classes (18,678 neurons, 3.56 M synapses, 42 cores).

Source: SLAM-Lab/SANA-FE ``tutorial/tutorial_5_dvs.ipynb`` at commit 8951ab0 (the network
SANA-FE's papers evaluate: J. Boyle et al., "SANA-FE: Simulating Advanced Neuromorphic
Architectures for Fast Exploration", IEEE TCAD 2025; its ``scripts/tcad2025/dvs_gesture.py``
runs the same layers as converted by the SNN toolbox from a DVS128 Gesture classifier,
Amir et al. 2017, CVPR). The tutorial builds, from ``sanafe/examples/dvs_challenge.npz``::

    layer   shape           kernel  stride  neurons  synapses   SANA-FE's Loihi cores
    input   (1, 32, 32)     -       -         1,024          -   1
    conv1   (16, 15, 15)    3x3     2         3,600     32,400   4
    conv2   (32, 13, 13)    3x3     1         5,408    778,752   16
    conv3   (64, 11, 11)    3x3     1         7,744  2,230,272   16
    conv4   (11, 9, 9)      3x3     1           891    513,216   4
    dense   11              dense               11      9,801   1

and maps it with ``layer_mapped_core_counts = [1, 4, 16, 16, 4, 1]``: 42 cores. Thresholds per
layer (the file's ``thresholds``): 255, 420, 351, 276, 371, 341, with reset to 0 and a leak of
4095/4096 per step (``snn/dvs.yaml``: Loihi cannot integrate without any leak); here ``if``
neurons (no leak) with those thresholds in mV and weights in mV. SANA-FE's weights are GPL-3
data and are not copied: each layer's kernel is drawn (seeded) as integers from a normal
distribution with that layer's mean and standard deviation in ``dvs_challenge.npz`` (conv1
2.4 +- 78.8, conv2 -1.4 +- 57.0, conv3 0.0 +- 35.3, conv4 -2.3 +- 44.5, dense -7.8 +- 35.2),
clipped to Loihi's 8-bit range [-256, 254] (even steps). So the network has the published
sizes and fan-ins, not a trained classifier's function. Neurons are numbered channel-major
(``c * H * W + y * W + x``); every convolution carries its
:class:`~neuroemu.network.structure.ConvStructure`.

Input: the input layer is 1,024 neurons on the chip (SANA-FE drives them by biases, one DVS
frame each); here each fires when a Poisson event source of its own does (weight above its
threshold: 1,024 one-to-one synapses more than SANA-FE's network). The events: a seeded
``active_fraction`` of the pixels fire at ``rate_hz / active_fraction``, the rest are silent,
so the mean is ``rate_hz``. Defaults from the frame in ``dvs_challenge.npz``: 294 of 1,024
pixels (28.7 %) have a bias; bias / threshold 255 is a pixel's spikes per step, mean 0.0304
(30.4 Hz at Loihi's 1 ms step), 0.106 (106 Hz) over the active pixels.

Inference: SANA-FE's DVS gesture script runs 128 steps per frame without resetting the neurons
(``Network.inference``: 128 steps, no reset).

Activity (measured: loihi, 8-bit weights, numpy, 128 steps, 10 s, 0.34 GB): input 0.030,
conv1-4 0.009, 0.007, 0.010, 0.008 spikes per neuron and step, the dense layer silent; 0.0098
per neuron and step over the network, against 0.0196 in SANA-FE's tutorial with the trained
weights (365,277 neurons fired in 1,000 steps).

Parameters
----------
rate_hz : float
    Mean event rate per input pixel (default 30.4 Hz).
active_fraction : float
    Fraction of pixels that fire, in (0, 1] (default 0.287).
steps_per_frame : int
    Steps of one inference (default 128).
seed : int
    Seed of the kernels and of which pixels are active.
"""

from __future__ import annotations

import numpy as np

from neuroemu.errors import ModelError
from neuroemu.network.connectivity import all_to_all, conv2d, one_to_one
from neuroemu.network.inference import InferenceSchedule
from neuroemu.network.network import Network, PoissonInput, Population, Projection

REFERENCE = (
    "SLAM-Lab/SANA-FE tutorial/tutorial_5_dvs.ipynb (commit 8951ab0); Boyle et al., "
    "IEEE TCAD 2025; DVS128 Gesture, Amir et al. 2017"
)
# Sizes at the default parameters, for `neuroemu models list` (the 1,024 input relays included).
N_NEURONS = 18_678
N_SYNAPSES = 3_565_465

INPUT_SHAPE = (1, 32, 32)
#: (name, output channels, stride) of the four 3x3 convolutions.
CONVS = (("conv1", 16, 2), ("conv2", 32, 1), ("conv3", 64, 1), ("conv4", 11, 1))
N_CLASSES = 11
#: Thresholds of input, conv1-4 and dense (dvs_challenge.npz 'thresholds').
THRESHOLDS_MV = (255.0, 420.0, 351.0, 276.0, 371.0, 341.0)
#: (mean, standard deviation) of each layer's weights in dvs_challenge.npz.
WEIGHT_STATS = {
    "conv1": (2.35, 78.78),
    "conv2": (-1.38, 57.00),
    "conv3": (-0.02, 35.29),
    "conv4": (-2.31, 44.47),
    "dense": (-7.83, 35.23),
}
SANAFE_CORES = {"input": 1, "conv1": 4, "conv2": 16, "conv3": 16, "conv4": 4, "dense": 1}


def _weights(rng: np.random.Generator, name: str, shape: tuple[int, ...]) -> np.ndarray:
    mean, std = WEIGHT_STATS[name]
    drawn = 2.0 * np.round(rng.normal(mean, std, shape) / 2.0)  # Loihi's 8-bit weights: even
    return np.clip(drawn, -256.0, 254.0)


def build(
    rate_hz: float = 30.4, active_fraction: float = 0.287, steps_per_frame: int = 128, seed: int = 1
) -> Network:
    """Build the DVS gesture network (see the module docstring for the parameters)."""
    if not 0.0 < active_fraction <= 1.0:
        raise ModelError(f"parameter active_fraction must lie in (0, 1], got {active_fraction}")
    if rate_hz < 0 or rate_hz / active_fraction > 1000.0:
        raise ModelError(
            f"parameter rate_hz = {rate_hz} over active_fraction = {active_fraction} gives "
            f"{rate_hz / active_fraction:g} Hz per active pixel; expected 0 to 1000 Hz (at "
            f"most one event per 1 ms step)"
        )
    rng = np.random.default_rng(seed)
    n_pixels = int(np.prod(INPUT_SHAPE))
    rates = np.zeros(n_pixels)
    active = rng.choice(n_pixels, size=max(1, round(active_fraction * n_pixels)), replace=False)
    rates[active] = rate_hz / active_fraction
    populations = [Population("input", n_pixels, "if", {"v_th_mV": THRESHOLDS_MV[0]})]
    i, j = one_to_one(n_pixels)
    relay = 2.0 * THRESHOLDS_MV[0]  # one event, one spike
    projections = [Projection("events", "input", i, j, relay, name="events_to_input")]
    previous, shape = "input", INPUT_SHAPE
    for k, (name, channels, stride) in enumerate(CONVS, start=1):
        kernel = _weights(rng, name, (channels, shape[0], 3, 3))
        i, j, w, structure = conv2d(shape, channels, 3, kernel, stride)
        projections.append(Projection(previous, name, i, j, w, structure=structure))
        populations.append(Population(name, structure.n_out, "if", {"v_th_mV": THRESHOLDS_MV[k]}))
        previous, shape = name, structure.out_shape
    n_in = int(np.prod(shape))
    i, j = all_to_all(n_in, N_CLASSES)
    w = _weights(rng, "dense", (n_in, N_CLASSES)).ravel()
    projections.append(Projection(previous, "dense", i, j, w))
    populations.append(Population("dense", N_CLASSES, "if", {"v_th_mV": THRESHOLDS_MV[-1]}))
    return Network(
        tuple(populations),
        tuple(projections),
        (PoissonInput("events", n_pixels, rates),),
        name="gesture",
        inference_ms=float(steps_per_frame),
        inference=InferenceSchedule(int(steps_per_frame), reset=()),
    )
