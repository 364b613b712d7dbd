"""Synfire chain (Diesmann, Gewaltig & Aertsen 1999): a pulse packet travelling along groups.

M. Diesmann, M.-O. Gewaltig and A. Aertsen, Stable propagation of synchronous spiking in cortical
neural networks, Nature 402:529-533, 1999. ``n_groups`` groups of ``group_size`` neurons (100 in
the paper); every neuron of group k projects to every neuron of group k + 1. A pulse packet of
``packet_spikes`` spikes (one per input source, times normal with s.d. ``packet_sigma_ms`` around
``packet_at_ms``) drives the first group; a packet with enough spikes and little enough jitter
propagates down the chain, synchronising as it goes (the paper's attractor), a weak one dies out.

Neurons are LIF with the paper's constants, as Brian2's ``synfire`` example writes them
(V_r = -70 mV, theta = -55 mV, tau_m = 10 ms, refractory 1 ms). The paper's background input and
alpha-shaped PSCs (tau 0.325 ms) are replaced by what a chip with a 1 ms step can run, keeping
the membrane statistics they produce: delta synapses of 0.14 mV, the peak of the paper's EPSP
(Brian2's weight 4.86 mV on the second-order PSC gives a 0.137 mV peak), and a diffusive
background with the mean and s.d. of the example's (mean V_r + 25.27 mV/ms x 0.325 ms =
-61.8 mV; s.d. 2.8 mV, computed from its noise amplitude 39.24 mV/sqrt(ms) through the PSC and
membrane filters; the paper states fluctuations of a few mV and about 2 Hz spontaneous firing):

    tau_m dV/dt = (V_r + mu_bg - V) + sigma_bg sqrt(2 tau_m) xi(t),

integrated with Euler-Maruyama (stable at 1 ms since dt / tau_m = 0.1; a 0.325 ms PSC is not).
Measured at loihi's 1 ms step (numpy, seed 1): 3.4 Hz spontaneous firing; an 85-spike packet
reaches group 9 with 97 of 100 neurons firing within +-2 ms, 6 ms per group; a 30-spike packet
dies in group 1.

Parameters
----------
n_groups : int
    Number of groups in the chain (default 10).
group_size : int
    Neurons per group (default 100, as in the paper).
packet_spikes : int
    Spikes in the input pulse packet (default 85, Brian2's example; the paper's Fig. 2 spans
    a = 45-100).
packet_sigma_ms : float
    Temporal jitter (s.d.) of the packet (default 1 ms).
packet_at_ms : float
    Mean time of the packet (default 20 ms).
delay_ms : float
    Delay between groups (default 5 ms, as in Brian 1's synfire example).
seed : int
    Seed of the packet's spike times and the initial membrane potentials.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from neuroemu.errors import ModelError
from neuroemu.network.connectivity import all_to_all, require_memory
from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput
from neuroemu.network.neuron_models import NEURON_MODELS

REFERENCE = "Diesmann, Gewaltig & Aertsen 1999, Nature 402:529"
# Sizes at the default parameters, for `neuroemu models list`.
N_NEURONS = 10 * 100
N_SYNAPSES = 9 * 100 * 100 + 85 * 100

V_REST_MV = -70.0  # V_r (Brian2 synfire example)
V_TH_MV = -55.0
TAU_M_MS = 10.0
REFRACTORY_MS = 1.0
PSP_MV = 0.14  # EPSP peak (Diesmann et al. 1999; 0.137 mV from Brian2's alpha PSC)
MU_BG_MV = 25.27 * 0.325  # background mean: drift x tau_psp of Brian2's example
SIGMA_BG_MV = 2.8  # background s.d. of V, computed from that example's noise amplitude

# lif plus a white-noise background (Euler-Maruyama; euler: v 5 flops, one Gaussian draw
# counted as 4, noise scaling 2, threshold 1, refractory test 1 = 13).
SYNFIRE_LIF = dataclasses.replace(
    NEURON_MODELS["lif"],
    name="synfire_lif",
    description=(
        "lif with a diffusive background: tau_m dv/dt = v_rest + v_bias - v + "
        "sigma_bg sqrt(2 tau_m) xi (stationary s.d. sigma_bg)."
    ),
    equations=(
        "dv/dt = (v_rest + v_bias - v) / tau_m + sigma_bg * sqrt(2 / tau_m) * xi"
        " : volt (unless refractory)"
    ),
    method="euler",
    parameters={
        **NEURON_MODELS["lif"].parameters,
        "tau_m_ms": TAU_M_MS,
        "v_rest_mV": V_REST_MV,
        "v_bias_mV": MU_BG_MV,
        "v_th_mV": V_TH_MV,
        "v_reset_mV": V_REST_MV,
        "refractory_ms": REFRACTORY_MS,
        "sigma_bg_mV": SIGMA_BG_MV,
    },
    flops_per_update=13,
)


def build(
    n_groups: int = 10,
    group_size: int = 100,
    packet_spikes: int = 85,
    packet_sigma_ms: float = 1.0,
    packet_at_ms: float = 20.0,
    delay_ms: float = 5.0,
    seed: int = 1,
) -> Network:
    """Build the synfire chain (see the module docstring for the parameters)."""
    if n_groups < 1 or group_size < 1 or packet_spikes < 1:
        raise ModelError(
            f"parameters n_groups, group_size and packet_spikes must be >= 1, got "
            f"{n_groups}, {group_size}, {packet_spikes}"
        )
    if packet_sigma_ms < 0 or packet_at_ms < 0:
        raise ModelError("parameters packet_sigma_ms and packet_at_ms must be >= 0")
    require_memory(
        (n_groups - 1) * group_size**2 * 32.0, f"a synfire chain of {n_groups} x {group_size}"
    )
    rng = np.random.default_rng(seed)
    n = n_groups * group_size
    chain = Population(
        "chain",
        n,
        SYNFIRE_LIF,
        # The background's stationary distribution, below threshold (no start-up volley).
        initial={"v_mV": np.minimum(rng.normal(V_REST_MV + MU_BG_MV, SIGMA_BG_MV, n), V_TH_MV)},
    )
    times = np.clip(rng.normal(packet_at_ms, packet_sigma_ms, packet_spikes), 0.0, None)
    packet = SpikeTimesInput("packet", packet_spikes, np.arange(packet_spikes), times)
    # Group k -> group k + 1, all to all: one block per pair of neighbours.
    pre, post = all_to_all(group_size, group_size)
    i = np.concatenate([pre + k * group_size for k in range(n_groups - 1)])
    j = np.concatenate([post + (k + 1) * group_size for k in range(n_groups - 1)])
    projections = [Projection("packet", "chain", *all_to_all(packet_spikes, group_size), PSP_MV)]
    if n_groups > 1:
        projections.append(Projection("chain", "chain", i, j, PSP_MV, delay_ms, name="links"))
    return Network((chain,), tuple(projections), (packet,), name="synfire")


def group_of(neuron: np.ndarray, group_size: int = 100) -> np.ndarray:
    """The group of each neuron index of population ``chain``."""
    return np.asarray(neuron) // group_size
