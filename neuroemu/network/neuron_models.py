"""The small library of named neuron models, written as Brian2-style equation strings.

A model is data (equations, threshold, reset, parameters with units in their names), not code, so
that :mod:`neuroemu.network.network` stays free of Brian2 and a chip descriptor can list the models
its hardware implements. Parameter names end in their unit (``tau_m_ms``, ``v_rest_mV``); the engine
strips the suffix and attaches the unit, so the equations refer to ``tau_m`` and ``v_rest``.

Every model declares its synaptic *targets*: what an incoming spike does to the postsynaptic
neuron, as a Brian2 ``on_pre`` statement in terms of the synaptic weight ``w``. Weights are given
in the unit named by the target (``mV``, ``nS``, ``pA`` or ``1`` for dimensionless).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from neuroemu.units import dimension_unit_name, split_unit


@dataclass(frozen=True)
class SynapticTarget:
    """What a spike arriving through a synapse does: ``on_pre`` statement and the weight's unit."""

    on_pre: str
    weight_unit: str


@dataclass(frozen=True)
class NeuronModel:
    """A spiking neuron model in Brian2 equation syntax.

    Attributes
    ----------
    name : str
        Library name (``lif``) or ``custom``.
    equations : str
        Brian2 equations; parameters appear without their unit suffix.
    threshold, reset : str
        Brian2 threshold condition and reset statements.
    refractory : str
        Brian2 refractoriness expression (``'refractory'`` uses the ``refractory_ms`` parameter),
        or ``''`` for none. Time is counted in whole steps, as chips count it: a neuron that
        spikes at step n integrates again from step n + K, K = floor(refractory_ms / dt_ms +
        0.001) (Brian2's ``timestep``; the 0.001 keeps 2.0 / 1.0 from rounding down to 1). So
        ``refractory_ms`` = 2 at dt 1 ms keeps the neuron silent for one step after its spike
        step, and at dt 0.3 ms K is 6, 1.8 ms. The step-based ``if`` model states K directly as
        ``refractory_steps``.
    method : str
        Brian2 integration method.
    parameters : dict
        Default parameter values, names ending in their unit.
    targets : dict
        Synaptic target name -> :class:`SynapticTarget`.
    flops_per_update : int
        Floating-point operations of one neuron update (used by the GPU model), counted from the
        integrated equations by hand and stated in the docstring of each library entry.
    """

    name: str
    equations: str
    threshold: str
    reset: str
    refractory: str
    method: str
    parameters: dict[str, float]
    targets: dict[str, SynapticTarget]
    flops_per_update: int
    description: str = ""
    state_units: dict[str, str] = field(default_factory=dict)

    def with_parameters(self, **overrides: float) -> NeuronModel:
        """A copy with some parameters changed; unknown names raise ``KeyError`` upstream."""
        return NeuronModel(
            name=self.name,
            equations=self.equations,
            threshold=self.threshold,
            reset=self.reset,
            refractory=self.refractory,
            method=self.method,
            parameters={**self.parameters, **overrides},
            targets=self.targets,
            flops_per_update=self.flops_per_update,
            description=self.description,
            state_units=self.state_units,
        )

    def per_neuron(self, names: Iterable[str]) -> NeuronModel:
        """A copy where the parameters ``names`` are constant per-neuron state variables.

        Brian2 reads a scalar parameter from the group's namespace, but a value per neuron must
        live in the group: ``tau_m_ms`` becomes the declaration ``tau_m : second (constant)``,
        removed from :attr:`parameters` and added to :attr:`state_units`, and the engine sets
        it like an initial value. The equations do not change, since they already name
        ``tau_m``. ``refractory_ms`` becomes the variable ``t_refractory`` (Brian2 reserves the
        name ``refractory``) and the refractoriness expression reads it.
        """
        names = list(names)
        if not names:
            return self
        declarations, units, refractory = [], dict(self.state_units), self.refractory
        for key in names:
            base, suffix = split_unit(state_name(key))
            declarations.append(f"{base} : {dimension_unit_name(suffix)} (constant)")
            units[base] = suffix
            if key == "refractory_ms" and refractory == "refractory":
                refractory = "t_refractory"
        return NeuronModel(
            name=self.name,
            equations="\n".join([self.equations, *declarations]),
            threshold=self.threshold,
            reset=self.reset,
            refractory=refractory,
            method=self.method,
            parameters={k: v for k, v in self.parameters.items() if k not in names},
            targets=self.targets,
            flops_per_update=self.flops_per_update,
            description=self.description,
            state_units=units,
        )


