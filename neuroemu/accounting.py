"""Exact per-core event counts (:func:`count_events`) and their energy and time on the chip
(:func:`estimate_energy`).

Counting never monitors synapses: it multiplies spikes by each neuron's per-core fan-out with
sparse products (spikes x synapses-per-destination-core), which equals a per-synapse count
exactly. The conventions, one per event kind, are in :mod:`neuroemu.events`. The one that needs a
decision is **delayed delivery**: a synaptic event counts at the step it is delivered, so a spike
whose delayed delivery would fall at or after the end of the run adds no ``synaptic_event`` (nor
the ``learning_update`` of its arrival) — exactly what Brian2 executes, since those spikes are
still in the spike queue when the run ends. Its ``spike_out``, ``message``, ``hop`` and
``chip_crossing`` are counted, because the packet left the core when the neuron fired.

Energy is the price table applied to the counts (Accelergy style): dynamic energy per kind and
per core, static power x time on chip, and a total that is their sum. Time on chip comes from a
latency model: a barrier-synchronised step lasts as long as its busiest core's work plus the
barrier; a real-time chip's step lasts its tick unless the busiest core overruns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .activity import Activity
from .chip import ChipSpec
from .events import EVENT_KINDS
from .mapping import Mapping
from .network import Network
from .report import EnergyReport
from .timesteps import delay_steps

_STEP_CHUNK = 8192


@dataclass(frozen=True, eq=False)
class EventCounts:
    """Events per core and kind, in total, per time window and (optionally) per step.

    Attributes
    ----------
    per_core : dict
        Event kind -> int64 array of length ``n_cores`` (all cores of the chips used).
    step_work_ns : ndarray
        Per step, the work of the busiest core in ns under the mapped chip's timing.
    n_steps, dt_ms : int, float
        The run's length and timestep.
    n_chips, n_cores_used : int
        From the mapping, for static power.
    chip_name : str
        The chip the counts were made for (its topology decides messages and hops).
    inference_ms : float or None
        From the network, for energy per inference.
    window_ms : float or None
        Window length of ``windows`` (None when not asked for).
    windows : dict
        Event kind -> ``(n_windows, n_cores)`` int64 array (empty when not asked for).
    per_step : dict
        Event kind -> ``(n_steps, n_cores)`` sparse matrix, kept only when asked for
        (``neuron_update`` is the same every step and is not stored).
    """

    per_core: dict[str, np.ndarray]
    step_work_ns: np.ndarray
    n_steps: int
    dt_ms: float
    n_chips: int
    n_cores_used: int
    chip_name: str
    inference_ms: float | None = None
    window_ms: float | None = None
    windows: dict[str, np.ndarray] = field(default_factory=dict)
    per_step: dict[str, sp.csr_matrix] = field(default_factory=dict)

    @property
    def n_cores(self) -> int:
        return len(self.per_core["neuron_update"])

    @property
    def simulated_ms(self) -> float:
        return self.n_steps * self.dt_ms

    def totals(self) -> dict[str, int]:
        """Event kind -> total over all cores."""
        return {kind: int(self.per_core[kind].sum()) for kind in EVENT_KINDS}


def _spike_matrix(neuron: np.ndarray, step: np.ndarray, n_steps: int, size: int) -> sp.csr_matrix:
    data = np.ones(len(neuron), dtype=np.int64)
    return sp.csr_matrix((data, (step, neuron)), shape=(n_steps, size))


def _fanout_by_delay(
    pre: np.ndarray, post_core: np.ndarray, steps: np.ndarray, n_pre: int, n_cores: int
) -> dict[int, sp.csr_matrix]:
    """Delay (in steps) -> ``(n_pre, n_cores)`` matrix of synapse counts with that delay."""
    out = {}
    for delay in np.unique(steps):
        keep = steps == delay
        data = np.ones(int(keep.sum()), dtype=np.int64)
        out[int(delay)] = sp.csr_matrix(
            (data, (pre[keep], post_core[keep])), shape=(n_pre, n_cores)
        )
    return out


def _delivered(
    spikes_neuron: np.ndarray,
    spikes_step: np.ndarray,
    fanout: dict[int, sp.csr_matrix],
    n_steps: int,
    n_pre: int,
) -> sp.csr_matrix:
    """``(n_steps, n_cores)`` events delivered per step: spikes shifted by each delay x fan-out."""
    total: sp.csr_matrix | None = None
    for delay, matrix in fanout.items():
        arrive = spikes_step.astype(np.int64) + delay
        keep = arrive < n_steps
        shifted = _spike_matrix(spikes_neuron[keep], arrive[keep], n_steps, n_pre)
        part = shifted @ matrix
        total = part if total is None else total + part
    if total is None:
        n_cores = 0 if not fanout else next(iter(fanout.values())).shape[1]
        return sp.csr_matrix((n_steps, n_cores), dtype=np.int64)
    return total.tocsr()


def _by_step_core(
    steps: np.ndarray, cores: np.ndarray, values: np.ndarray, n_steps: int, n_cores: int
) -> sp.csr_matrix:
    return sp.csr_matrix(
        (values.astype(np.int64), (steps, cores)), shape=(n_steps, n_cores), dtype=np.int64
    )


def count_events(
    network: Network,
    activity: Activity,
    mapping: Mapping,
    window_ms: float | None = None,
    per_step: bool = False,
) -> EventCounts:
    """Count every event of ``activity`` per core and kind (see :mod:`neuroemu.events`).

    Parameters
    ----------
    network : Network
        The network that was simulated.
    activity : Activity
        Its spikes.
    mapping : Mapping
        Where each neuron sits (decides which core each event happens on).
    window_ms : float or None
        Also count per window of this length (the last window may be shorter).
    per_step : bool
        Keep the ``(n_steps, n_cores)`` sparse matrices (memory grows with spikes x cores).

    Returns
    -------
    EventCounts
    """
    n_steps = activity.n_steps
    dt_ms = activity.dt_ms
    n_cores = mapping.n_cores
    core = mapping.core_of_neuron.astype(np.int64)
    matrices: dict[str, sp.csr_matrix] = {}

    def add(kind: str, matrix: sp.csr_matrix) -> None:
        matrices[kind] = matrix if kind not in matrices else matrices[kind] + matrix

    empty = sp.csr_matrix((n_steps, n_cores), dtype=np.int64)
    for kind in EVENT_KINDS[1:]:
        matrices[kind] = empty

    # spikes emitted, and the packets they send (at the source core, at the emission step)
    n_remote, n_hops, n_cross = mapping.spike_routing
    for pop in network.populations:
        spikes = activity.spikes.get(pop.name)
        if spikes is None or not len(spikes):
            continue
        neuron = spikes.neuron.astype(np.int64) + network.offsets[pop.name]
        step = spikes.step.astype(np.int64)
        src = core[neuron]
        add("spike_out", _by_step_core(step, src, np.ones(len(neuron)), n_steps, n_cores))
        add("message", _by_step_core(step, src, n_remote[neuron], n_steps, n_cores))
        add("hop", _by_step_core(step, src, n_hops[neuron], n_steps, n_cores))
        add("chip_crossing", _by_step_core(step, src, n_cross[neuron], n_steps, n_cores))

    # external input spikes arriving at each core holding targets of them (at emission)
    inputs = mapping.input_dest_synapses.tocsr()
    for source in network.inputs:
        spikes = activity.spikes.get(source.name)
        if spikes is None or not len(spikes):
            continue
        pattern = inputs[network.offsets[source.name] : network.offsets[source.name] + source.size]
        pattern = (pattern > 0).astype(np.int64)
        matrix = _spike_matrix(spikes.neuron, spikes.step, n_steps, source.size) @ pattern
        add("input_event", matrix.tocsr())

    # synaptic events (and the presynaptic half of STDP) at the post core, at delivery
    for proj in network.projections:
        size = (
            network.population(proj.pre).size
            if not network.is_input(proj.pre)
            else next(s.size for s in network.inputs if s.name == proj.pre)
        )
        spikes = activity.spikes.get(proj.pre)
        if spikes is None or not len(spikes):
            continue
        post_core = core[network.global_post(proj)]
        steps = np.broadcast_to(delay_steps(proj.delay_ms, dt_ms), proj.i.shape)
        fanout = _fanout_by_delay(proj.i.astype(np.int64), post_core, steps, size, n_cores)
        delivered = _delivered(spikes.neuron, spikes.step, fanout, n_steps, size)
        add("synaptic_event", delivered)
        if proj.plasticity is not None:
            add("learning_update", delivered)
            post_spikes = activity.spikes.get(proj.post)
            if post_spikes is not None and len(post_spikes):
                post = network.population(proj.post)
                in_degree = np.bincount(proj.j, minlength=post.size)
                local_core = core[network.offsets[proj.post] + post_spikes.neuron.astype(np.int64)]
                add(
                    "learning_update",
                    _by_step_core(
                        post_spikes.step,
                        local_core,
                        in_degree[post_spikes.neuron],
                        n_steps,
                        n_cores,
                    ),
                )

    per_core = {"neuron_update": np.bincount(core, minlength=n_cores).astype(np.int64) * n_steps}
    for kind in EVENT_KINDS[1:]:
        per_core[kind] = np.asarray(matrices[kind].sum(axis=0)).ravel().astype(np.int64)
    windows = {}
    if window_ms is not None:
        windows = _windows(matrices, per_core, n_steps, dt_ms, window_ms, core, n_cores)
    return EventCounts(
        per_core=per_core,
        step_work_ns=_step_work_ns(matrices, core, n_cores, n_steps, mapping.chip),
        n_steps=n_steps,
        dt_ms=dt_ms,
        n_chips=mapping.n_chips,
        n_cores_used=mapping.n_cores_used,
        chip_name=mapping.chip.name,
        inference_ms=network.inference_ms,
        window_ms=window_ms,
        windows=windows,
        per_step=dict(matrices) if per_step else {},
    )


def _windows(
    matrices: dict[str, sp.csr_matrix],
    per_core: dict[str, np.ndarray],
    n_steps: int,
    dt_ms: float,
    window_ms: float,
    core: np.ndarray,
    n_cores: int,
) -> dict[str, np.ndarray]:
    if window_ms <= 0:
        raise ValueError(f"window_ms must be > 0, got {window_ms}")
    steps_per_window = max(1, round(window_ms / dt_ms))
    window_of_step = np.arange(n_steps) // steps_per_window
    n_windows = int(window_of_step[-1]) + 1
    binning = sp.csr_matrix(
        (np.ones(n_steps, dtype=np.int64), (window_of_step, np.arange(n_steps))),
        shape=(n_windows, n_steps),
    )
    out = {}
    steps_in_window = np.bincount(window_of_step, minlength=n_windows)
    neurons = np.bincount(core, minlength=n_cores)
    out["neuron_update"] = np.outer(steps_in_window, neurons).astype(np.int64)
    for kind, matrix in matrices.items():
        out[kind] = np.asarray((binning @ matrix).todense(), dtype=np.int64)
    return out


def _step_work_ns(
    matrices: dict[str, sp.csr_matrix],
    core: np.ndarray,
    n_cores: int,
    n_steps: int,
    chip: ChipSpec,
) -> np.ndarray:
    """Per step, the busiest core's work in ns (sum of its events x time per event)."""
    base = np.bincount(core, minlength=n_cores) * chip.time_ns("neuron_update")
    weighted: sp.csr_matrix | None = None
    for kind, matrix in matrices.items():
        time = chip.time_ns(kind)
        if time and matrix.nnz:
            part = matrix.astype(float) * time
            weighted = part if weighted is None else weighted + part
    if weighted is None:
        return np.full(n_steps, float(base.max()) if n_cores else 0.0)
    weighted = weighted.tocsr()
    out = np.empty(n_steps)
    for start in range(0, n_steps, _STEP_CHUNK):
        block = weighted[start : start + _STEP_CHUNK].toarray() + base
        out[start : start + _STEP_CHUNK] = block.max(axis=1)
    return out


