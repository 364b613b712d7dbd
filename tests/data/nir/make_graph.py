"""Writes graph.nir and inputs.npz, the stored NIR test data (and the README's example).

Run from this folder: python make_graph.py. A small convolutional network written by the nir
package itself, so the tests read a file as another NIR tool leaves it.
"""

import nir
import numpy as np

rng = np.random.default_rng(0)
graph = nir.NIRGraph(
    nodes={
        "input": nir.Input(input_type={"input": np.array([1, 8, 8])}),
        "conv": nir.Conv2d(
            input_shape=(8, 8),
            weight=rng.normal(0, 1, (4, 1, 3, 3)),
            stride=2,
            padding=1,
            dilation=1,
            groups=1,
            bias=np.zeros(4),
        ),
        "lif": nir.LIF(
            tau=np.full((4, 4, 4), 0.01),
            r=np.full((4, 4, 4), 10.0),
            v_leak=np.zeros((4, 4, 4)),
            v_threshold=np.ones((4, 4, 4)),
        ),
        "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0),
        "fc": nir.Affine(weight=rng.normal(0, 0.5, (10, 64)), bias=np.zeros(10)),
        "out": nir.LIF(
            tau=np.full(10, 0.02), r=np.full(10, 20.0), v_leak=np.zeros(10), v_threshold=np.ones(10)
        ),
        "output": nir.Output(output_type={"output": np.array([10])}),
    },
    edges=[
        ("input", "conv"),
        ("conv", "lif"),
        ("lif", "flat"),
        ("flat", "fc"),
        ("fc", "out"),
        ("out", "output"),
    ],
)
nir.write("graph.nir", graph)  # nir 1.0.8
spikes = (rng.random((100, 1, 8, 8)) < 0.2).astype(np.uint8)  # (n_steps, *input shape)
np.savez("inputs.npz", input=spikes, dt_ms=1.0)
