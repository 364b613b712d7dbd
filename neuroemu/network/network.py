"""The network a user wants to run, described without Brian2.

A :class:`Network` is populations of neurons, external inputs (Poisson sources, spike-time
arrays) and projections with explicit ``i``, ``j``, ``weight`` and ``delay`` arrays. Connectivity
is generated in numpy (:mod:`neuroemu.network.connectivity`) before any run, so the mapping onto
cores and the exact event accounting know every synapse, whatever simulator executes the network.

Indices in a projection are local to its ``pre`` and ``post`` groups. Global neuron indices (used
by the mapping) number the populations in order; inputs have their own index space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from neuroemu.activity import Activity
from neuroemu.errors import NetworkError
from neuroemu.network.inference import InferenceSchedule
from neuroemu.network.neuron_models import NEURON_MODELS, NeuronModel, state_name
from neuroemu.network.structure import ConvStructure
from neuroemu.units import split_unit


@dataclass(frozen=True, eq=False, init=False)
class Population:
    """A group of identical neurons.

    Parameters
    ----------
    name : str
        Identifier (letters, digits, underscore; also the Brian2 object name).
    size : int
        Number of neurons.
    model : NeuronModel or str
        A :class:`NeuronModel` or the name of a library model (``lif``, ``cuba_lif``, ...); a
        name is resolved on construction, so the attribute is always a :class:`NeuronModel`.
    parameters : dict
        Overrides of the model's parameters, names ending in their unit (``tau_m_ms``): a scalar
        shared by all neurons, or an array of length ``size`` giving each neuron its own value
        (any parameter, including a bias such as ``I_dc_pA`` or ``bias``). A per-neuron
        parameter becomes a constant state variable of the Brian2 group
        (:meth:`NeuronModel.per_neuron`), set like an initial value; populations whose
        per-neuron parameters have the same names still share one group.
    initial : dict
        Initial values of state variables, names ending in their unit (``v_mV``); scalars or
        arrays of length ``size``. After construction it also holds the per-neuron parameters
        under their state-variable names (``tau_m_ms``; ``refractory_ms`` as
        ``t_refractory_ms``), because the engine sets both the same way; where a per-neuron
        parameter is the membrane's resting value (``v_rest``, ``E_l``, ``v_reset``, ``c``) and
        no ``v`` is given, ``v`` starts there, as it does for a scalar.
    on_chip : bool
        False for a host-side population (an input stage or a readout that runs on the host
        computer): simulated like any other, but not placed on the chip; its spikes that reach
        the chip are counted as input events (:meth:`Network.chip_view`).
    """

    name: str
    size: int
    model: NeuronModel
    parameters: dict[str, float | np.ndarray]
    initial: dict[str, float | np.ndarray]
    on_chip: bool

    def __init__(
        self,
        name: str,
        size: int,
        model: NeuronModel | str = "lif",
        parameters: dict[str, float | np.ndarray] | None = None,
        initial: dict[str, float | np.ndarray] | None = None,
        on_chip: bool = True,
    ) -> None:
        # Written out (not generated) so that ``model`` accepts a library model's name while the
        # attribute is typed as the NeuronModel it resolves to.
        _check_name(name, "population")
        if not isinstance(size, int | np.integer) or size <= 0:
            raise NetworkError(
                f"population {name!r}: size must be a positive integer, got {size!r}"
            )
        if isinstance(model, str):
            if model not in NEURON_MODELS:
                raise NetworkError(
                    f"population {name!r}: unknown neuron model {model!r}; expected one "
                    f"of {sorted(NEURON_MODELS)} or a NeuronModel"
                )
            model = NEURON_MODELS[model]
        parameters = {} if parameters is None else dict(parameters)
        initial = {} if initial is None else dict(initial)
        unknown = sorted(set(parameters) - set(model.parameters))
        if unknown:
            raise NetworkError(
                f"population {name!r}: unknown parameter(s) {unknown} for model "
                f"{model.name!r}; expected some of {sorted(model.parameters)}"
            )
        per_neuron = _check_parameters(name, size, parameters)
        scalars = {k: float(v) for k, v in parameters.items() if k not in per_neuron}
        resolved = model.with_parameters(**scalars).per_neuron(per_neuron)
        for key in per_neuron:
            initial[state_name(key)] = parameters[key]
        resting = _resting_parameter(model, per_neuron)
        if resting is not None and not any(split_unit(k)[0] == "v" for k in initial):
            initial["v_mV"] = parameters[resting]
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "parameters", parameters)
        object.__setattr__(self, "initial", initial)
        object.__setattr__(self, "on_chip", bool(on_chip))
        object.__setattr__(self, "_resolved", resolved)
        for key, value in initial.items():
            base, _ = split_unit(key)
            if base not in resolved.state_units:
                raise NetworkError(
                    f"population {name!r}: initial value {key!r} names no state variable "
                    f"of model {model.name!r} (state variables: "
                    f"{sorted(model.state_units)}, written with their unit, e.g. 'v_mV')"
                )
            array = np.asarray(value, dtype=float)
            if array.ndim not in (0, 1) or (array.ndim == 1 and len(array) != size):
                raise NetworkError(
                    f"population {name!r}: initial value {key!r} has shape {array.shape}; "
                    f"expected a scalar or ({size},)"
                )
            if not np.all(np.isfinite(array)):
                raise NetworkError(f"population {name!r}: initial value {key!r} has NaN/inf")

    @property
    def neuron_model(self) -> NeuronModel:
        """The model with this population's parameters applied: scalars as overrides, arrays
        as constant per-neuron state variables (see :meth:`NeuronModel.per_neuron`)."""
        resolved: NeuronModel = object.__getattribute__(self, "_resolved")
        return resolved

    @property
    def per_neuron_parameters(self) -> list[str]:
        """Names of the parameters given one value per neuron."""
        return [k for k, v in self.parameters.items() if np.ndim(v) == 1]


def _check_parameters(name: str, size: int, parameters: dict) -> list[str]:
    """Validate parameter values; return the names given per neuron (arrays of ``size``)."""
    per_neuron = []
    for key, value in parameters.items():
        array = np.asarray(value, dtype=float)
        if array.ndim not in (0, 1) or (array.ndim == 1 and len(array) != size):
            raise NetworkError(
                f"population {name!r}: parameter {key!r} has shape {array.shape}; expected a "
                f"scalar or one value per neuron, ({size},)"
            )
        if not np.all(np.isfinite(array)):
            raise NetworkError(f"population {name!r}: parameter {key!r} has NaN/inf")
        if array.ndim == 1:
            per_neuron.append(key)
            parameters[key] = array
    return per_neuron


_RESTING = ("v_rest", "E_l", "v_reset", "c")  # where v starts (as the engine's default)


def _resting_parameter(model: NeuronModel, per_neuron: list[str]) -> str | None:
    """The per-neuron parameter ``v`` should start at, when the engine's default would read a
    parameter that is no longer a scalar."""
    for candidate in _RESTING:
        for key in model.parameters:
            if split_unit(key) == (candidate, "mV"):
                return key if key in per_neuron else None
    return None


@dataclass(frozen=True, eq=False)
class PoissonInput:
    """``size`` independent Poisson spike sources firing at ``rate_hz`` (scalar or per source)."""

    name: str
    size: int
    rate_hz: float | np.ndarray

    def __post_init__(self) -> None:
        _check_name(self.name, "input")
        if not isinstance(self.size, int | np.integer) or self.size <= 0:
            raise NetworkError(f"input {self.name!r}: size must be a positive integer")
        rates = np.asarray(self.rate_hz, dtype=float)
        if rates.ndim not in (0, 1) or (rates.ndim == 1 and len(rates) != self.size):
            raise NetworkError(
                f"input {self.name!r}: rate_hz has shape {rates.shape}; "
                f"expected () or ({self.size},)"
            )
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise NetworkError(f"input {self.name!r}: rate_hz must be finite and >= 0")


@dataclass(frozen=True, eq=False)
class SpikeTimesInput:
    """``size`` sources emitting the given spikes: ``indices[k]`` fires at ``times_ms[k]``."""

    name: str
    size: int
    indices: np.ndarray
    times_ms: np.ndarray

    def __post_init__(self) -> None:
        _check_name(self.name, "input")
        indices = np.asarray(self.indices)
        times = np.asarray(self.times_ms, dtype=float)
        if indices.shape != times.shape or indices.ndim != 1:
            raise NetworkError(
                f"input {self.name!r}: indices {indices.shape} and times_ms {times.shape} must be "
                f"1-D arrays of the same length"
            )
        if len(indices) and (indices.min() < 0 or indices.max() >= self.size):
            raise NetworkError(
                f"input {self.name!r}: indices must lie in [0, {self.size}), "
                f"found [{indices.min()}, {indices.max()}]"
            )
        if not np.all(np.isfinite(times)) or np.any(times < 0):
            raise NetworkError(f"input {self.name!r}: times_ms must be finite and >= 0")
        object.__setattr__(self, "indices", indices.astype(np.int64))
        object.__setattr__(self, "times_ms", times)


Input = PoissonInput | SpikeTimesInput


@dataclass(frozen=True)
class STDP:
    """Additive pair-based STDP with exponential traces (Song, Miller & Abbott 2000).

    A presynaptic spike arriving at a synapse depresses it by ``a_minus * x_post``; a
    postsynaptic spike potentiates every synapse onto the neuron by ``a_plus * x_pre``; weights
    are clipped to ``[0, w_max]``. Each of these updates is one ``learning_update`` event.
    """

    tau_pre_ms: float = 20.0
    tau_post_ms: float = 20.0
    a_plus: float = 0.01
    a_minus: float = 0.0105
    w_max: float = 1.0

    def __post_init__(self) -> None:
        if self.tau_pre_ms <= 0 or self.tau_post_ms <= 0 or self.w_max <= 0:
            raise NetworkError("STDP: tau_pre_ms, tau_post_ms and w_max must be > 0")


@dataclass(frozen=True, eq=False, init=False)
class Projection:
    """Synapses from ``pre`` (a population or input) to ``post`` (a population).

    Parameters
    ----------
    pre, post : str
        Names of the source group and the target population.
    i, j : array of int
        Local pre and post index of each synapse.
    weight : array of float
        Weight of each synapse, in the unit of the post model's ``target``. A float32 array is
        kept as float32 (4 bytes per synapse instead of 8 for 10^8-synapse models); any other
        input becomes float64.
    delay_ms : float or array
        Axonal delay, homogeneous (scalar) or per synapse; >= 0 (float32 kept as for weights).
    target : str
        Which synaptic target of the post model (``exc`` or ``inh`` in the library models).
    plasticity : STDP or None
        Plasticity rule, if the weights learn.
    name : str
        Identifier; defaults to ``pre_to_post``.
    structure : ConvStructure or None
        The convolution the synapses were built from (``conv2d`` helper, NIR import), so that a
        chip with a shared-weight encoding can store the kernel instead of every synapse.
    """

    pre: str
    post: str
    i: np.ndarray
    j: np.ndarray
    weight: np.ndarray
    delay_ms: np.ndarray
    target: str
    plasticity: STDP | None
    name: str
    structure: ConvStructure | None

    def __init__(
        self,
        pre: str,
        post: str,
        i: np.ndarray,
        j: np.ndarray,
        weight: np.ndarray | float,
        delay_ms: np.ndarray | float = 0.0,
        target: str = "exc",
        plasticity: STDP | None = None,
        name: str = "",
        structure: ConvStructure | None = None,
    ) -> None:
        # Written out (not generated) so that ``weight`` and ``delay_ms`` accept scalars while the
        # attributes are typed as the arrays they are normalised to: ``weight`` one value per
        # synapse, ``delay_ms`` 0-d (homogeneous) or one value per synapse.
        object.__setattr__(self, "pre", pre)
        object.__setattr__(self, "post", post)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "plasticity", plasticity)
        object.__setattr__(self, "structure", structure)
        label = name or f"{pre}_to_{post}"
        object.__setattr__(self, "name", label)
        _check_name(label, "projection")
        i = np.asarray(i)
        j = np.asarray(j)
        if i.ndim != 1 or j.ndim != 1 or len(i) != len(j):
            raise NetworkError(
                f"projection {label!r}: i and j must be 1-D arrays of the same length, got "
                f"shapes {i.shape} and {j.shape}"
            )
        if len(i) and not (
            np.issubdtype(i.dtype, np.integer) and np.issubdtype(j.dtype, np.integer)
        ):
            raise NetworkError(f"projection {label!r}: i and j must be integer arrays")
        index_dtype = np.int32 if max(i.max(initial=0), j.max(initial=0)) < 2**31 - 1 else np.int64
        # float32 stays float32 (halves the memory of 10^8-synapse models); anything else is float64
        weight_dtype = _float_dtype(weight)
        weights: np.ndarray = np.asarray(weight, dtype=weight_dtype)
        if weights.ndim == 0:
            weights = np.full(len(i), weights, dtype=weight_dtype)
        if weights.shape != i.shape:
            raise NetworkError(
                f"projection {label!r}: weight has shape {weights.shape}; expected ({len(i)},) "
                f"like i and j, or a scalar"
            )
        if not np.all(np.isfinite(weights)):
            bad = int(np.count_nonzero(~np.isfinite(weights)))
            raise NetworkError(f"projection {label!r}: {bad} weight(s) are NaN or infinite")
        delay: np.ndarray = np.asarray(delay_ms, dtype=_float_dtype(delay_ms))
        if delay.ndim == 1 and delay.shape != i.shape:
            raise NetworkError(
                f"projection {label!r}: delay_ms has shape {delay.shape}; expected a scalar or "
                f"({len(i)},)"
            )
        if delay.ndim > 1:
            raise NetworkError(f"projection {label!r}: delay_ms must be a scalar or 1-D array")
        if not np.all(np.isfinite(delay)) or np.any(delay < 0):
            raise NetworkError(f"projection {label!r}: delays must be finite and >= 0 ms")
        if delay.ndim == 1 and len(delay) and np.all(delay == delay[0]):
            delay = np.asarray(delay[0])
        object.__setattr__(self, "i", i.astype(index_dtype, copy=False))
        object.__setattr__(self, "j", j.astype(index_dtype, copy=False))
        object.__setattr__(self, "weight", weights)
        object.__setattr__(self, "delay_ms", delay)

    @property
    def n_synapses(self) -> int:
        return len(self.i)

    def delays_ms(self) -> np.ndarray:
        """Per-synapse delays (broadcast from a scalar if homogeneous)."""
        delay = np.asarray(self.delay_ms)
        return np.broadcast_to(delay, self.i.shape) if delay.ndim == 0 else delay


@dataclass(frozen=True, eq=False)
class Network:
    """Populations, inputs and projections, validated together at construction.

    Parameters
    ----------
    populations : list of Population
    projections : list of Projection
    inputs : list of PoissonInput or SpikeTimesInput
    name : str
        Model name, for reports.
    inference_ms : float or None
        Duration of one inference, where the model defines inferences (energy per inference).
    readout : callable or None
        What the model computed, from the run's spikes: ``readout(activity)`` returns named
        figures (a classifier's ``{'accuracy': 0.95, 'n_inferences': 40}``), so that a report
        can put the task's result next to its energy per inference. Only the model knows what
        its spikes mean (which population, which labels), hence a callable from the model's
        ``build``; traces do not keep it (re-run ``build`` to read a trace out again).
    inference : InferenceSchedule or None
        Steps per inference and the reset schedule, for networks run as a stream of inferences.
    """

    populations: tuple[Population, ...]
    projections: tuple[Projection, ...] = ()
    inputs: tuple[Input, ...] = ()
    name: str = "network"
    inference_ms: float | None = None
    readout: Callable[[Activity], dict[str, float]] | None = field(default=None, repr=False)
    inference: InferenceSchedule | None = None

    def __post_init__(self) -> None:
        for attr in ("populations", "projections", "inputs"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        if not self.populations:
            raise NetworkError("a network needs at least one population")
        names = [g.name for g in (*self.populations, *self.inputs)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise NetworkError(f"duplicate population/input name(s): {duplicates}")
        proj_names = [p.name for p in self.projections]
        dup_proj = sorted({n for n in proj_names if proj_names.count(n) > 1})
        if dup_proj:
            raise NetworkError(f"duplicate projection name(s): {dup_proj}; give each a name=")
        if self.inference_ms is not None and self.inference_ms <= 0:
            raise NetworkError(f"inference_ms must be > 0, got {self.inference_ms}")
        sizes = {g.name: g.size for g in (*self.populations, *self.inputs)}
        pops = {p.name: p for p in self.populations}
        if self.inference is not None:
            named = (*(self.inference.reset or ()), *self.inference.offsets)
            unknown = sorted({n for n in named if n not in pops})
            if unknown:
                raise NetworkError(
                    f"inference schedule names unknown population(s) {unknown}; expected some "
                    f"of {sorted(pops)}"
                )
        for proj in self.projections:
            if proj.pre not in sizes:
                raise NetworkError(
                    f"projection {proj.name!r}: unknown pre {proj.pre!r}; expected one of "
                    f"{sorted(sizes)}"
                )
            if proj.post not in pops:
                hint = " (inputs cannot receive synapses)" if proj.post in sizes else ""
                raise NetworkError(
                    f"projection {proj.name!r}: unknown post population {proj.post!r}{hint}; "
                    f"expected one of {sorted(pops)}"
                )
            for side, idx, size in (
                ("i", proj.i, sizes[proj.pre]),
                ("j", proj.j, sizes[proj.post]),
            ):
                if len(idx) and (idx.min() < 0 or idx.max() >= size):
                    group = proj.pre if side == "i" else proj.post
                    raise NetworkError(
                        f"projection {proj.name!r}: {side} indices must lie in [0, {size}) "
                        f"(size of {group!r}), found [{idx.min()}, {idx.max()}]"
                    )
            if proj.structure is not None and (
                proj.structure.n_in != sizes[proj.pre] or proj.structure.n_out != sizes[proj.post]
            ):
                raise NetworkError(
                    f"projection {proj.name!r}: its convolution maps {proj.structure.n_in} to "
                    f"{proj.structure.n_out} neurons, but {proj.pre!r} has {sizes[proj.pre]} "
                    f"and {proj.post!r} has {sizes[proj.post]}"
                )
            model = pops[proj.post].neuron_model
            if proj.target not in model.targets:
                raise NetworkError(
                    f"projection {proj.name!r}: target {proj.target!r} is not a synaptic target "
                    f"of model {model.name!r}; expected one of {sorted(model.targets)}"
                )

    # ---- index spaces -------------------------------------------------------------------

    @cached_property
    def offsets(self) -> dict[str, int]:
        """Global index of the first neuron of each population (inputs: of each input source)."""
        out: dict[str, int] = {}
        start = 0
        for pop in self.populations:
            out[pop.name] = start
            start += pop.size
        start = 0
        for source in self.inputs:
            out[source.name] = start
            start += source.size
        return out

    @cached_property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    @cached_property
    def n_input_sources(self) -> int:
        return sum(s.size for s in self.inputs)

    @cached_property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections)

    def __repr__(self) -> str:
        return (
            f"<Network {self.name!r}: {len(self.populations)} populations, {self.n_neurons:,} "
            f"neurons, {self.n_synapses:,} synapses, {self.n_input_sources:,} input sources>"
        )

    def _repr_html_(self) -> str:
        """A short HTML table for notebooks (Jupyter shows it in place of the repr)."""
        from neuroemu.notebook import network_html

        return network_html(self)

    def chip_view(self) -> Network:
        """The network as the chip sees it: host-side populations (``on_chip=False``) become
        input sources of the same size, projections into them (readouts on the host) are left
        out, and the rest is unchanged. The activity of a run needs no change: a host
        population's spikes, recorded under its name, are that input's spikes. Without host
        populations this is the network itself.
        """
        host = {pop.name for pop in self.populations if not pop.on_chip}
        if not host:
            return self
        empty = np.empty(0, dtype=np.int64)
        inputs = [
            SpikeTimesInput(pop.name, pop.size, empty, np.empty(0))
            for pop in self.populations
            if pop.name in host
        ]
        return Network(
            tuple(pop for pop in self.populations if pop.name not in host),
            tuple(proj for proj in self.projections if proj.post not in host),
            (*self.inputs, *inputs),
            name=self.name,
            inference_ms=self.inference_ms,
            readout=self.readout,
            inference=None if self.inference is None else self.inference.without(host),
        )

    def population(self, name: str) -> Population:
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise NetworkError(f"no population {name!r}; expected one of {self.population_names}")

    def projection(self, name: str) -> Projection:
        for proj in self.projections:
            if proj.name == name:
                return proj
        raise NetworkError(f"no projection named {name!r}")

    @property
    def population_names(self) -> list[str]:
        return [p.name for p in self.populations]

    def is_input(self, name: str) -> bool:
        return any(s.name == name for s in self.inputs)

    def global_pre(self, proj: Projection) -> np.ndarray:
        """Global pre indices of ``proj`` (in the neuron space, or the input space for inputs)."""
        return proj.i.astype(np.int64) + self.offsets[proj.pre]

    def global_post(self, proj: Projection) -> np.ndarray:
        return proj.j.astype(np.int64) + self.offsets[proj.post]

    def read_out(self, activity: Activity) -> dict[str, float]:
        """The model's own figures for ``activity`` (see ``readout``); ``{}`` when it has none."""
        if self.readout is None:
            return {}
        figures = self.readout(activity)
        return {str(name): float(value) for name, value in figures.items()}

    def summary(self) -> dict[str, int]:
        return {
            "n_populations": len(self.populations),
            "n_neurons": self.n_neurons,
            "n_inputs": self.n_input_sources,
            "n_projections": len(self.projections),
            "n_synapses": self.n_synapses,
        }


def _float_dtype(values: object) -> type:
    """float32 when given float32 (kept to save memory), float64 for everything else."""
    return np.float32 if getattr(values, "dtype", None) == np.float32 else np.float64


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise NetworkError(
            f"{what} name {name!r} must be a Python identifier not starting with '_' "
            f"(letters, digits, underscores), because it also names the Brian2 object"
        )
