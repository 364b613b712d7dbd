"""Vogels-Abbott COBA benchmark (Brette et al. 2007, benchmark 1): 4,000 conductance-based LIF
neurons (80 % excitatory, 20 % inhibitory), 2 % random connectivity, self-sustained activity.

Parameters
----------
scale : float
    Multiplies the number of neurons; the connection probability is divided by it, so every
    neuron keeps about 80 inputs (default 1.0: 4,000 neurons, ~320,000 synapses).
p : float
    Connection probability at scale 1 (default 0.02).
we, wi : float
    Excitatory and inhibitory weights in units of the leak conductance (0.6 and 6.7).
delay_ms : float
    Homogeneous synaptic delay (default 0).
seed : int
    Seed of the connectivity and initial values.
"""

from __future__ import annotations

import numpy as np

from neuroemu.network.connectivity import fixed_probability, require_memory, scaled_probability
from neuroemu.network.network import Network, Population, Projection

REFERENCE = "Brette et al. 2007, J. Comput. Neurosci. 23:349 (benchmark 1)"
# Sizes at the default parameters, for `neuroemu models list` (synapses: the expected count).
N_NEURONS = 4_000
N_SYNAPSES = 320_000


def build(
    scale: float = 1.0,
    p: float = 0.02,
    we: float = 0.6,
    wi: float = 6.7,
    delay_ms: float = 0.0,
    seed: int = 1,
) -> Network:
    """Build the COBA network (see the module docstring for the parameters)."""
    prob = scaled_probability(p, scale)
    # Neurons' initial values and the expected synapses, before anything is allocated.
    require_memory(4000 * scale * (8 + 16 * 4000 * p), f"the coba model at scale {scale:g}")
    rng = np.random.default_rng(seed)
    n_exc = max(1, round(3200 * scale))
    n_inh = max(1, round(800 * scale))
    populations = []
    for name, size in (("exc", n_exc), ("inh", n_inh)):
        populations.append(
            Population(
                name,
                size,
                "coba_lif",
                initial={
                    "v_mV": -60.0 + 10.0 * rng.random(size),
                    "ge_1": np.abs(rng.normal(4.0, 1.5, size)) / 10.0,
                    "gi_1": np.abs(rng.normal(20.0, 12.0, size)) / 10.0,
                },
            )
        )
    sizes = {"exc": n_exc, "inh": n_inh}
    projections = []
    for pre, target, weight in (("exc", "exc", we), ("inh", "inh", wi)):
        for post in ("exc", "inh"):
            i, j = fixed_probability(sizes[pre], sizes[post], prob, rng)
            projections.append(
                Projection(pre, post, i, j, weight, delay_ms=delay_ms, target=target)
            )
    return Network(tuple(populations), tuple(projections), name="coba")
