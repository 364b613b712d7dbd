"""Brunel (2000) sparsely connected network of excitatory and inhibitory LIF neurons (model A).

N. Brunel, Dynamics of sparsely connected networks of excitatory and inhibitory spiking neurons,
J. Comput. Neurosci. 8:183-208, 2000. Each neuron integrates delta-current synapses,

    tau dV/dt = -V + R I(t),   R I(t) = tau sum_j J_j sum_k delta(t - t_j^k - D),

fires when V reaches theta = 20 mV, is reset to V_r = 10 mV and stays refractory tau_rp = 2 ms
(tau = 20 ms, D = 1.5 ms, J = 0.1 mV; Sec. 2). N_E = 10,000 excitatory and N_I = N_E / 4
inhibitory neurons; every neuron receives C_E = eps N_E excitatory (J) and C_I = C_E / 4
inhibitory (-g J) synapses from randomly chosen neurons (eps = 0.1: a fixed in-degree, as in
the paper; autapses allowed), and C_ext = C_E synapses (J) from independent external Poisson
neurons at rate nu_ext.
The external rate is given relative to nu_thr = theta / (J C_E tau) = 10 Hz, the rate that
brings the mean input to threshold.

``regime`` picks the four points of the paper's Fig. 8 (g, nu_ext / nu_thr), which are also the
presets of Brian2's ``brunel_hakim`` / ``brunel`` examples:

========  ===  ==============  =====================================================
regime    g    nu_ext/nu_thr   activity (Fig. 8)
========  ===  ==============  =====================================================
SR        3    2               synchronous regular: neurons fire regularly, in phase
SIfast    6    4               synchronous irregular, fast global oscillation
AI        5    2               asynchronous irregular (stationary global activity)
SIslow    4.5  0.9             synchronous irregular, slow global oscillation
========  ===  ==============  =====================================================

The external input reaches a chip as spikes: one source can fire at most once per step, so each
neuron gets ``ceil(C_E nu_ext / max_source_rate_hz)`` independent Poisson sources of equal rate
and weight J: the same mean as C_E sources at nu_ext, and a variance lower by the per-step
spike probability (a source fires at most once per step: Bernoulli, not Poisson, counts), 10 %
at the default 100 Hz and 1 ms steps (50 % at 500 Hz, which would damp the fluctuation-driven
regimes). These are counted as ``input_event`` and ``synaptic_event``.

``scale`` multiplies N_E and N_I and keeps C_E and C_I (the in-degree, hence the dynamics), as
the other bundled models do. A known simplification, shared with Brian2's examples: a spike
arriving during the refractory period still moves V (the equation is frozen, the jump is not).

Parameters
----------
regime : str
    ``'SR'``, ``'SIfast'``, ``'AI'`` (default) or ``'SIslow'`` (Fig. 8).
scale : float
    Multiplies the number of neurons (default 1.0: 12,500 neurons, 15.6 million recurrent
    synapses); must be >= 0.1 so that C_E = 1,000 excitatory sources exist.
max_source_rate_hz : float
    Highest rate of one external Poisson source (default 100 Hz: a spike in at most one in ten
    of the 1 ms steps of Loihi or TrueNorth; 200 sources per neuron in AI).
seed : int
    Seed of the connectivity and the initial membrane potentials.
"""

from __future__ import annotations

import math

import numpy as np

from neuroemu.errors import ModelError
from neuroemu.network.connectivity import (
    all_to_all,
    fixed_indegree,
    require_memory,
    scaled_probability,
)
from neuroemu.network.network import Network, PoissonInput, Population, Projection

REFERENCE = "Brunel 2000, J. Comput. Neurosci. 8:183 (model A, Fig. 8)"
# Sizes at the default parameters (scale 1, regime AI), for `neuroemu models list`: neurons,
# recurrent synapses N (C_E + C_I), plus one synapse per external source.
N_NEURONS = 12_500
N_SYNAPSES = 12_500 * 1_250 + 12_500 * 200