def state_name(parameter: str) -> str:
    """The state-variable name (with unit) a per-neuron parameter takes in a Brian2 group."""
    return "t_refractory_ms" if parameter == "refractory_ms" else parameter


LIF = NeuronModel(
    name="lif",
    description="Leaky integrate-and-fire with delta synapses: tau_m dv/dt = v_rest + v_bias - v.",
    equations="dv/dt = (v_rest + v_bias - v) / tau_m : volt (unless refractory)",
    threshold="v > v_th",
    reset="v = v_reset",
    refractory="refractory",
    method="exact",
    parameters={
        "tau_m_ms": 20.0,
        "v_rest_mV": -65.0,
        "v_bias_mV": 0.0,
        "v_th_mV": -50.0,
        "v_reset_mV": -65.0,
        "refractory_ms": 2.0,
    },
    targets={
        "exc": SynapticTarget("v_post += w", "mV"),
        "inh": SynapticTarget("v_post -= w", "mV"),
    },
    flops_per_update=5,
    state_units={"v": "mV"},
)

CUBA_LIF = NeuronModel(
    name="cuba_lif",
    description=(
        "Current-based LIF with exponential synapses (Brian2's CUBA example; the Loihi neuron): "
        "tau_m dv/dt = v_rest + v_bias - v + ge - gi, tau_e dge/dt = -ge, tau_i dgi/dt = -gi "
        "(v_bias: a bias current times the membrane resistance, Loihi's bias)."
    ),
    equations=(
        "dv/dt = (v_rest + v_bias - v + ge - gi) / tau_m : volt (unless refractory)\n"
        "dge/dt = -ge / tau_e : volt\n"
        "dgi/dt = -gi / tau_i : volt"
    ),
    threshold="v > v_th",
    reset="v = v_reset",
    refractory="refractory",
    method="exact",
    parameters={
        "tau_m_ms": 20.0,
        "tau_e_ms": 5.0,
        "tau_i_ms": 10.0,
        "v_rest_mV": -49.0,
        "v_bias_mV": 0.0,
        "v_th_mV": -50.0,
        "v_reset_mV": -60.0,
        "refractory_ms": 5.0,
    },
    targets={
        "exc": SynapticTarget("ge_post += w", "mV"),
        "inh": SynapticTarget("gi_post += w", "mV"),
    },
    flops_per_update=11,
    state_units={"v": "mV", "ge": "mV", "gi": "mV"},
)

COBA_LIF = NeuronModel(
    name="coba_lif",
    description=(
        "Conductance-based LIF (Vogels & Abbott 2005; Brette et al. 2007 benchmark 1): "
        "tau_m dv/dt = ge (E_e - v) + gi (E_i - v) - (v - E_l) + v_bias, conductances in units "
        "of the leak conductance, decaying with tau_e and tau_i; v_bias a bias current times the "
        "leak resistance."
    ),
    equations=(
        "dv/dt = (ge * (E_e - v) + gi * (E_i - v) - (v - E_l) + v_bias) / tau_m"
        " : volt (unless refractory)\n"
        "dge/dt = -ge / tau_e : 1\n"
        "dgi/dt = -gi / tau_i : 1"
    ),
    threshold="v > v_th",
    reset="v = v_reset",
    refractory="refractory",
    method="euler",
    parameters={
        "tau_m_ms": 20.0,
        "tau_e_ms": 5.0,
        "tau_i_ms": 10.0,
        "E_l_mV": -60.0,
        "E_e_mV": 0.0,
        "E_i_mV": -80.0,
        "v_bias_mV": 0.0,
        "v_th_mV": -50.0,
        "v_reset_mV": -60.0,
        "refractory_ms": 5.0,
    },
    targets={
        "exc": SynapticTarget("ge_post += w", "1"),
        "inh": SynapticTarget("gi_post += w", "1"),
    },
    flops_per_update=16,
    state_units={"v": "mV", "ge": "1", "gi": "1"},
)

