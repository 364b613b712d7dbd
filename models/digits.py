"""A spiking classifier for 8x8 handwritten digits, trained at build time in NumPy.

Data: the UCI "Optical Recognition of Handwritten Digits" test set as scikit-learn ships it
(``sklearn.datasets.load_digits``: 1,797 images of 8x8 pixels, 0-16, ten classes; E. Alpaydin
and C. Kaynak, 1998, https://doi.org/10.24432/C50P49, licence CC BY 4.0), copied into
``models/data/digits.npz`` (images uint8, labels uint8) so nothing downloads at run time.
A seeded permutation holds out ``n_test`` = 360 images (20 %) for testing.

Training (rate-coded ANN -> SNN conversion, Diehl et al. 2015, IJCNN, "Fast-classifying,
high-accuracy spiking deep networks through weight and threshold balancing"; Rueckauer et al.
2017, Front. Neurosci. 11:682): a 64-``hidden``-10 ReLU perceptron without biases, softmax
cross-entropy, full-batch Adam (lr 0.02, 150 epochs; about 1 s), pixels scaled to [0, 1].
Weights are then normalised layer by layer by the 99.9th percentile of the ReLU activations on
the training set, so a unit firing threshold stands for that activation (Rueckauer's robust
normalisation); test accuracy of the ANN is about 97 %.

Spiking network: ``hidden`` and 10 ``if`` neurons (step-based integrate-and-fire, the Loihi
compartment with no decay): threshold 1 mV (the normalised unit), reset to 0 as Loihi resets,
membrane floored at 0 (Loihi's lower voltage bound). Each image is shown for
``present_steps`` steps as regular spike trains (pixel p in [0, 1] spikes at step n when
floor((n+1) p) > floor(n p): a rate of p spikes per step, deterministic), followed by two
steps in which the last spikes reach the output, then a ``clear`` input spike inhibits every
neuron (weight -1000 mV, floored to 0), so the next image starts from rest: one inference is
``present_steps + 2`` steps. Images follow one another; the run's duration decides how many
are classified (the default 1,000 ms at 1 ms steps: 45). The class is the output neuron with
the most spikes in the inference's window (the first on a tie). The engine quantises the
weights to the chip's precision (Loihi: 8-bit signed, one scale per projection).

The same classifier as a NIR graph (``models/digits.nir``, written by running this file, and
the spikes of the first test image in ``models/digits_spikes.npz``): NIR's ``IF`` nodes with
r = 1 / dt (so one step adds the weight, as ``if`` does; the graph means this at dt = 1 ms),
threshold 1, reset to 0, and the same unquantised weights. A NIR graph is one inference from
rest: NIR has no membrane floor and no clear, so images run one after another in one graph
would share the membranes' (negative) leftovers (measured: 16 % over 50 images), and each
image is a run of its own (:func:`nir_network`).

``Network.readout`` gives the test accuracy over the images the run completed, next to the
energy per inference that ``inference_ms`` lets a report compute. Measured (seed 1, loihi,
8-bit weights, numpy): 95.3 % over all 360 test images (343 right; the ANN: 96.7 %) in a
7,920 ms run that took 6 s; on loihi 12.4 uJ per inference, of which 0.72 uJ are events
(9.6 million synaptic events in all, 27k per image) and the rest the chip's leakage over the
0.11 ms of chip time an image takes.

Parameters
----------
hidden : int
    Hidden neurons (default 64).
present_steps : int
    Steps each image is shown (default 20).
n_images : int
    Test images in the input sequence (default 360: all of them).
dt_ms : float
    The step the spike times are written for (default 1 ms, Loihi's; run on a chip with that
    step).
seed : int
    Seed of the train/test split and the initial weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neuroemu.activity import Activity
from neuroemu.errors import ModelError
from neuroemu.network.connectivity import all_to_all
from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput

REFERENCE = "UCI digits (Alpaydin & Kaynak 1998); ANN->SNN as Rueckauer et al. 2017"
# Sizes at the default parameters, for `neuroemu models list`.
N_NEURONS = 64 + 10
N_SYNAPSES = 64 * 64 + 64 * 10 + 64 + 10

DATA = Path(__file__).resolve().parent / "data" / "digits.npz"
N_TEST = 360  # 20 % of 1,797, held out
EPOCHS, LEARNING_RATE = 150, 0.02  # Adam (Kingma & Ba 2015 defaults for beta1, beta2, eps)
PERCENTILE = 99.9  # Rueckauer et al. 2017, Sec. 2.3: robust normalisation
DRAIN_STEPS = 2  # a spike reaches the next layer one step later: two layers, two steps
CLEAR_MV = -1000.0  # far below any membrane potential; the floor stops it at 0
NEURON = {
    "v_th_mV": 1.0,
    "v_reset_mV": 0.0,
    "reset_subtract": 0.0,
    "floor_on": 1.0,
    "v_floor_mV": 0.0,
}


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 images as ``(n, 64)`` floats in [0, 1] and their labels (0-9)."""
    if not DATA.exists():
        raise ModelError(f"{DATA}: the digits data is missing (it ships with the models)")
    with np.load(DATA) as data:
        return data["images"].astype(float) / 16.0, data["labels"].astype(np.int64)


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and the test images (a seeded permutation)."""
    order = np.random.default_rng(seed).permutation(n)
    return order[N_TEST:], order[:N_TEST]


def train(
    x: np.ndarray, labels: np.ndarray, hidden: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train a 64-``hidden``-10 ReLU perceptron (no biases) by full-batch Adam.

    Returns
    -------
    w1, w2 : array
        ``(64, hidden)`` and ``(hidden, 10)`` weights.
    """
    rng = np.random.default_rng(seed)
    # He initialisation (He et al. 2015) for ReLU layers.
    params = [
        rng.normal(0.0, np.sqrt(2.0 / x.shape[1]), (x.shape[1], hidden)),
        rng.normal(0.0, np.sqrt(2.0 / hidden), (hidden, 10)),
    ]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    target = np.eye(10)[labels]
    for epoch in range(1, EPOCHS + 1):
        h = np.maximum(x @ params[0], 0.0)
        z = h @ params[1]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - target) / len(labels)
        grads = [x.T @ ((dz @ params[1].T) * (h > 0)), h.T @ dz]
        for k, g in enumerate(grads):
            first[k] = beta1 * first[k] + (1 - beta1) * g
            second[k] = beta2 * second[k] + (1 - beta2) * g * g
            step = (first[k] / (1 - beta1**epoch)) / (np.sqrt(second[k] / (1 - beta2**epoch)) + eps)
            params[k] -= LEARNING_RATE * step
    return params[0], params[1]