# Brunel 2000, Sec. 2 and Fig. 8 caption.
N_E_FULL = 10_000
GAMMA = 0.25  # N_I / N_E and C_I / C_E
EPSILON = 0.1  # C_E / N_E
J_MV = 0.1
THETA_MV = 20.0
V_RESET_MV = 10.0
TAU_MS = 20.0
TAU_RP_MS = 2.0
DELAY_MS = 1.5
# Fig. 8: (g, nu_ext / nu_thr) of panels A-D.
REGIMES = {"SR": (3.0, 2.0), "SIfast": (6.0, 4.0), "AI": (5.0, 2.0), "SIslow": (4.5, 0.9)}


def nu_thr_hz() -> float:
    """External rate that brings the mean input to threshold: theta / (J C_E tau) (Sec. 2)."""
    c_e = EPSILON * N_E_FULL
    return THETA_MV / (J_MV * c_e * TAU_MS * 1e-3)


def build(
    regime: str = "AI",
    scale: float = 1.0,
    max_source_rate_hz: float = 100.0,
    seed: int = 1,
) -> Network:
    """Build Brunel's model A in one of the Fig. 8 regimes (see the module docstring)."""
    if regime not in REGIMES:
        raise ModelError(f"parameter regime must be one of {sorted(REGIMES)}, got {regime!r}")
    if not (math.isfinite(max_source_rate_hz) and max_source_rate_hz > 0):
        raise ModelError(f"parameter max_source_rate_hz must be > 0, got {max_source_rate_hz!r}")
    g, nu_ratio = REGIMES[regime]
    prob = scaled_probability(EPSILON, scale)
    n_exc = max(1, round(N_E_FULL * scale))
    n_inh = max(1, round(GAMMA * N_E_FULL * scale))
    # In-degrees of the full model, kept at every scale: C_E = eps N_E, C_I = gamma C_E.
    c_e = min(n_exc, round(prob * n_exc))
    c_i = min(n_inh, round(GAMMA * c_e))
    n = n_exc + n_inh
    nu_ext_hz = nu_ratio * nu_thr_hz()
    per_neuron = math.ceil(c_e * nu_ext_hz / max_source_rate_hz)
    # fixed_indegree draws int64 indices (16 bytes per synapse) and the Network keeps int32
    # indices and float64 weights (16 more).
    require_memory(n * (c_e + c_i + per_neuron) * 32.0, f"the brunel model at scale {scale:g}")
    rng = np.random.default_rng(seed)
    populations = tuple(
        Population(
            name,
            size,
            "lif",
            parameters={
                "tau_m_ms": TAU_MS,
                "v_rest_mV": 0.0,
                "v_th_mV": THETA_MV,
                "v_reset_mV": V_RESET_MV,
                "refractory_ms": TAU_RP_MS,
            },
            # Uniform below threshold, so the run does not start with one synchronous volley.
            initial={"v_mV": rng.uniform(0.0, THETA_MV, size)},
        )
        for name, size in (("exc", n_exc), ("inh", n_inh))
    )
    external = PoissonInput("ext", n * per_neuron, c_e * nu_ext_hz / per_neuron)
    projections = []
    for pre, k, target, weight in (("exc", c_e, "exc", J_MV), ("inh", c_i, "inh", g * J_MV)):
        for post, size in (("exc", n_exc), ("inh", n_inh)):
            # Autapses allowed, multapses not (NEST's fixed_indegree in its brunel example
            # allows both; the paper says only "randomly chosen").
            n_pre = len_of(pre, n_exc, n_inh)
            if k == n_pre:  # scale 0.1: every neuron is a source (resampling would not end)
                i, j = all_to_all(n_pre, size)
            else:
                i, j = fixed_indegree(n_pre, size, k, rng)
            projections.append(Projection(pre, post, i, j, weight, DELAY_MS, target=target))
    # Source s of the external input drives neuron s // per_neuron, exc first, then inh.
    sources = np.arange(n * per_neuron, dtype=np.int64)
    targets = sources // per_neuron
    for post, start, size in (("exc", 0, n_exc), ("inh", n_exc, n_inh)):
        mine = (targets >= start) & (targets < start + size)
        projections.append(
            Projection(
                "ext", post, sources[mine], targets[mine] - start, J_MV, DELAY_MS, target="exc"
            )
        )
    return Network(populations, tuple(projections), (external,), name=f"brunel_{regime}")


def len_of(pre: str, n_exc: int, n_inh: int) -> int:
    """Size of the presynaptic population ``pre``."""
    return n_exc if pre == "exc" else n_inh