ADEX = NeuronModel(
    name="adex",
    description=(
        "Adaptive exponential integrate-and-fire (Brette & Gerstner 2005) with exponential "
        "current synapses: C dv/dt = -g_l (v - E_l) + g_l D_T exp((v - V_T)/D_T) - w_ad "
        "+ I_e - I_i + I_bias."
    ),
    equations=(
        "dv/dt = (-g_l * (v - E_l) + g_l * D_T * exp((v - V_T) / D_T) - w_ad + I_e - I_i"
        " + I_bias) / C_m"
        " : volt (unless refractory)\n"
        "dw_ad/dt = (a * (v - E_l) - w_ad) / tau_w : amp\n"
        "dI_e/dt = -I_e / tau_e : amp\n"
        "dI_i/dt = -I_i / tau_i : amp"
    ),
    threshold="v > v_cut",
    reset="v = v_reset; w_ad += b",
    refractory="refractory",
    method="euler",
    parameters={
        "C_m_pF": 281.0,
        "g_l_nS": 30.0,
        "E_l_mV": -70.6,
        "V_T_mV": -50.4,
        "D_T_mV": 2.0,
        "tau_w_ms": 144.0,
        "a_nS": 4.0,
        "b_pA": 80.5,
        "v_cut_mV": -30.0,
        "v_reset_mV": -70.6,
        "tau_e_ms": 5.0,
        "tau_i_ms": 10.0,
        "refractory_ms": 2.0,
        "I_bias_pA": 0.0,
    },
    targets={
        "exc": SynapticTarget("I_e_post += w", "pA"),
        "inh": SynapticTarget("I_i_post += w", "pA"),
    },
    flops_per_update=30,
    state_units={"v": "mV", "w_ad": "pA", "I_e": "pA", "I_i": "pA"},
)

IZHIKEVICH = NeuronModel(
    name="izhikevich",
    description=(
        "Izhikevich (2003) simple model: dv/dt = 0.04 v^2 + 5 v + 140 - u + I (v in mV, t in ms), "
        "du/dt = a (b v - u); delta synapses on v."
    ),
    equations=(
        "dv/dt = (0.04 * v**2 / mV + 5 * v + 140 * mV - u + I_bias) / ms : volt\n"
        "du/dt = a * (b * v - u) / ms : volt"
    ),
    threshold="v >= v_peak",
    reset="v = c; u += d",
    refractory="",
    method="euler",
    parameters={
        "a_1": 0.02,
        "b_1": 0.2,
        "c_mV": -65.0,
        "d_mV": 8.0,
        "v_peak_mV": 30.0,
        "I_bias_mV": 0.0,
    },
    targets={
        "exc": SynapticTarget("v_post += w", "mV"),
        "inh": SynapticTarget("v_post -= w", "mV"),
    },
    flops_per_update=13,
    state_units={"v": "mV", "u": "mV"},
)

PD14_LIF = NeuronModel(
    name="pd14_lif",
    description=(
        "Current-based LIF with exponential synaptic currents, as in the Potjans & Diesmann (2014) "
        "cortical microcircuit (NEST iaf_psc_exp): C_m dv/dt = -C_m (v - E_l) / tau_m + I_syn + "
        "I_dc, tau_syn dI_syn/dt = -I_syn; one current for both signs (tau_syn_ex = tau_syn_in)."
    ),
    # Update, integrated exactly: v' = a v + b I_syn + c (5 flops), I_syn' = d I_syn (1), threshold
    # compare (1), refractory test (1): 8 flops.
    equations=(
        "dv/dt = -(v - E_l) / tau_m + (I_syn + I_dc) / C_m : volt (unless refractory)\n"
        "dI_syn/dt = -I_syn / tau_syn : amp"
    ),
    threshold="v > v_th",
    reset="v = v_reset",
    refractory="refractory",
    method="exact",
    parameters={
        "C_m_pF": 250.0,
        "tau_m_ms": 10.0,
        "E_l_mV": -65.0,
        "v_th_mV": -50.0,
        "v_reset_mV": -65.0,
        "refractory_ms": 2.0,
        "tau_syn_ms": 0.5,
        "I_dc_pA": 0.0,
    },
    targets={
        "exc": SynapticTarget("I_syn_post += w", "pA"),
        "inh": SynapticTarget("I_syn_post -= w", "pA"),
    },
    flops_per_update=8,
    state_units={"v": "mV", "I_syn": "pA"},
)