def time_on_chip_s(counts: EventCounts, chip: ChipSpec) -> tuple[float, list[str]]:
    """Time the chip takes for the run under its timing mode, and notes about it."""
    notes = []
    simulated_s = counts.simulated_ms * 1e-3
    mode = chip.timing.mode
    if mode == "async":
        notes.append("asynchronous chip: runs in real time, time on chip = simulated time")
        return simulated_s, notes
    work_s = counts.step_work_ns * 1e-9
    if mode == "barrier":
        return float(work_s.sum() + counts.n_steps * chip.timing.barrier_ns.value * 1e-9), notes
    tick_s = float(chip.timing.tick_ms.value) * 1e-3
    overrun = int(np.count_nonzero(work_s > tick_s))
    if overrun:
        notes.append(
            f"{overrun} of {counts.n_steps} steps overran the {tick_s * 1e3:g} ms real-time tick"
        )
    return float(np.maximum(work_s, tick_s).sum()), notes


def estimate_energy(counts: EventCounts, chip: ChipSpec) -> EnergyReport:
    """Price ``counts`` with ``chip``'s energy table: dynamic per kind and core, static, total.

    An event kind whose energy the descriptor marks unknown is priced only if it did not occur;
    otherwise it is listed in ``unpriced`` and the totals are ``None`` (never zero).
    """
    time_s, notes = time_on_chip_s(counts, chip)
    dynamic: dict[str, float | None] = {}
    unpriced = []
    per_core = np.zeros(counts.n_cores)
    for kind in EVENT_KINDS:
        energy = chip.energy_pj(kind)
        events = counts.per_core[kind]
        if energy is None:
            if events.sum() > 0:
                dynamic[kind] = None
                unpriced.append(kind)
            else:
                dynamic[kind] = 0.0
            continue
        dynamic[kind] = float(events.sum()) * energy
        per_core += events * energy
    static_mw = chip.static_power_mw(counts.n_chips, counts.n_cores_used)
    if static_mw is None:
        unpriced.append("static")
        static_pj = None
    else:
        static_pj = static_mw * 1e-3 * time_s * 1e12
    n_inferences = None
    if counts.inference_ms:
        n_inferences = counts.simulated_ms / counts.inference_ms
    if chip.energy.accounting == "amortised":
        notes.append("amortised per-event energies: static power is inside them, not added")
    return EnergyReport(
        device=chip.name,
        device_kind="chip",
        style=chip.energy.accounting,
        method="model",
        scope="chip",
        simulated_ms=counts.simulated_ms,
        time_s=time_s,
        dynamic_pj=dynamic,
        static_pj=static_pj,
        counts=counts.totals(),
        per_core_pj=None if unpriced else per_core,
        unpriced=tuple(unpriced),
        n_inferences=n_inferences,
        notes=tuple(notes),
    )
