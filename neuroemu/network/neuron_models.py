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

from dataclasses import dataclass, field


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
        or ``''`` for none.
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
        "tau_m dv/dt = v_rest - v + ge - gi, tau_e dge/dt = -ge, tau_i dgi/dt = -gi."
    ),
    equations=(
        "dv/dt = (v_rest - v + ge - gi) / tau_m : volt (unless refractory)\n"
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
        "tau_m dv/dt = ge (E_e - v) + gi (E_i - v) - (v - E_l), conductances in units of the "
        "leak conductance, decaying with tau_e and tau_i."
    ),
    equations=(
        "dv/dt = (ge * (E_e - v) + gi * (E_i - v) - (v - E_l)) / tau_m : volt (unless refractory)\n"
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
        "+ I_e - I_i."
    ),
    equations=(
        "dv/dt = (-g_l * (v - E_l) + g_l * D_T * exp((v - V_T) / D_T) - w_ad + I_e - I_i) / C_m"
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

NEURON_MODELS: dict[str, NeuronModel] = {
    model.name: model for model in (LIF, CUBA_LIF, COBA_LIF, ADEX, IZHIKEVICH, PD14_LIF)
}