# Step-based models. Each step n: the input S summed over the spikes delivered in step n-1 (a
# spike reaches its targets one step after it is emitted, as on chips that pipeline a layer per
# step) is consumed and cleared. ``dS/dt = -S/dt`` under forward Euler is exactly ``S = 0``
# (Brian2 cancels dt symbolically and generates ``_S = 0``), and ``dv/dt = (f - v)/dt`` is
# exactly ``v = f``: this is how a discrete update is written as Brian2 equations.
IF = NeuronModel(
    name="if",
    description=(
        "Integrate-and-fire, step-based as chips count (Loihi, TrueNorth, SpiNNaker2's IF): "
        "v[n+1] = v[n] + I_bias dt / C_m + sum of weights arriving, floored at v_floor when "
        "floor_on = 1; spike when v > v_th; reset to v_reset (reset_subtract = 0) or by "
        "subtracting v_th - v_reset (reset_subtract = 1). After a spike at step n the neuron "
        "integrates again from step n + refractory_steps (1: no refractoriness), so "
        "refractory_steps = k means refractory_ms = k * dt_ms, Brian2's own convention."
    ),
    # v_next (3 flops, dt/C_m folded), floor (2), input clear (1), threshold (1), refractory
    # test (1): 8 flops.
    equations=(
        "dv/dt = (v + I_in + I_bias * dt / C_m"
        " + floor_on * clip(v_floor - v - I_in - I_bias * dt / C_m, 0 * mV, inf * mV) - v) / dt"
        " : volt (unless refractory)\n"
        "dI_in/dt = -I_in / dt : volt"
    ),
    threshold="v > v_th",
    reset="v = v_reset + reset_subtract * (v - v_th)",
    refractory="refractory_steps * dt",
    method="euler",
    parameters={
        "C_m_pF": 250.0,
        "I_bias_pA": 0.0,
        "v_th_mV": 20.0,
        "v_reset_mV": 0.0,
        "reset_subtract": 0.0,
        "floor_on": 0.0,
        "v_floor_mV": 0.0,
        "refractory_steps": 1.0,
    },
    targets={
        "exc": SynapticTarget("I_in_post += w", "mV"),
        "inh": SynapticTarget("I_in_post -= w", "mV"),
    },
    flops_per_update=8,
    state_units={"v": "mV", "I_in": "mV"},
)

# NIR's neuron nodes (nir 1.0), dimensionless as NIR writes them, time constants in seconds.
# Discretisation: forward Euler on the chip's dt, with the input held over one step (a spike
# is a unit pulse one step long), which is what snnTorch, Norse and Lava-dl, NIR's main
# producers, simulate: with r = tau/dt an LIF is then exactly snnTorch's v = beta v + I,
# beta = 1 - dt/tau. The dt is part of the model: snnTorch's export writes its graphs for
# dt = 1e-4 s (tau = dt / (1 - beta), r = tau / dt), so run them at 0.1 ms to reproduce it,
# and at a dt >= tau forward Euler overshoots (1 - dt/tau <= 0). ``bias`` is the bias of the
# Affine node feeding the neuron (a constant input), ``S`` the spike input of the step
# (target ``in``; weights dimensionless).
_NIR_IN = {"in": SynapticTarget("S_post += w", "1")}
_NIR_INPUT = "dS/dt = -S / dt : 1"


