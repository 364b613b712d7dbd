"""Spike-timing-dependent plasticity of input synapses (Song, Miller & Abbott 2000).

S. Song, K. D. Miller and L. F. Abbott, Competitive Hebbian learning through spike-timing-
dependent synaptic plasticity, Nat. Neurosci. 3:919-926, 2000. ``n_inputs`` Poisson inputs at
``rate_hz`` excite ``n_out`` conductance-based LIF neurons through plastic synapses; additive
pair-based STDP (potentiation ``a_plus w_max`` per pre-before-post pair, depression
``a_minus w_max`` per post-before-pre pair, exponential windows of 20 ms, weights clipped to
[0, w_max], a_minus / a_plus = 1.05) makes the inputs compete and, over tens of seconds,
drives the weights to a bimodal distribution at 0 and w_max while the output rate settles.
The constants are those of Brian2's example of this paper: 1,000 inputs at 15 Hz, g_max = 0.01
(in units of the leak conductance), tau_m 10 ms, E_l -74 mV, theta -54 mV, V_r -60 mV, E_e 0 mV,
tau_e 5 ms; initial weights uniform in [0, g_max].

The plastic synapses start at a *relay* population, one ``if`` neuron per input that fires one
step after its input (weight above threshold, input cleared every step): a Network accepts STDP
only from a population, whose spikes the engine traces. A chip with on-chip learning keeps the
presynaptic trace per input axon instead (Loihi does), so the relay's neuron updates and its
one synaptic event per input spike are this model's overhead, not the chip's; they show under
population ``relay`` and projection ``inputs_to_relay`` and can be subtracted.

Parameters
----------
n_inputs : int
    Number of Poisson inputs (default 1,000).
n_out : int
    Number of output neurons, each receiving every input (default 10).
rate_hz : float
    Rate of each input (default 15 Hz).
w_max : float
    Largest weight g_max, in units of the leak conductance (default 0.01).
seed : int
    Seed of the initial weights.
"""

from __future__ import annotations

import numpy as np

from neuroemu.errors import ModelError
from neuroemu.network.connectivity import all_to_all, one_to_one
from neuroemu.network.network import STDP, Network, PoissonInput, Population, Projection

REFERENCE = "Song, Miller & Abbott 2000, Nat. Neurosci. 3:919"
# Sizes at the default parameters, for `neuroemu models list`: relay + output neurons; relay
# synapses + plastic synapses.
N_NEURONS = 1_000 + 10
N_SYNAPSES = 1_000 + 1_000 * 10

# Brian2's example of Song et al. 2000 (examples/frompapers/Song_Miller_Abbott_2000.py).
TAU_STDP_MS = 20.0
A_PLUS = 0.01
A_MINUS = 0.0105  # a_plus x 1.05 (tau_pre = tau_post)
OUT_PARAMETERS = {
    "tau_m_ms": 10.0,
    "tau_e_ms": 5.0,
    "E_l_mV": -74.0,
    "E_e_mV": 0.0,
    "v_th_mV": -54.0,
    "v_reset_mV": -60.0,
    "refractory_ms": 0.0,
}
RELAY_WEIGHT_MV = 25.0  # above the if neuron's 20 mV threshold: one spike per input spike


def build(
    n_inputs: int = 1000,
    n_out: int = 10,
    rate_hz: float = 15.0,
    w_max: float = 0.01,
    seed: int = 1,
) -> Network:
    """Build the STDP network (see the module docstring for the parameters)."""
    if n_inputs < 1 or n_out < 1:
        raise ModelError(f"parameters n_inputs and n_out must be >= 1, got {n_inputs}, {n_out}")
    if not (rate_hz >= 0 and w_max > 0):
        raise ModelError(f"parameters rate_hz >= 0 and w_max > 0 expected, got {rate_hz}, {w_max}")
    rng = np.random.default_rng(seed)
    inputs = PoissonInput("inputs", n_inputs, rate_hz)
    relay = Population("relay", n_inputs, "if")
    out = Population("out", n_out, "coba_lif", parameters=OUT_PARAMETERS)
    rule = STDP(TAU_STDP_MS, TAU_STDP_MS, A_PLUS, A_MINUS, w_max)
    i, j = all_to_all(n_inputs, n_out)
    projections = (
        Projection("inputs", "relay", *one_to_one(n_inputs), RELAY_WEIGHT_MV),
        Projection("relay", "out", i, j, rng.uniform(0.0, w_max, len(i)), plasticity=rule),
    )
    return Network((relay, out), projections, (inputs,), name="stdp")
