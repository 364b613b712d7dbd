"""Brian2's CUBA example (Brette et al. 2007, benchmark 2): 4,000 current-based LIF neurons with
exponential synapses (the neuron model Loihi implements), 80 % excitatory, 2 % connectivity.

Parameters
----------
scale : float
    Multiplies the number of neurons; the connection probability is divided by it (default 1.0).
p : float
    Connection probability at scale 1 (default 0.02).
we_mV, wi_mV : float
    Excitatory and inhibitory synaptic weights in mV (1.62 and 9.0, as in Brian2's example).
delay_ms : float
    Homogeneous synaptic delay (default 1 ms).
seed : int
    Seed of the connectivity and initial values.
"""

from __future__ import annotations

import numpy as np

from neuroemu.network.connectivity import fixed_probability, require_memory, scaled_probability
from neuroemu.network.network import Network, Population, Projection

REFERENCE = "Brette et al. 2007, J. Comput. Neurosci. 23:349 (benchmark 2)"
# Sizes at the default parameters, for `neuroemu models list` (synapses: the expected count).
N_NEURONS = 4_000
N_SYNAPSES = 320_000


def build(
    scale: float = 1.0,
    p: float = 0.02,
    we_mV: float = 1.62,
    wi_mV: float = 9.0,
    delay_ms: float = 1.0,
    seed: int = 1,
) -> Network:
    """Build the CUBA network (see the module docstring for the parameters)."""
    prob = scaled_probability(p, scale)
    # Neurons' initial values and the expected synapses, before anything is allocated.
    require_memory(4000 * scale * (8 + 16 * 4000 * p), f"the cuba model at scale {scale:g}")
    rng = np.random.default_rng(seed)
    n_exc = max(1, round(3200 * scale))
    n_inh = max(1, round(800 * scale))
    populations = [
        Population(name, size, "cuba_lif", initial={"v_mV": -60.0 + 10.0 * rng.random(size)})
        for name, size in (("exc", n_exc), ("inh", n_inh))
    ]
    sizes = {"exc": n_exc, "inh": n_inh}
    projections = []
    for pre, target, weight in (("exc", "exc", we_mV), ("inh", "inh", wi_mV)):
        for post in ("exc", "inh"):
            i, j = fixed_probability(sizes[pre], sizes[post], prob, rng)
            projections.append(
                Projection(pre, post, i, j, weight, delay_ms=delay_ms, target=target)
            )
    return Network(tuple(populations), tuple(projections), name="cuba")