def _nir(
    name: str,
    description: str,
    equations: str,
    threshold: str,
    reset: str,
    parameters: dict[str, float],
    flops: int,
    states: tuple[str, ...],
) -> NeuronModel:
    return NeuronModel(
        name=name,
        description=description,
        equations=f"{equations}\n{_NIR_INPUT}",
        threshold=threshold,
        reset=reset,
        refractory="",
        method="euler",
        parameters={**parameters, "bias": 0.0},
        targets=_NIR_IN,
        flops_per_update=flops,
        state_units={state: "1" for state in (*states, "S")},
    )


# flops: LIF v update 6 (+, -, *, +, *, /dt/tau folded), clear 1, threshold 1 = 8.
NIR_LIF = _nir(
    "nir_lif", "NIR LIF: tau dv/dt = (v_leak - v) + r I; spike when v > v_threshold, v = v_reset.",
    "dv/dt = (v_leak - v + r * (S + bias)) / tau : 1", "v > v_threshold", "v = v_reset",
    {"tau_s": 0.01, "r": 1.0, "v_leak": 0.0, "v_threshold": 1.0, "v_reset": 0.0}, 8, ("v",),
)  # fmt: skip
NIR_CUBA_LIF = _nir(
    "nir_cuba_lif",
    "NIR CubaLIF: tau_syn dI/dt = -I + w_in S, tau_mem dv/dt = (v_leak - v) + r I; spike "
    "when v > v_threshold, v = v_reset.",
    "dv/dt = (v_leak - v + r * I) / tau_mem : 1\n"
    "dI/dt = (w_in * (S + bias) - I) / tau_syn : 1",
    "v > v_threshold", "v = v_reset",
    {"tau_syn_s": 0.005, "tau_mem_s": 0.01, "r": 1.0, "v_leak": 0.0, "v_threshold": 1.0,
     "v_reset": 0.0, "w_in": 1.0}, 12, ("v", "I"),
)  # fmt: skip
NIR_IF = _nir(
    "nir_if", "NIR IF: dv/dt = r I; spike when v > v_threshold, v = v_reset.",
    "dv/dt = r * (S + bias) / second : 1", "v > v_threshold", "v = v_reset",
    {"r": 1.0, "v_threshold": 1.0, "v_reset": 0.0}, 5, ("v",),
)  # fmt: skip
NIR_LI = _nir(
    "nir_li", "NIR LI (leaky integrator, no spikes): tau dv/dt = (v_leak - v) + r I.",
    "dv/dt = (v_leak - v + r * (S + bias)) / tau : 1", "False", "",
    {"tau_s": 0.01, "r": 1.0, "v_leak": 0.0}, 7, ("v",),
)  # fmt: skip
NIR_CUBA_LI = _nir(
    "nir_cuba_li",
    "NIR CubaLI (no spikes): tau_syn dI/dt = -I + w_in S, tau_mem dv/dt = (v_leak - v) + r I.",
    "dv/dt = (v_leak - v + r * I) / tau_mem : 1\n"
    "dI/dt = (w_in * (S + bias) - I) / tau_syn : 1",
    "False", "",
    {"tau_syn_s": 0.005, "tau_mem_s": 0.01, "r": 1.0, "v_leak": 0.0, "w_in": 1.0}, 11,
    ("v", "I"),
)  # fmt: skip
NIR_INTEGRATOR = _nir(
    "nir_integrator", "NIR I (integrator, no spikes): dv/dt = r I.",
    "dv/dt = r * (S + bias) / second : 1", "False", "", {"r": 1.0}, 4, ("v",),
)  # fmt: skip
NIR_THRESHOLD = _nir(
    "nir_threshold", "NIR Threshold (stateless): spike when the input I > threshold.",
    "dx/dt = (S + bias - x) / dt : 1", "x > threshold", "", {"threshold": 1.0}, 3, ("x",),
)  # fmt: skip

NIR_MODELS = (NIR_LIF, NIR_CUBA_LIF, NIR_IF, NIR_LI, NIR_CUBA_LI, NIR_INTEGRATOR, NIR_THRESHOLD)

NEURON_MODELS: dict[str, NeuronModel] = {
    model.name: model
    for model in (LIF, CUBA_LIF, COBA_LIF, ADEX, IZHIKEVICH, PD14_LIF, IF, *NIR_MODELS)
}
