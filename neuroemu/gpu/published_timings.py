"""Published wall-clock times of GPU simulators, rebuilt as neuroemu networks and priced.

Owns ``neuroemu/data/gpu_timings.yaml``: simulation-loop times of GeNN, Brian2GeNN and NEST GPU
runs with their citations, one study per source and a list of cases per study (the file's header
describes its keys). A case with a bundled descriptor and a ``rebuild`` recipe is rebuilt here as
a :class:`~neuroemu.network.network.Network` with an :class:`~neuroemu.activity.Activity` at the
published rate (synthetic spike trains, fixed seeds: the GPU model needs only event counts) and
priced with :func:`neuroemu.gpu.model.gpu_baseline` (``style="event-driven"``) on the descriptor as
given. ``neuroemu validate`` shows the result next to the published time; ``benchmarks/gpu_fit.py``
fits the descriptors' event-driven constants to the cases marked ``fit``.

Scaling, exact for the model's counts:

- A homogeneous network of ``N = b x N0`` neurons with a fixed fan-out is priced as ``batch=b``
  copies of an ``N0``-neuron network with the same fan-out (every kernel's work is proportional to
  the batch; the launches per step are not). The model walks the rows of batch copies in
  parallel, but one network of ``b x N0`` neurons walks ``b`` times the rows of a copy one after
  another, so the row latency (value and range) is multiplied by ``b``: it enters the time only
  as ``rows x row_latency``. The microcircuit is built at ``scale`` with full in-degrees
  (``k_scale=1``) and ``batch=1/scale``.
- Stationary activity is simulated over a window of steps and the time multiplied by
  ``published steps / window steps``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from neuroemu.activity import Activity, Spikes
from neuroemu.errors import NeuroEmuError
from neuroemu.gpu import model as gpu_model
from neuroemu.network.connectivity import all_to_all, fixed_indegree, fixed_probability, one_to_one
from neuroemu.network.model_files import load_model
from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput
from neuroemu.network.neuron_models import LIF, NeuronModel, SynapticTarget
from neuroemu.spec.gpu import GpuSpec

DATA_FILE = "gpu_timings.yaml"
SEED = 20240611

# COBAHH's Hodgkin-Huxley neuron (Traub & Miles) with two exponential conductances, exponential
# Euler. Only flops_per_update, the state variables and the refractory flag reach the GPU model:
# six rate functions (about 31 flops and 6 exp), the exponential-Euler updates of m, n and h
# (18 flops, 3 exp) and of V (about 25 flops, 1 exp), two conductance decays, threshold and
# refractoriness: about 80 flops and 10 exp, counted here as 120 (an exp as 4). The neuron kernel
# of these cases is memory- or launch-bound whatever this count is within a factor of 3.
HH_COBA = NeuronModel(
    name="hh_coba",
    description="COBAHH neuron (Brette et al. 2007, benchmark 3), for the GPU model only",
    equations="dv/dt = 0*mV/ms : volt (unless refractory)",
    threshold="v > -20*mV",
    reset="",
    refractory="refractory",
    method="exact",
    parameters={"refractory_ms": 3.0},
    targets={
        "exc": SynapticTarget("g_E_post += w", "nS"),
        "inh": SynapticTarget("g_I_post += w", "nS"),
    },
    flops_per_update=120,
    state_units={"v": "mV", "m": "1", "n": "1", "h": "1", "g_E": "nS", "g_I": "nS"},
)


# ---- the data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedTiming:
    """One published simulation time, flattened from its study (``data``: the study's keys with
    the case's merged in, plus ``study``)."""

    id: str
    data: dict[str, Any]

    @property
    def wall_s(self) -> float:
        """The published simulation-loop time, seconds."""
        return float(self.data["wall_s"])

    @property
    def descriptor(self) -> str | None:
        """The bundled GPU descriptor of the card it ran on (None: no descriptor)."""
        return self.data.get("gpu", {}).get("descriptor")

    @property
    def gpu_name(self) -> str:
        return str(self.data.get("gpu", {}).get("name", "?"))

    @property
    def generation(self) -> str:
        return str(self.data.get("gpu", {}).get("generation", "?"))

    @property
    def simulator(self) -> str:
        return str(self.data.get("simulator", {}).get("name", "?"))

    @property
    def summary(self) -> str:
        """What ran, in one line: the study's title (and SNAB), neurons, biological time and
        timestep, simulator."""
        network = self.data.get("network", {})
        what = str(self.data.get("title", self.data.get("study", "?")))
        if "snab" in network:
            what += f" {str(network['snab']).split(' (')[0]}"
        if "neurons" in network:
            what += f", {int(network['neurons']):,} neurons"
        what += f", {float(self.data['bio_time_s']):g} s at dt {float(network['dt_ms']):g} ms"
        return f"{what}; {self.simulator}"

    @property
    def fit(self) -> bool:
        """Used to fit the event-driven constants of its GPU generation."""
        return bool(self.data.get("fit", False)) and not self.holdout

    @property
    def holdout(self) -> bool:
        """Never fitted: an independent check (the Potjans-Diesmann microcircuit)."""
        return bool(self.data.get("holdout", False))

    @property
    def evaluate(self) -> bool:
        """Rebuilt and priced (it has a descriptor and a rebuild recipe)."""
        return bool(self.data.get("evaluate", True)) and self.descriptor is not None

    @property
    def role(self) -> str:
        """``fitted``, ``holdout`` or ``not fitted`` (a known model gap, see ``why_not_fit``)."""
        return "fitted" if self.fit else "holdout" if self.holdout else "not fitted"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_published_timings(
    path: Path | None = None,
) -> tuple[list[PublishedTiming], dict[str, str]]:
    """Every case of the timings file (default: the bundled one) and its ``sources`` table.

    Raises
    ------
    NeuroEmuError
        When the file lacks a study's or a case's required keys, or names an unknown source or
        rebuild recipe.
    """
    if path is None:
        text = resources.files("neuroemu.data").joinpath(DATA_FILE).read_text()
        where = f"neuroemu/data/{DATA_FILE}"
    else:
        text, where = Path(path).read_text(), str(path)
    doc = yaml.safe_load(text)
    sources = doc.get("sources", {})
    timings = []
    for study in doc.get("studies", []):
        shared = {k: v for k, v in study.items() if k not in ("cases", "id")}
        for entry in study.get("cases", []):
            data = _merge(shared, entry)
            data["study"] = study["id"]
            timing = PublishedTiming(id=str(entry.get("id")), data=data)
            _check(timing, sources, where)
            timings.append(timing)
    return timings, sources


def _check(timing: PublishedTiming, sources: dict[str, str], where: str) -> None:
    data = timing.data
    missing = [k for k in ("wall_s", "source", "bio_time_s") if k not in data]
    if "dt_ms" not in data.get("network", {}):
        missing.append("network.dt_ms")
    if missing:
        raise NeuroEmuError(f"{where}: case {timing.id!r} has no {', '.join(missing)}")
    if data["source"] not in sources:
        raise NeuroEmuError(
            f"{where}: case {timing.id!r} cites {data['source']!r}, which is not in sources "
            f"(expected one of {sorted(sources)})"
        )
    builder = data.get("rebuild", {}).get("builder")
    if timing.evaluate and builder not in BUILDERS:
        raise NeuroEmuError(
            f"{where}: case {timing.id!r}: rebuild.builder {builder!r} is not one of "
            f"{sorted(BUILDERS)} (set evaluate: false for a case that is only recorded)"
        )


# ---- rebuilding the runs -----------------------------------------------------------------------

#: What a builder returns: the network, the spikes per group over the window, the batch, the
#: window's steps.
Built = tuple[Network, dict[str, Spikes], int, int]


def _bernoulli_spikes(n: int, steps: int, p: float, rng: np.random.Generator) -> Spikes:
    """Each neuron fires at each step with probability ``p`` (Poisson at rate p / dt)."""
    step, neuron = np.nonzero(rng.random((steps, n)) < p)
    return Spikes(neuron, step)


def _lockstep_spikes(n: int, steps: int, period: int, phase: int = 0) -> Spikes:
    """All ``n`` neurons fire together every ``period`` steps, from step ``phase``."""
    fire = np.arange(phase % period, steps, period)
    return Spikes(np.tile(np.arange(n), len(fire)), np.repeat(fire, n))


def build_cobahh(spec: dict[str, Any], dt_ms: float) -> Built:
    """COBAHH with ~``fan_out`` random targets per neuron, as ``batch`` copies of a base network."""
    neurons = int(spec["neurons"])
    base = min(neurons, int(spec["base_neurons"]))
    if neurons % base:
        raise NeuroEmuError(f"{neurons} neurons is not a whole number of {base}-neuron copies")
    batch = neurons // base
    rng = np.random.default_rng(SEED + neurons)
    sizes = {"exc": int(0.8 * base), "inh": base - int(0.8 * base)}
    prob = min(1.0, float(spec["fan_out"]) / base)
    pops = tuple(Population(name, size, HH_COBA) for name, size in sizes.items())
    projections = []
    for pre, target in (("exc", "exc"), ("inh", "inh")):
        for post in ("exc", "inh"):
            i, j = fixed_probability(sizes[pre], sizes[post], prob, rng)
            weight = (rng.random(len(i)) * 1e-9).astype(np.float32)
            projections.append(Projection(pre, post, i, j, weight, 0.0, target=target))
    network = Network(pops, tuple(projections), name="cobahh")
    steps = int(spec["window_steps"])
    p_fire = float(spec["rate_hz"]) * dt_ms * 1e-3
    spikes = {name: _bernoulli_spikes(size, steps, p_fire, rng) for name, size in sizes.items()}
    return network, spikes, batch, steps


def _connect(
    rule: dict[str, Any], n_pre: int, n_post: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    kind = rule["rule"]
    if kind == "fixed_fan_out":  # every source has exactly k distinct targets
        targets, sources = fixed_indegree(n_post, n_pre, int(rule["k"]), rng)
        return sources, targets
    if kind == "fixed_probability":
        return fixed_probability(n_pre, n_post, float(rule["p"]), rng)
    if kind == "one_to_one":
        return one_to_one(n_pre)
    if kind == "all_to_all":
        return all_to_all(n_pre, n_post)
    raise NeuroEmuError(f"unknown connection rule {kind!r}")


def build_snab(spec: dict[str, Any], dt_ms: float) -> Built:
    """A SNABSuite energy benchmark: LIF groups firing in lockstep, spike-source arrays, one
    connector with one weight and the default 1 ms delay.

    The neurons are ``lif`` (a voltage and a refractory counter, plus one input accumulator per
    incoming projection): the state GeNN keeps for an IF_cond_exp neuron, whose conductances are
    the synapse groups' input variables.
    """
    rng = np.random.default_rng(SEED)
    groups = spec.get("groups", [])
    sources = spec.get("sources", [])
    periods = [int(g["period_steps"]) for g in (*groups, *sources) if g["period_steps"]]
    steps = int(spec.get("window_steps") or int(spec["window_periods"]) * max(periods))
    pops = tuple(Population(g["name"], int(g["size"]), LIF) for g in groups)
    spikes: dict[str, Spikes] = {}
    for g in groups:
        if g["period_steps"]:
            spikes[g["name"]] = _lockstep_spikes(int(g["size"]), steps, int(g["period_steps"]))
    inputs = []
    for s in sources:
        fire = _lockstep_spikes(int(s["size"]), steps, int(s["period_steps"]), s["first_step"])
        spikes[s["name"]] = fire
        inputs.append(SpikeTimesInput(s["name"], int(s["size"]), fire.neuron, fire.step * dt_ms))
    sizes = {g["name"]: int(g["size"]) for g in (*groups, *sources)}
    projections = []
    for rule in spec.get("connections", []):
        i, j = _connect(rule, sizes[rule["pre"]], sizes[rule["post"]], rng)
        projections.append(Projection(rule["pre"], rule["post"], i, j, 0.1, delay_ms=1.0))
    return Network(pops, tuple(projections), tuple(inputs), name="snab"), spikes, 1, steps


def build_microcircuit(spec: dict[str, Any], dt_ms: float) -> Built:
    """The bundled microcircuit model at ``scale`` with full in-degrees, ``1/scale`` copies,
    Poisson spikes at the given per-population rates (``rates_hz``)."""
    scale = float(spec["scale"])
    batch = round(1.0 / scale)
    params = {"scale": scale, "k_scale": 1.0, "background": "noise", "seed": 1}
    network = load_model("microcircuit", params)
    rates = spec["rates_hz"]
    rng = np.random.default_rng(SEED)
    steps = int(spec["window_steps"])
    spikes = {}
    for pop in network.populations:
        spikes[pop.name] = _bernoulli_spikes(pop.size, steps, rates[pop.name] * dt_ms * 1e-3, rng)
    return network, spikes, batch, steps


BUILDERS: dict[str, Callable[[dict[str, Any], float], Built]] = {
    "cobahh": build_cobahh,
    "snab": build_snab,
    "microcircuit": build_microcircuit,
}


@dataclass(frozen=True)
class RebuiltRun:
    """A published run rebuilt: what :func:`price_run` prices.

    Attributes
    ----------
    network, activity : Network, Activity
        One copy of the network and its spikes over a window of steps.
    batch : int
        Copies of the network the published run had.
    step_scale : float
        Published steps / window steps.
    record_spikes : bool
        The published run copied spikes to the host every step.
    """

    network: Network
    activity: Activity
    batch: int
    step_scale: float
    record_spikes: bool


def rebuild_timing(timing: PublishedTiming) -> RebuiltRun:
    """The case's network and activity at the published rate, its batch and step scale."""
    if not timing.evaluate:
        raise NeuroEmuError(f"published timing {timing.id!r} is recorded only, not rebuilt")
    spec = timing.data["rebuild"]
    dt_ms = float(timing.data["network"]["dt_ms"])
    network, spikes, batch, steps = BUILDERS[spec["builder"]](spec, dt_ms)
    activity = Activity(dt_ms=dt_ms, n_steps=steps, spikes=spikes, seed=SEED, device="model")
    published_steps = round(float(timing.data["bio_time_s"]) * 1e3 / dt_ms)
    return RebuiltRun(
        network=network,
        activity=activity,
        batch=batch,
        step_scale=published_steps / steps,
        record_spikes=bool(timing.data.get("record_spikes", False)),
    )


def rebuild_key(timing: PublishedTiming) -> str:
    """Equal for cases whose rebuilt runs are equal (one study's cases on several GPUs)."""
    keys = ("rebuild", "network", "bio_time_s", "record_spikes")
    return json.dumps({k: timing.data.get(k) for k in keys}, sort_keys=True, default=str)


# ---- pricing -----------------------------------------------------------------------------------


def with_batch_rows(gpu: GpuSpec, batch: int) -> GpuSpec:
    """``gpu`` with its row latency (value and range) multiplied by ``batch``: one network of
    ``batch`` copies walks their rows one after another (see the module docstring)."""
    row = gpu.timing.row_latency_us
    if batch == 1 or row is None:
        return gpu
    scaled = row.model_copy(
        update={
            "value": row.require() * batch,
            "range": None if row.range is None else [end * batch for end in row.range],
        }
    )
    return gpu.model_copy(
        update={"timing": gpu.timing.model_copy(update={"row_latency_us": scaled})}
    )


def price_run(
    run: RebuiltRun, gpu: GpuSpec, steps: gpu_model.StepActivity | None = None
) -> tuple[float, float, float]:
    """Modelled wall-clock time of the published run, seconds: ``(value, low, high)``, the ends
    at the ends of the descriptor's ranges (equal to the value where it gives none).

    ``steps`` is :func:`neuroemu.gpu.model.step_activity` of the run, when the caller has it (it
    is the same for every GPU).
    """
    report = gpu_model.gpu_baseline(
        run.network,
        run.activity,
        with_batch_rows(gpu, run.batch),
        style="event-driven",
        batch=run.batch,
        record_spikes=run.record_spikes,
        steps=steps,
    )
    value, low, high = report.bounds("time_s")
    assert value is not None and low is not None and high is not None  # a GPU time always is
    return value * run.step_scale, low * run.step_scale, high * run.step_scale