def normalise(w1: np.ndarray, w2: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale the weights so that a threshold of 1 stands for each layer's robust maximum."""
    h = np.maximum(x @ w1, 0.0)
    lam1 = float(np.percentile(h, PERCENTILE))
    lam2 = float(np.percentile(np.maximum(h @ w2, 0.0), PERCENTILE))
    return w1 / lam1, w2 * lam1 / lam2


def spike_trains(images: np.ndarray, present_steps: int, window_steps: int) -> np.ndarray:
    """``(n_images * window_steps, 64)`` booleans: regular trains of p spikes per step."""
    n = np.arange(present_steps)[:, None, None]
    shown = np.floor((n + 1) * images[None]) > np.floor(n * images[None])  # (steps, img, 64)
    trains = np.zeros((window_steps, len(images), images.shape[1]), dtype=bool)
    trains[:present_steps] = shown
    return trains.transpose(1, 0, 2).reshape(-1, images.shape[1])


def classifier(hidden: int = 64, seed: int = 1) -> dict[str, Any]:
    """Train and normalise; the test images and labels with the weights."""
    x, labels = load_digits()
    train_idx, test_idx = split(len(labels), seed)
    w1, w2 = train(x[train_idx], labels[train_idx], hidden, seed)
    v1, v2 = normalise(w1, w2, x[train_idx])
    return {
        "w1": v1,
        "w2": v2,
        "test_images": x[test_idx],
        "test_labels": labels[test_idx],
        "ann_test_accuracy": float(
            np.mean((np.maximum(x[test_idx] @ w1, 0.0) @ w2).argmax(axis=1) == labels[test_idx])
        ),
    }


def accuracy(
    out_spikes: tuple[np.ndarray, np.ndarray], labels: np.ndarray, window_steps: int, n_steps: int
) -> dict[str, float]:
    """Accuracy over the inferences a run of ``n_steps`` completed.

    ``out_spikes`` is ``(neuron, step)`` of the output population; the class of inference k is
    the neuron with the most spikes in steps ``[k window, (k + 1) window)``.
    """
    done = min(len(labels), n_steps // window_steps)
    if done == 0:
        return {"accuracy": float("nan"), "n_inferences": 0.0}
    neuron, step = out_spikes
    window = np.asarray(step) // window_steps
    keep = window < done
    counts = np.zeros((done, 10), dtype=np.int64)
    np.add.at(counts, (window[keep], np.asarray(neuron)[keep]), 1)
    correct = counts.argmax(axis=1) == labels[:done]
    return {"accuracy": float(np.mean(correct)), "n_inferences": float(done)}


def nir_network(
    hidden: int = 64, present_steps: int = 20, image: int = 0, dt_ms: float = 1.0, seed: int = 1
) -> tuple[Network, np.ndarray, int]:
    """The classifier in NIR's terms (``nir_if`` neurons) for test image ``image``.

    Returns
    -------
    Network, array, int
        The network (exportable with :func:`neuroemu.network.nir_export.export_nir`), the
        ``(present_steps + 2, 64)`` 0/1 pixel spikes of the image, and its label.
    """
    net = classifier(hidden, seed)
    window = present_steps + DRAIN_STEPS
    trains = spike_trains(net["test_images"][image : image + 1], present_steps, window)
    steps, pixels = np.nonzero(trains)
    # NIR IF: dv/dt = r I with a spike a unit pulse one step long: r = 1 / dt adds w per spike.
    neuron = {"r": 1000.0 / dt_ms, "v_threshold": 1.0, "v_reset": 0.0}
    populations = (
        Population("hidden", hidden, "nir_if", parameters=neuron),
        Population("out", 10, "nir_if", parameters=neuron),
    )
    projections = (
        Projection("pixels", "hidden", *all_to_all(64, hidden), net["w1"].ravel(), target="in"),
        Projection("hidden", "out", *all_to_all(hidden, 10), net["w2"].ravel(), target="in"),
    )
    network = Network(
        populations,
        projections,
        (SpikeTimesInput("pixels", 64, pixels, steps * dt_ms),),
        name="digits_nir",
        inference_ms=window * dt_ms,
    )
    return network, trains.astype(np.uint8), int(net["test_labels"][image])


def build(
    hidden: int = 64,
    present_steps: int = 20,
    n_images: int = N_TEST,
    dt_ms: float = 1.0,
    seed: int = 1,
) -> Network:
    """Train, convert and build the spiking classifier (see the module docstring)."""
    if hidden < 1 or present_steps < 1 or not 1 <= n_images <= N_TEST or dt_ms <= 0:
        raise ModelError(
            f"parameters hidden >= 1, present_steps >= 1, 1 <= n_images <= {N_TEST} and "
            f"dt_ms > 0 expected, got {hidden}, {present_steps}, {n_images}, {dt_ms}"
        )
    net = classifier(hidden, seed)
    images, labels = net["test_images"][:n_images], net["test_labels"][:n_images]
    window = present_steps + DRAIN_STEPS
    trains = spike_trains(images, present_steps, window)
    steps, pixels = np.nonzero(trains)
    pixel_input = SpikeTimesInput("pixels", 64, pixels, steps * dt_ms)
    # The clear spike of inference k fires in its last step, so the floor acts on the next step.
    clear_steps = np.arange(n_images) * window + window - 1
    clear = SpikeTimesInput("clear", 1, np.zeros(n_images, np.int64), clear_steps * dt_ms)
    populations = (
        Population("hidden", hidden, "if", parameters=NEURON),
        Population("out", 10, "if", parameters=NEURON),
    )
    i1, j1 = all_to_all(64, hidden)
    i2, j2 = all_to_all(hidden, 10)
    projections = (
        Projection("pixels", "hidden", i1, j1, net["w1"].ravel()),
        Projection("hidden", "out", i2, j2, net["w2"].ravel()),
        Projection("clear", "hidden", *all_to_all(1, hidden), -CLEAR_MV, target="inh"),
        Projection("clear", "out", *all_to_all(1, 10), -CLEAR_MV, target="inh"),
    )

    def readout(activity: Activity) -> dict[str, float]:
        spikes = activity.spikes["out"]
        steps_per_window = max(round(window * dt_ms / activity.dt_ms), 1)
        return accuracy((spikes.neuron, spikes.step), labels, steps_per_window, activity.n_steps)

    return Network(
        populations,
        projections,
        (pixel_input, clear),
        name="digits",
        inference_ms=window * dt_ms,
        readout=readout,
    )


if __name__ == "__main__":  # writes models/digits.nir and models/digits_spikes.npz
    from neuroemu.network.nir_export import export_nir

    nir_net, spikes, _ = nir_network()
    here = Path(__file__).resolve().parent
    export_nir(nir_net, here / "digits.nir")
    np.savez_compressed(here / "digits_spikes.npz", pixels=spikes, dt_ms=1.0)
