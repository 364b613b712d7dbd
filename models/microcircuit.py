"""Potjans & Diesmann (2014) cortical microcircuit: 77,169 current-based LIF neurons in eight
populations (L2/3, L4, L5, L6; excitatory and inhibitory), about 0.3e9 synapses at full scale.

The parameters are the published ones (Potjans & Diesmann 2014, Cereb. Cortex 24:785, Tables 4-5;
as in NEST's ``pynest/examples/Potjans_2014/network_params.py``): population sizes, the 8 x 8
connection-probability table, K_ext background in-degrees at 8 Hz, PSP 0.15 mV (87.8 pA with
C_m 250 pF, tau_m 10 ms, tau_syn 0.5 ms), relative weight s.d. 0.1, g = -4, L4E -> L23E doubled,
delays 1.5 ms (excitatory) and 0.75 ms (inhibitory). Neurons are the library model ``pd14_lif``
(NEST's ``iaf_psc_exp``).

Connectivity follows the published rule: the total number of synapses of each projection is
``log(1 - C) / log(1 - 1 / (N_pre N_post))`` and each synapse joins a uniformly drawn pre and post
neuron (multapses and autapses allowed, NEST's ``fixed_total_number``). Synapses are generated
sorted by presynaptic neuron, which is the same distribution and gives Brian2 a better memory
access pattern. Weights are float32 (4 bytes per synapse instead of 8; the Network keeps them).

Choices, each a parameter, and what was measured with them (1 s at dt 0.1 ms, cpp_standalone):

- ``delays='distributed'`` (default): per-synapse delays as published, normal with relative s.d.
  0.5 around 1.5 ms (excitatory) and 0.75 ms (inhibitory), redrawn below 0.1 ms (NEST's
  ``normal_clipped``), float32 in the Network. ``delays='homogeneous'`` uses the mean delay of
  each projection and saves memory (4 bytes per synapse in the Network, 8 in the binary), but
  it destabilises the full-in-degree network: at scale 0.2 with ``k_scale=1`` (full
  in-degrees) it fired at 27 Hz in L2/3E and 59 Hz in L5E against 1.5 and 9.8 Hz with
  distributed delays (published: 1.0 and 8.1 Hz). With scaled in-degrees (``k_scale`` <= 0.5)
  the DC compensation hides the difference. The full-scale model with distributed delays runs
  1 s on cpp_standalone in 15 GiB at peak (benchmarks/README.md).
- ``background='noise'`` (default): the K_ext x 8 Hz Poisson background is replaced by its
  diffusion approximation, an Ornstein-Uhlenbeck current with the same mean
  ``K_ext * 8 Hz * w_ext * tau_syn`` and the same variance ``K_ext * 8 Hz * w_ext^2 * tau_syn / 2``
  and correlation time tau_syn (model ``pd14_lif_ou``, built here from the library's ``pd14_lif``;
  integrated with Euler-Maruyama, since Brian2's exact integrator takes no noise). It keeps the
  published firing rates (about 1-9 Hz by population) at one Gaussian draw per neuron and step
  and no synapses. The background therefore adds no events to the counts: a chip would generate
  it on-core; the number of synaptic events the published Poisson background would add is
  :func:`background_events_per_s` (about 1.26e9 per second at full scale), reported apart.
- ``background='dc'``: the mean current only (the DC option of the NEST example). Without the
  background's fluctuations the rates drop (to about 0.4-1 Hz at scale 0.05).
- ``background='poisson'`` adds real Poisson sources (``PoissonInput`` groups with one synapse
  each onto one neuron), counted as ``input_event`` and ``synaptic_event``: a chip source can
  emit at most one spike per step, so each neuron gets ``ceil(K_ext * 8 Hz / bg_source_rate_hz)``
  sources of equal rate (mean input exact, variance lower by at most the per-step spike
  probability, 10 % at 1 kHz and dt 0.1 ms). At full scale that is about 1.3e9 background spikes
  per second of biological time, all held in spike monitors: feasible only at small scales.
  ``background='none'`` drops the background (the network is then silent).

Scaling follows the NEST example: ``scale`` multiplies the neuron numbers, ``k_scale`` (default
``scale``) the in-degrees; weights are divided by ``sqrt(k_scale)`` and a DC current keeps each
population's mean input, computed from the full-scale mean rates, so the rates stay close to the
full model's.

Parameters
----------
scale : float
    Multiplies the number of neurons of every population (default 1.0: 77,169 neurons).
k_scale : float or None
    Multiplies the in-degrees (default: ``scale``; synapses then scale as ``scale * k_scale``).
seed : int
    Seed of the connectivity, weights, delays and initial membrane potentials.
background : str
    ``'noise'`` (default), ``'dc'``, ``'poisson'`` or ``'none'`` (see above).
delays : str
    ``'distributed'`` (default) or ``'homogeneous'`` (see above).
bg_source_rate_hz : float
    Highest rate of one Poisson background source (``background='poisson'`` only; default 1000).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from neuroemu.network.network import Network, PoissonInput, Population, Projection
from neuroemu.network.neuron_models import NEURON_MODELS

REFERENCE = "Potjans & Diesmann 2014, Cereb. Cortex 24:785"
# Sizes at full scale, for `neuroemu models list` (synapse_numbers_full().sum()).
N_NEURONS = 77_169
N_SYNAPSES = 298_880_968

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
# Connection probabilities, [target, source], in the order of POPULATIONS (PD14 Table 5).
CONN_PROBS = np.array(
    [
        [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
        [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
        [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
        [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
        [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
        [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
        [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
        [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443],
    ]
)
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
# Mean rates of the full-scale model (NEST example), used only for the DC compensation of scaling.
FULL_MEAN_RATES_HZ = np.array([0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523])
BG_RATE_HZ = 8.0
PSP_MV = 0.15
PSP_REL_SD = 0.1
G = -4.0
DELAY_EXC_MS, DELAY_INH_MS, DELAY_REL_SD = 1.5, 0.75, 0.5
MIN_DELAY_MS = 0.1
V0_MEAN_MV, V0_SD_MV = -58.0, 10.0
C_M_PF, TAU_M_MS, TAU_SYN_MS = 250.0, 10.0, 0.5


# pd14_lif with the background as an OU current around I_dc (diffusion approximation).
PD14_LIF_OU = dataclasses.replace(
    NEURON_MODELS["pd14_lif"],
    name="pd14_lif_ou",
    description=(
        "pd14_lif driven by an Ornstein-Uhlenbeck current I_bg (mean I_dc, s.d. sigma_bg, "
        "correlation time tau_syn): the diffusion approximation of a Poisson background."
    ),
    equations=(
        "dv/dt = -(v - E_l) / tau_m + (I_syn + I_bg) / C_m : volt (unless refractory)\n"
        "dI_syn/dt = -I_syn / tau_syn : amp\n"
        "dI_bg/dt = (I_dc - I_bg) / tau_syn + sigma_bg * sqrt(2 / tau_syn) * xi : amp"
    ),
    method="euler",
    parameters={**NEURON_MODELS["pd14_lif"].parameters, "sigma_bg_pA": 0.0},
    # Euler updates: v 6 flops, I_syn 2, I_bg 5 plus one Gaussian draw (counted as 4), threshold
    # and refractory tests 2.
    flops_per_update=19,
    state_units={"v": "mV", "I_syn": "pA", "I_bg": "pA"},
)


def psc_from_psp(psp_mv: float = PSP_MV) -> float:
    """Current amplitude (pA) whose exponential PSC gives a PSP peak of ``psp_mv`` (87.8 pA)."""
    ratio = TAU_M_MS / TAU_SYN_MS
    peak = (
        TAU_M_MS
        * TAU_SYN_MS
        / (TAU_SYN_MS - TAU_M_MS)
        * (
            ratio ** (-TAU_M_MS / (TAU_M_MS - TAU_SYN_MS))
            - ratio ** (-TAU_SYN_MS / (TAU_M_MS - TAU_SYN_MS))
        )
        / C_M_PF
    )
    return psp_mv / peak


def synapse_numbers_full() -> np.ndarray:
    """Published total synapse count of each projection at full scale, ``[target, source]``."""
    product = np.outer(N_FULL, N_FULL).astype(float)
    return np.log(1.0 - CONN_PROBS) / np.log((product - 1.0) / product)


def weight_matrix_pa() -> np.ndarray:
    """Signed mean weight of each projection (pA), ``[target, source]``; L4E -> L23E doubled."""
    w = psc_from_psp()
    matrix = np.empty((8, 8))
    matrix[:, 0::2] = w
    matrix[:, 1::2] = G * w
    matrix[0, 2] = 2.0 * w
    return matrix


def background_events_per_s(scale: float = 1.0, k_scale: float | None = None) -> float:
    """Synaptic events per second of the published Poisson background (K_ext x 8 Hz x N)."""
    k_scale = scale if k_scale is None else k_scale
    sizes = np.maximum(1, np.round(N_FULL * scale)).astype(int)
    return float(np.sum(sizes * K_EXT * k_scale * BG_RATE_HZ))


def _positive_normal(
    rng: np.random.Generator, mean: float, rel_sd: float, size: int, low: float
) -> np.ndarray:
    """float32 normal(mean, rel_sd * |mean|) redrawn until > low (NEST's normal_clipped)."""
    values = (mean + rel_sd * mean * rng.standard_normal(size, dtype=np.float32)).astype(np.float32)
    bad = np.flatnonzero(values <= low)
    while len(bad):
        values[bad] = mean + rel_sd * mean * rng.standard_normal(len(bad), dtype=np.float32)
        bad = bad[values[bad] <= low]
    return values


def build(
    scale: float = 1.0,
    k_scale: float | None = None,
    seed: int = 1,
    background: str = "noise",
    delays: str = "distributed",
    bg_source_rate_hz: float = 1000.0,
) -> Network:
    """Build the microcircuit (see the module docstring for the parameters)."""
    if background not in ("noise", "dc", "poisson", "none"):
        raise ValueError(
            f"background must be 'noise', 'dc', 'poisson' or 'none', got {background!r}"
        )
    if delays not in ("homogeneous", "distributed"):
        raise ValueError(f"delays must be 'homogeneous' or 'distributed', got {delays!r}")
    # k_scale may arrive as text from the CLI (its default, None, gives no type to convert to)
    k_scale = scale if k_scale in (None, "", "None") else float(k_scale)
    if scale <= 0 or k_scale <= 0:
        raise ValueError("scale and k_scale must be > 0")
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, np.round(N_FULL * scale)).astype(int)
    in_degree_full = synapse_numbers_full() / N_FULL[:, None]
    n_synapses = np.round(in_degree_full * k_scale * sizes[:, None]).astype(np.int64)
    weights = weight_matrix_pa() / np.sqrt(k_scale)
    w_ext = psc_from_psp() / np.sqrt(k_scale)

    # Mean input lost by scaling the in-degrees, restored as DC (NEST example, adj_w_ext_to_K).
    recurrent = np.sum(weight_matrix_pa() * in_degree_full * FULL_MEAN_RATES_HZ, axis=1)
    external = psc_from_psp() * K_EXT * BG_RATE_HZ
    lost = recurrent + (external if background == "poisson" else 0.0)
    i_dc = 1e-3 * TAU_SYN_MS * (1.0 - np.sqrt(k_scale)) * lost
    if background in ("dc", "noise"):
        i_dc = i_dc + 1e-3 * TAU_SYN_MS * BG_RATE_HZ * K_EXT * psc_from_psp()
    # s.d. of the full-scale Poisson background current (shot noise filtered by tau_syn)
    sigma_bg = psc_from_psp() * np.sqrt(K_EXT * BG_RATE_HZ * 1e-3 * TAU_SYN_MS / 2.0)

    populations = []
    for index, name in enumerate(POPULATIONS):
        size = int(sizes[index])
        v0 = V0_MEAN_MV + V0_SD_MV * rng.standard_normal(size)
        parameters = {"I_dc_pA": float(i_dc[index])}
        initial: dict[str, float | np.ndarray] = {"v_mV": v0}
        model = NEURON_MODELS["pd14_lif"]
        if background == "noise":
            model = PD14_LIF_OU
            parameters["sigma_bg_pA"] = float(sigma_bg[index])
            initial["I_bg_pA"] = float(i_dc[index])
        populations.append(Population(name, size, model, parameters=parameters, initial=initial))

    projections = []
    for target_index, post in enumerate(POPULATIONS):
        for source_index, pre in enumerate(POPULATIONS):
            n = int(n_synapses[target_index, source_index])
            if n == 0:
                continue
            n_pre, n_post = int(sizes[source_index]), int(sizes[target_index])
            # Uniform pairs with replacement, generated in presynaptic order.
            per_pre = rng.multinomial(n, np.full(n_pre, 1.0 / n_pre))
            i = np.repeat(np.arange(n_pre, dtype=np.int32), per_pre)
            j = rng.integers(0, n_post, size=n, dtype=np.int32)
            mean = float(weights[target_index, source_index])
            w = _positive_normal(rng, abs(mean), PSP_REL_SD, n, 0.0)
            mean_delay = DELAY_EXC_MS if mean > 0 else DELAY_INH_MS
            if delays == "homogeneous":
                delay: float | np.ndarray = mean_delay
            else:
                delay = _positive_normal(rng, mean_delay, DELAY_REL_SD, n, MIN_DELAY_MS)
            projections.append(
                Projection(pre, post, i, j, w, delay_ms=delay, target="exc" if mean > 0 else "inh")
            )

    inputs = []
    if background == "poisson":
        for index, post in enumerate(POPULATIONS):
            size = int(sizes[index])
            total_hz = K_EXT[index] * k_scale * BG_RATE_HZ
            per_neuron = max(1, int(np.ceil(total_hz / bg_source_rate_hz)))
            name = f"bg_{post}"
            inputs.append(PoissonInput(name, size * per_neuron, rate_hz=total_hz / per_neuron))
            projections.append(
                Projection(
                    name,
                    post,
                    np.arange(size * per_neuron, dtype=np.int32),
                    np.repeat(np.arange(size, dtype=np.int32), per_neuron),
                    np.full(size * per_neuron, w_ext, dtype=np.float32),
                    delay_ms=DELAY_EXC_MS,
                    target="exc",
                )
            )
    return Network(tuple(populations), tuple(projections), tuple(inputs), name="microcircuit")
