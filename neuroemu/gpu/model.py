"""The same network on a GPU, estimated: a roofline time model with an energy model on top.

:func:`gpu_baseline` prices an :class:`~neuroemu.activity.Activity` on a
:class:`~neuroemu.spec.gpu.GpuSpec` in one of two execution styles and returns the
:class:`~neuroemu.report.EnergyReport` the chip side returns (the roofline of Williams et al.,
Commun. ACM 52(4):65-76, 2009, doi:10.1145/1498765.1498785; constants: ``chips/README.md``).
``event-driven`` is GeNN / Brian2CUDA-like: per step one neuron kernel for every group and one
synapse kernel that walks the rows of the neurons that spiked and atomically adds their weights into
the targets' input buffers, so its work follows spikes x fan-out. ``dense`` is snnTorch-like: per
step a dense ``(batch x n_pre) @ (n_pre x n_post)`` product per projection and delay slot whatever
the activity, plus unfused elementwise kernels for the neurons.

Time: each kernel lasts ``max(ops / (compute_fraction x peak), bytes / (memory_fraction x
bandwidth), atomics / atomic_throughput, launch_latency)``, per step; the event-driven synapse
kernel adds ``serial_rows x row_latency`` on top (zero where the descriptor gives no
``timing.row_latency_us``): a GeNN-like kernel walks the spikes of one projection one after
another, each after a dependent load of its row's start and length, while the projections run in
parallel blocks of the same kernel, so a step's serial chain is the largest number of rows any one
projection walks in it; recording spikes adds, per step, a stream sync and a device-to-host
copy. Energy: ``idle_ctx_power x time`` (static) plus
per-op, per-byte, per-atomic and per-launch energies (dynamic), capped at board power: when the
average would exceed the limit the GPU throttles, so time is stretched until it does not. Neuron
state and synapse rows are charged at DRAM (they stream through it each step; SNABSuite's RTX 2070
timings show no L2 reuse); only the dense style's weight matrices are read from L2 when weights and
state together fit in it. FLOPs per neuron update come from ``NeuronModel.flops_per_update``.
Synaptic events are counted exactly from the activity, at delivery, as on the chip side: an
event whose delivery step is at or after ``n_steps`` is not counted (nor executed).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from neuroemu.activity import Activity, Spikes
from neuroemu.errors import GpuMemoryError, NeuroEmuError
from neuroemu.network.network import Network, PoissonInput
from neuroemu.report import EnergyReport
from neuroemu.spec.gpu import PRECISION_BYTES, GpuSpec
from neuroemu.timesteps import delay_steps

STYLES = ("event-driven", "dense")
SCOPES = ("board", "wall")
BOUNDS = ("compute", "memory", "atomic", "launch", "row")
# Layout constants of the two implementation styles (GeNN's sparse rows, eager PyTorch tensors):
# properties of the software, not of the GPU, so they live here and not in the descriptors.
FLOAT_BYTES = 4  # fp32 state variable or input accumulator
INDEX_BYTES = 4  # post index of one sparse synapse (uint32)
DELAY_BYTES = 1  # per-synapse dendritic delay slot (uint8), read only when delays differ
ROW_BYTES = 8  # row start and length, read once per (spike, projection, delay slot)
SPIKE_BYTES = 4  # spike index written by the neuron kernel and copied to the host
POISSON_OPS, POISSON_BYTES = 10, 40  # per source and step: time-to-spike variable, Philox state
SPIKE_TIMES_OPS, SPIKE_TIMES_BYTES = 2, 16  # per source and step: next-spike pointer and time
STDP_EVENT_OPS, STDP_EVENT_BYTES = 4, 12  # per plastic event: post trace read, weight write-back
STDP_POST_OPS, STDP_POST_BYTES = 4, 16  # per post spike x synapse: index, weight r/w, trace
ELEMENTWISE_BYTES = 12  # an unfused elementwise op reads two fp32 tensors and writes one


@dataclass(frozen=True, eq=False)
class StepActivity:
    """What the kernels see per step (arrays of length ``n_steps``, one batch element).

    ``events`` are synaptic events delivered at each step, ``event_bytes`` the synapse data they
    read, ``rows`` the (spike, projection, delay slot) row segments walked, ``plastic_events`` the
    events through plastic projections and ``post_updates`` the postsynaptic STDP updates;
    ``serial_rows`` the largest number of rows (spikes with targets) any one projection walks at
    each step, whatever the delays (one row per spike, placed at its shortest delay).
    """

    n_steps: int
    dt_ms: float
    spikes_out: np.ndarray
    input_spikes: np.ndarray
    events: np.ndarray
    event_bytes: np.ndarray
    rows: np.ndarray
    plastic_events: np.ndarray
    post_updates: np.ndarray
    serial_rows: np.ndarray


def _group_size(network: Network, name: str) -> int:
    return next(g.size for g in (*network.populations, *network.inputs) if g.name == name)


def step_activity(network: Network, activity: Activity) -> StepActivity:
    """Spikes, synaptic events and row reads per step, counted exactly from ``activity``."""
    n = activity.n_steps
    out = {f.name: np.zeros(n, dtype=np.int64) for f in fields(StepActivity)[2:]}
    for group in (*network.populations, *network.inputs):
        spikes = activity.spikes.get(group.name)
        if spikes is not None and len(spikes):
            key = "input_spikes" if network.is_input(group.name) else "spikes_out"
            out[key] += np.bincount(spikes.step, minlength=n)[:n]
    # spikes of a source arriving after a delay, before the end: shared by its projections
    arrivals: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def arriving(name: str, spikes: Spikes, delay: int) -> tuple[np.ndarray, np.ndarray]:
        if (name, delay) not in arrivals:
            arrive = spikes.step.astype(np.int64) + delay
            keep = arrive < n
            arrivals[name, delay] = arrive[keep], spikes.neuron[keep]
        return arrivals[name, delay]

    for proj in network.projections:
        spikes = activity.spikes.get(proj.pre)
        if spikes is None or not len(spikes):
            continue
        size = _group_size(network, proj.pre)
        raw_steps = delay_steps(proj.delay_ms, activity.dt_ms)
        steps = np.broadcast_to(raw_steps, proj.i.shape)
        uniform_w = len(proj.weight) == 0 or bool(np.all(proj.weight == proj.weight[0]))
        per_event = INDEX_BYTES + (0 if uniform_w else FLOAT_BYTES)
        per_event += DELAY_BYTES if np.ndim(proj.delay_ms) else 0
        degree = np.bincount(proj.i, minlength=size)
        if np.size(steps):
            arrive, neuron = arriving(proj.pre, spikes, int(np.min(raw_steps)))
            walked = np.bincount(arrive[degree[neuron] > 0], minlength=n)[:n].astype(np.int64)
            out["serial_rows"] = np.maximum(out["serial_rows"], walked)
        # one delay for all synapses (the common case) needs no per-synapse sort nor mask
        one_delay = np.ndim(raw_steps) == 0
        for delay in [int(raw_steps)] if one_delay else np.unique(steps):
            if one_delay:
                out_degree = degree
            else:
                out_degree = np.bincount(proj.i[steps == delay], minlength=size)
            arrive, neuron = arriving(proj.pre, spikes, int(delay))
            fan = out_degree[neuron]
            delivered = np.bincount(arrive, weights=fan, minlength=n).astype(np.int64)
            out["events"] += delivered
            out["event_bytes"] += delivered * per_event
            out["rows"] += np.bincount(arrive, weights=fan > 0, minlength=n).astype(np.int64)
            if proj.plasticity is not None:
                out["plastic_events"] += delivered
        post_spikes = activity.spikes.get(proj.post)
        if proj.plasticity is not None and post_spikes is not None and len(post_spikes):
            in_degree = np.bincount(proj.j, minlength=_group_size(network, proj.post))
            updates = np.bincount(post_spikes.step, in_degree[post_spikes.neuron], minlength=n)
            out["post_updates"] += updates[:n].astype(np.int64)
    return StepActivity(n_steps=n, dt_ms=activity.dt_ms, **out)


def count_gpu_events(
    network: Network, steps: StepActivity | Activity, batch: int = 1
) -> dict[str, int]:
    """Events behind a GPU report, named as the chip side names them (x ``batch``)."""
    acts = steps if isinstance(steps, StepActivity) else step_activity(network, steps)
    counts = {
        "neuron_update": batch * network.n_neurons * acts.n_steps,
        "synaptic_event": batch * int(acts.events.sum()),
        "spike_out": batch * int(acts.spikes_out.sum()),
    }
    if any(p.plasticity is not None for p in network.projections):
        counts["learning_update"] = batch * int(acts.plastic_events.sum() + acts.post_updates.sum())
    return counts


@dataclass(frozen=True)
class KernelCost:
    """One kernel of a step (``launches`` identical launches per step), totalled over the run.

    ``term`` is the energy entry it is charged to; ``bound`` the limit that set most of its time
    (``compute``, ``memory``, ``atomic`` or ``launch``); ``time_s`` its total time.
    """

    name: str
    term: str
    launches: int
    time_s: float
    bound: str
    ops: float
    dram_bytes: float
    l2_bytes: float
    atomics: float
    precision: str = "fp32"


@dataclass(frozen=True, eq=False)
class GpuTime:
    """The time model's result: the kernels, the per-step spike copies and every step's time."""

    kernels: tuple[KernelCost, ...]
    step_time_s: np.ndarray
    copy_time_s: float
    copy_bytes: float
    n_copies: int
    steps: StepActivity

    @property
    def time_s(self) -> float:
        return float(self.step_time_s.sum())

    def kernel(self, name: str) -> KernelCost:
        return next(k for k in self.kernels if k.name == name)


class _Kernels:
    """Collects kernels: each costs, per step and launch, the max of its roofline ceilings."""

    def __init__(self, spec: GpuSpec, n_steps: int) -> None:
        self.spec, self.n_steps = spec, n_steps
        self.launch_s = spec.timing.launch_latency_us.require() * 1e-6
        self.costs: list[KernelCost] = []
        self.step_time_s = np.zeros(n_steps)

    def add(
        self,
        name: str,
        term: str,
        launches: int,
        precision: str,
        *work: object,
        serial_s: object = 0.0,
    ) -> None:
        """``launches`` launches per step, each doing ``work`` = (ops, DRAM bytes, L2 bytes,
        atomics) per step (scalars or per-step arrays; missing trailing items are zero) and
        taking ``serial_s`` per step on top of its roofline time (the synapse kernel's rows)."""
        r = self.spec.achievable_rates(precision)
        if all(isinstance(x, (int, float, np.number)) for x in (*work, serial_s)):
            constant = [float(x) for x in work]  # type: ignore[arg-type]
            self._add_constant(name, term, launches, precision, r, constant, float(serial_s))  # type: ignore[arg-type]
            return
        w = [np.broadcast_to(np.asarray(x, float), (self.n_steps,)) for x in work]
        w += [np.zeros(self.n_steps)] * (4 - len(w))
        memory = w[1] / r["dram"] + w[2] / r["l2"]
        floor = np.full(self.n_steps, self.launch_s)
        serial = np.broadcast_to(np.asarray(serial_s, float), (self.n_steps,))
        times = np.stack((w[0] / r["compute"], memory, w[3] / r["atomic"], floor))
        step_time = launches * (times.max(axis=0) + serial)
        # the bound of a step: the largest of its roofline ceilings, or the rows if they add more
        which = np.where(serial > times.max(axis=0), len(BOUNDS) - 1, times.argmax(axis=0))
        share = np.bincount(which, weights=step_time, minlength=len(BOUNDS))
        ops, dram, l2, atomics = (launches * float(x.sum()) for x in w)
        bound = BOUNDS[int(share.argmax())]
        cost = KernelCost(
            name, term, launches, float(step_time.sum()), bound, ops, dram, l2, atomics, precision
        )
        self.costs.append(cost)
        self.step_time_s += step_time

    def _add_constant(
        self,
        name: str,
        term: str,
        launches: int,
        precision: str,
        r: dict[str, float],
        work: list[float],
        serial: float,
    ) -> None:
        """:meth:`add` for work that is the same every step (the dense style's kernels): the
        same arithmetic on one step's scalars, then spread over the steps, so the totals are the
        very floats the per-step arrays give (their sums are taken over the same arrays)."""
        w = work + [0.0] * (4 - len(work))
        memory = w[1] / r["dram"] + w[2] / r["l2"]
        times = [w[0] / r["compute"], memory, w[3] / r["atomic"], self.launch_s]
        longest = max(times)
        step_time = np.full(self.n_steps, launches * (longest + serial))
        total = float(step_time.sum())
        which = len(BOUNDS) - 1 if serial > longest else times.index(longest)
        bound = BOUNDS[which] if total > 0 else BOUNDS[0]
        per_step = (np.broadcast_to(np.asarray(x, float), (self.n_steps,)) for x in w)
        ops, dram, l2, atomics = (launches * float(x.sum()) for x in per_step)
        cost = KernelCost(name, term, launches, total, bound, ops, dram, l2, atomics, precision)
        self.costs.append(cost)
        self.step_time_s += step_time


def _n_state(network: Network, pop_name: str) -> tuple[int, int]:
    """(state variables incl. a refractory counter, input accumulators) of a population."""
    model = network.population(pop_name).neuron_model
    accumulators = sum(1 for p in network.projections if p.post == pop_name)
    return len(model.state_units) + (1 if model.refractory else 0), accumulators


def _event_driven(network: Network, acts: StepActivity, kernels: _Kernels, b: int) -> None:
    # Scalars while the per-neuron work is summed; per-step arrays once activity enters.
    ops: float | np.ndarray = 0.0
    dram: float | np.ndarray = 0.0
    for pop in network.populations:
        n_state, n_acc = _n_state(network, pop.name)
        ops += pop.size * (pop.neuron_model.flops_per_update + n_acc)
        dram += pop.size * 2 * FLOAT_BYTES * (n_state + n_acc)
    for source in network.inputs:
        poisson = isinstance(source, PoissonInput)
        ops += source.size * (POISSON_OPS if poisson else SPIKE_TIMES_OPS)
        dram += source.size * (POISSON_BYTES if poisson else SPIKE_TIMES_BYTES)
    dram = dram + SPIKE_BYTES * (acts.spikes_out + acts.input_spikes)
    kernels.add("neuron_kernel", "neuron_kernel", 1, "fp32", b * ops, b * dram)
    if network.projections:
        ops = acts.events + STDP_EVENT_OPS * acts.plastic_events
        dram = acts.event_bytes + ROW_BYTES * acts.rows + STDP_EVENT_BYTES * acts.plastic_events
        # rows of the batch copies are walked in parallel (one block per copy), not one by one
        rows_s = kernels.spec.timing.row_latency_s() * acts.serial_rows
        kernels.add(
            "synapse_kernel",
            "synapse_kernel",
            1,
            "fp32",
            b * ops,
            b * dram,
            0,
            b * acts.events,
            serial_s=rows_s,
        )
    if any(p.plasticity is not None for p in network.projections):
        ops, dram = STDP_POST_OPS * acts.post_updates, STDP_POST_BYTES * acts.post_updates
        kernels.add("learning_kernel", "learning_kernel", 1, "fp32", b * ops, b * dram)


def _dense_layout(
    network: Network, dt_ms: float, batch: int, precision: str
) -> tuple[dict[str, float], dict[str, float], dict[str, int], float]:
    """What a dense simulator keeps on the device, in bytes.

    One weight matrix per projection (``n_pre x n_post``), plus a delay matrix of one byte per
    entry where the projection's delays differ; one ring buffer of the presynaptic spikes per
    source with delays (``slots x n_pre``); the neuron state. Returns (weights, delay matrices,
    ring slots per source, state bytes).
    """
    width = PRECISION_BYTES[precision]
    size = {g.name: g.size for g in (*network.populations, *network.inputs)}
    weights: dict[str, float] = {}
    delays: dict[str, float] = {}
    slots: dict[str, int] = {}
    for p in network.projections:
        n_entries = size[p.pre] * size[p.post]
        weights[p.name] = float(width * n_entries)
        steps = delay_steps(p.delay_ms, dt_ms)
        delays[p.name] = float(DELAY_BYTES * n_entries) if np.ndim(steps) else 0.0
        deepest = int(np.max(steps)) if np.size(steps) else 0
        if deepest > 0:
            slots[p.pre] = max(slots.get(p.pre, 0), deepest + 1)
    state = float(
        sum(
            batch * p.size * FLOAT_BYTES * _n_state(network, p.name)[0] for p in network.populations
        )
    )
    return weights, delays, slots, state


def _dense(network: Network, acts: StepActivity, kernels: _Kernels, b: int, precision: str) -> None:
    """Per step and projection one matmul of the weight matrix with the spike vector that the
    ring buffer holds for its delay; a projection whose delays differ gathers each entry's
    delayed spike (reading its delay matrix too), so its traffic does not grow with the slots."""
    width = PRECISION_BYTES[precision]
    size = {g.name: g.size for g in (*network.populations, *network.inputs)}
    weights, delays, slots, _ = _dense_layout(network, acts.dt_ms, b, precision)
    resident = device_memory_bytes(network, "dense", acts.dt_ms, b, precision)
    resident_in_l2 = resident <= kernels.spec.memory.l2_mb.require() * 1e6

    def elementwise(name: str, elements: float, launches: int, term: str = "neuron_kernel") -> None:
        kernels.add(name, term, launches, "fp32", elements, ELEMENTWISE_BYTES * elements)

    for proj in network.projections:
        n_pre, n_post = size[proj.pre], size[proj.post]
        matrix = weights[proj.name] + delays[proj.name]
        activations = width * b * (n_pre + n_post)
        dram, l2 = (activations, matrix) if resident_in_l2 else (activations + matrix, 0)
        ops = 2.0 * b * n_pre * n_post
        kernels.add(f"matmul:{proj.name}", "matmul", 1, precision, ops, dram, l2)
        elementwise(f"accumulate:{proj.name}", b * n_post, 1)
        if proj.plasticity is not None:  # two outer products, the update and the clip
            elementwise(f"stdp:{proj.name}", n_pre * n_post, 4, "learning_kernel")
    for pop in network.populations:
        model = pop.neuron_model  # one launch per operator, plus threshold, reset, refractoriness
        launches = model.flops_per_update + 2 + (2 if model.refractory else 0)
        elementwise(f"neurons:{pop.name}", b * pop.size, launches)
    for source in network.inputs:
        launches = 2 if isinstance(source, PoissonInput) else 1  # rand + compare, or a lookup
        elementwise(f"input:{source.name}", b * source.size, launches)
    for name in sorted(slots):
        elementwise(f"history:{name}", b * size[name], 1)


def device_memory_bytes(
    network: Network, style: str, dt_ms: float, batch: int = 1, precision: str = "fp32"
) -> float:
    """Device memory the network needs in a style: synapses (or weight matrices), state, buffers.

    Event-driven: per synapse a target index, a weight unless the projection's weights are all
    equal, a delay byte where delays differ, and per source row pointers; the neuron state and
    input accumulators; a spike buffer. Dense: see :func:`_dense_layout`.
    """
    if style == "dense":
        weights, delays, slots, state = _dense_layout(network, dt_ms, batch, precision)
        width = PRECISION_BYTES[precision]
        size = {g.name: g.size for g in (*network.populations, *network.inputs)}
        ring = sum(batch * width * size[name] * n for name, n in slots.items())
        return sum(weights.values()) + sum(delays.values()) + state + ring
    total = 0.0
    for proj in network.projections:
        uniform_w = len(proj.weight) == 0 or bool(np.all(proj.weight == proj.weight[0]))
        per_synapse = INDEX_BYTES + (0 if uniform_w else FLOAT_BYTES)
        per_synapse += DELAY_BYTES if np.ndim(proj.delay_ms) else 0
        total += proj.n_synapses * per_synapse + ROW_BYTES * _group_size(network, proj.pre)
    for pop in network.populations:
        n_state, n_acc = _n_state(network, pop.name)
        total += batch * pop.size * FLOAT_BYTES * (n_state + n_acc) + batch * pop.size * SPIKE_BYTES
    return total


def check_fits(
    network: Network,
    gpu: GpuSpec,
    style: str,
    dt_ms: float,
    batch: int = 1,
    precision: str = "fp32",
) -> None:
    """Raise :class:`~neuroemu.errors.GpuMemoryError` when the network does not fit ``gpu``."""
    needed = device_memory_bytes(network, style, dt_ms, batch, precision)
    size = gpu.memory.size_gb.require() * 1e9
    if needed > size:
        raise GpuMemoryError(
            gpu.name, style, needed, size,
            f"does not fit on {gpu.name} in the {style} style: needs {needed / 1e9:.3g} GB of "
            f"device memory, the board has {size / 1e9:.3g} GB (memory.size_gb)",
        )  # fmt: skip


def estimate_gpu_time(
    network: Network,
    activity: Activity,
    gpu: GpuSpec,
    style: str = "event-driven",
    batch: int = 1,
    record_spikes: bool = True,
    precision: str = "fp32",
    steps: StepActivity | None = None,
) -> GpuTime:
    """Time of every kernel and step for ``activity`` run ``batch`` times in parallel on ``gpu``.

    ``record_spikes`` copies the spikes to the host after every step (event-driven: the spike
    count and indices; dense: the boolean spike tensor) after a stream sync, as GeNN 3 and eager
    PyTorch loops do. ``precision`` is the dense matmuls' (neuron updates and the event-driven
    style are fp32). ``steps`` is :func:`step_activity` of the run when the caller has it (it is
    the same for every GPU and style).
    """
    if style not in STYLES:
        raise NeuroEmuError(f"unknown GPU style {style!r}: expected one of {', '.join(STYLES)}")
    if not isinstance(batch, int) or batch < 1:
        raise NeuroEmuError(f"batch must be a positive integer, got {batch!r}")
    gpu.check_precision(precision)
    check_fits(network, gpu, style, activity.dt_ms, batch, precision)
    acts = steps if steps is not None else step_activity(network, activity)
    kernels = _Kernels(gpu, acts.n_steps)
    if style == "event-driven":
        _event_driven(network, acts, kernels, batch)
    else:
        _dense(network, acts, kernels, batch, precision)
    step_time = kernels.step_time_s
    copy_bytes = np.zeros(acts.n_steps)
    if record_spikes:
        if style == "event-driven":  # the spike count and the spike indices
            copy_bytes = SPIKE_BYTES * batch * (acts.spikes_out + 1.0)
        else:  # the boolean spike tensor of every population
            copy_bytes = copy_bytes + batch * network.n_neurons
        fixed_s = (gpu.timing.sync_us.require() + gpu.timing.host_copy_latency_us.require()) * 1e-6
        copy_s = fixed_s + copy_bytes / (gpu.timing.host_copy_gb_s.require() * 1e9)
        step_time = step_time + copy_s
    return GpuTime(
        kernels=tuple(kernels.costs),
        step_time_s=step_time,
        copy_time_s=float((step_time - kernels.step_time_s).sum()),
        copy_bytes=float(copy_bytes.sum()),
        n_copies=acts.n_steps if record_spikes else 0,
        steps=acts,
    )


def gpu_baseline(
    network: Network,
    activity: Activity,
    gpu: GpuSpec,
    style: str = "event-driven",
    batch: int = 1,
    scope: str = "board",
    record_spikes: bool = True,
    precision: str = "fp32",
    steps: StepActivity | None = None,
) -> EnergyReport:
    """Estimated energy and time of running ``network`` with ``activity`` on ``gpu``.

    Parameters
    ----------
    network, activity : Network, Activity
        The network and what it did (the same activity the chip side priced).
    gpu : GpuSpec
        The GPU descriptor (:func:`neuroemu.spec.gpu.load_gpu`).
    style : str
        ``event-driven`` (GeNN-like sparse propagation) or ``dense`` (snnTorch-like matmuls).
    batch : int
        Copies of the network run in parallel (the activity replicated; counts scale with it).
    scope : str
        ``board`` (what NVML measures) or ``wall`` (adds ``power.host_power_w`` x time).
    record_spikes : bool
        Copy spikes to the host every step (see :func:`estimate_gpu_time`).
    precision : str
        Precision of the dense style's matmuls (``fp32``, ``bf16_tensor``...).
    steps : StepActivity or None
        :func:`step_activity` of this run, computed once by a caller that prices several GPUs.

    Returns
    -------
    EnergyReport
        ``dynamic_pj`` per term, ``static_pj`` = idle-with-context power x time, ``time_s``
        after the power cap, ``counts`` of the events behind it, notes on the cap and the scope;
        ``low`` and ``high``: the same at the ends of the descriptor's ranges
        (:meth:`~neuroemu.spec.gpu.GpuSpec.at_bound`).

    Raises
    ------
    GpuMemoryError
        When the network does not fit the board's memory in that style.
    """
    if scope not in SCOPES:
        raise NeuroEmuError(f"unknown scope {scope!r}: expected one of {', '.join(SCOPES)}")
    acts = steps if steps is not None else step_activity(network, activity)
    args = (network, activity, style, batch, scope, record_spikes, precision, acts)
    report = _price_on_gpu(gpu, *args)
    low, high = gpu.at_bound("low"), gpu.at_bound("high")
    if low is gpu and high is gpu:
        return report
    return replace(report, low=_price_on_gpu(low, *args), high=_price_on_gpu(high, *args))


def _price_on_gpu(
    gpu: GpuSpec,
    network: Network,
    activity: Activity,
    style: str,
    batch: int,
    scope: str,
    record_spikes: bool,
    precision: str,
    steps: StepActivity,
) -> EnergyReport:
    timing = estimate_gpu_time(
        network, activity, gpu, style, batch, record_spikes, precision, steps
    )
    e_dram = gpu.energy.per_dram_byte_pj.require()
    e_launch_pj = gpu.energy.per_launch_nj.require() * 1e3
    dynamic: dict[str, float] = {}
    for k in timing.kernels:
        part = k.ops * gpu.op_energy_pj(k.precision) + k.dram_bytes * e_dram
        if k.l2_bytes:
            part += k.l2_bytes * gpu.energy.per_l2_byte_pj.require()
        dynamic[k.term] = dynamic.get(k.term, 0.0) + part
        if k.atomics:
            atomic = k.atomics * gpu.energy.per_atomic_pj.require()
            dynamic["atomic"] = dynamic.get("atomic", 0.0) + atomic
    n_steps = timing.step_time_s.size
    dynamic["launch"] = sum(k.launches for k in timing.kernels) * n_steps * e_launch_pj
    if timing.n_copies:
        dynamic["spike_copy"] = timing.n_copies * e_launch_pj + timing.copy_bytes * e_dram
    p_ctx, p_max = gpu.power.idle_ctx_power_w.require(), gpu.power.board_power_w.require()
    time_s = timing.time_s
    notes = [f"{style} style, batch {batch}" + (f", {precision}" if style == "dense" else "")]
    dynamic_j = sum(dynamic.values()) * 1e-12
    if time_s > 0 and p_ctx + dynamic_j / time_s > p_max:
        capped_s = dynamic_j / (p_max - p_ctx)  # the throttled GPU spreads the same work
        notes.append(
            f"power-capped: {p_ctx + dynamic_j / time_s:.0f} W would exceed the "
            f"{p_max:g} W board limit; time stretched {time_s:.3g} s -> {capped_s:.3g} s"
        )
        time_s = capped_s
    if scope == "wall":
        host_w = gpu.host_power_w()
        dynamic["host"] = host_w * time_s * 1e12
        notes.append(f"wall scope: board plus a host drawing {host_w:g} W")
    counts = count_gpu_events(network, timing.steps, batch)
    inferences = activity.duration_ms / network.inference_ms if network.inference_ms else None
    return EnergyReport(
        device=gpu.name,
        device_kind="gpu",
        style=style,
        method="model",
        scope=scope,
        simulated_ms=activity.duration_ms,
        time_s=time_s,
        dynamic_pj=dict[str, float | None](dynamic),
        static_pj=p_ctx * time_s * 1e12,
        counts=counts,
        n_inferences=inferences,
        notes=tuple(notes),
    )
