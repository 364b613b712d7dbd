"""Per-layer results: events, energy and work share per population and per projection, and the
NeuroBench metrics of spiking networks (:func:`layer_report`).

Every event is charged to one row, so the rows of a kind sum exactly (integers) to its total in
:class:`~neuroemu.accounting.counting.EventCounts`:

- a **population** row holds its own ``neuron_update`` and ``spike_out``, the packets its spikes
  send (``message``, ``hop``, ``chip_crossing``; finer ``message_in`` and hops by direction where
  the chip counts them), its ``neuron_changed``, and the ``synaptic_event`` and
  ``learning_update`` of the projections *into* it (the work its cores do for its inputs);
- an **input** row (Poisson or spike-time source) holds its ``input_event``: a packet from an
  input reaches a core for all of that core's targets at once, so it belongs to no single
  projection or post population;
- a **projection** row holds its ``synaptic_event`` and ``learning_update`` (the only kinds that
  belong to one projection: a packet serves every projection of its source that reaches the core).

The counts run through the machinery of :func:`~neuroemu.accounting.counting.count_events`
itself, with rows in place of cores: the same per-neuron packet tables
(:func:`~neuroemu.accounting.counting.routing_per_neuron`), the same delivery of delayed spikes
(a delivery at or after the end of the run is not counted), the same changed-neuron record. So
the sums are exact by construction, and :func:`count_by_layer` checks them against the totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuroemu.accounting.counting import (
    EventCounts,
    _add_deliveries,
    _delayed_fanout,
    _source_size,
    _StepCoreCounts,
    routing_per_neuron,
)
from neuroemu.accounting.detail import changed_neurons, packet_pattern
from neuroemu.accounting.neurobench import NeuroBenchMetrics, neurobench_metrics
from neuroemu.activity import Activity
from neuroemu.dataframes import to_dataframe
from neuroemu.errors import NeuroEmuError
from neuroemu.events import EVENT_KINDS
from neuroemu.mapping.mapping import Mapping
from neuroemu.network.network import Network
from neuroemu.spec.chip import REFINES, ChipSpec
from neuroemu.spec.descriptor import Bound
from neuroemu.timesteps import delay_steps

# The kinds that belong to one projection (the others belong to a population or an input).
PROJECTION_KINDS: tuple[str, ...] = ("synaptic_event", "learning_update")


@dataclass(frozen=True, eq=False)
class LayerCounts:
    """Events per population or input (a "group") and per projection.

    Attributes
    ----------
    groups : tuple of str
        The populations in network order, then the inputs.
    group_types : tuple of str
        ``population`` or ``input``, one per group.
    per_group : dict
        Event kind (all of :data:`~neuroemu.events.EVENT_KINDS`) -> int64 array, one per group;
        each sums to the kind's total over all cores.
    detail_per_group : dict
        Finer count the chip prices (``neuron_changed``, ``message_in``, ``hop_east_west``,
        ``hop_north_south``) -> int64 array per group (empty for most chips).
    projections : tuple of str
        Projection names in network order.
    projection_pre, projection_post : tuple of str
        Each projection's source group and target population.
    per_projection : dict
        ``synaptic_event`` and ``learning_update`` -> int64 array per projection (each sums to
        the kind's total; the population rows hold the sums over the projections into them).
    detail_per_projection : dict
        ``synaptic_event_conv`` -> int64 array per projection, where the chip prices the
        synaptic events of kernel-stored projections apart (their ``synaptic_event``, zero for
        the others); empty otherwise.
    n_steps, dt_ms : int, float
        The run's length and timestep.
    """

    groups: tuple[str, ...]
    group_types: tuple[str, ...]
    per_group: dict[str, np.ndarray]
    detail_per_group: dict[str, np.ndarray]
    projections: tuple[str, ...]
    projection_pre: tuple[str, ...]
    projection_post: tuple[str, ...]
    per_projection: dict[str, np.ndarray]
    n_steps: int
    dt_ms: float
    detail_per_projection: dict[str, np.ndarray] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        """Event kind -> total over the groups (equals :meth:`EventCounts.totals`)."""
        return {kind: int(self.per_group[kind].sum()) for kind in EVENT_KINDS}


def count_by_layer(
    network: Network,
    activity: Activity,
    mapping: Mapping,
    counts: EventCounts | None = None,
) -> LayerCounts:
    """Count every event of ``activity`` per population, input and projection.

    Parameters
    ----------
    network, activity, mapping
        As given to :func:`~neuroemu.accounting.counting.count_events`.
    counts : EventCounts or None
        That count, to check the rows against: every kind and finer count must sum to its
        total exactly.

    Returns
    -------
    LayerCounts

    Raises
    ------
    NeuroEmuError
        When ``counts`` disagrees (it was made from another run or mapping).
    """
    pops, inputs = network.populations, network.inputs
    groups = tuple(g.name for g in (*pops, *inputs))
    row = {name: k for k, name in enumerate(groups)}
    n_steps, n_groups = activity.n_steps, len(groups)
    chip = mapping.chip
    detail = chip.detail_kinds()
    per_neuron = routing_per_neuron(mapping)
    if "message_in" in detail:  # one packet in per packet out, at the cores it reaches
        pattern = packet_pattern(mapping, chip.topology.messages_to_own_core)
        per_neuron["message_in"] = np.diff(pattern.indptr).astype(np.int64)

    # rows in place of the cores that count_events uses as columns
    rows = _StepCoreCounts(n_steps, n_groups)
    for pop in pops:
        spikes = activity.spikes.get(pop.name)
        if spikes is None or not len(spikes):
            continue
        neuron = spikes.neuron.astype(np.int64) + network.offsets[pop.name]
        emitted: dict[str, Any] = {"spike_out": None}
        emitted.update({kind: values[neuron] for kind, values in per_neuron.items()})
        rows.add_events(spikes.step, np.full(len(neuron), row[pop.name]), emitted)
    if "neuron_changed" in detail:
        neuron, step = changed_neurons(network, activity)
        starts = np.array([network.offsets[p.name] for p in pops])
        group = np.searchsorted(starts, neuron, side="right") - 1
        rows.add_events(step, group, {"neuron_changed": None})
    # an input spike reaches each core holding targets of it once (count_events' pattern)
    used = np.unique(mapping.core_of_neuron)
    reached = np.diff((mapping.input_dest_synapses.tocsr()[:, used] > 0).tocsr().indptr)
    for source in inputs:
        spikes = activity.spikes.get(source.name)
        if spikes is None or not len(spikes):
            continue
        neuron = spikes.neuron.astype(np.int64) + network.offsets[source.name]
        weights = {"input_event": reached[neuron].astype(np.int64)}
        rows.add_events(spikes.step, np.full(len(neuron), row[source.name]), weights)

    per_projection = _count_projections(network, activity)
    post_row = np.array([row[p.post] for p in network.projections], dtype=np.int64)
    per_group = {"neuron_update": np.zeros(n_groups, dtype=np.int64)}
    per_group["neuron_update"][: len(pops)] = [p.size * n_steps for p in pops]
    for kind in EVENT_KINDS[1:]:
        if kind in PROJECTION_KINDS:  # integer sums: no detour through float weights
            per_group[kind] = np.zeros(n_groups, dtype=np.int64)
            np.add.at(per_group[kind], post_row, per_projection[kind])
        else:
            per_group[kind] = _row_sums(rows.matrix(kind))
    detail_per_group = {
        kind: _row_sums(rows.matrix(kind)) for kind in detail if kind != "synaptic_event_conv"
    }
    detail_per_projection = {}
    if "synaptic_event_conv" in detail:  # deliveries of projections stored as kernels
        kernels = {encoding.projection for encoding in mapping.encodings if encoding.shared}
        stored = np.array([p.name in kernels for p in network.projections], dtype=bool)
        conv = np.where(stored, per_projection["synaptic_event"], 0).astype(np.int64)
        detail_per_projection["synaptic_event_conv"] = conv
        detail_per_group["synaptic_event_conv"] = np.zeros(n_groups, dtype=np.int64)
        np.add.at(detail_per_group["synaptic_event_conv"], post_row, conv)
    layers = LayerCounts(
        groups=groups,
        group_types=tuple(["population"] * len(pops) + ["input"] * len(inputs)),
        per_group=per_group,
        detail_per_group=detail_per_group,
        projections=tuple(p.name for p in network.projections),
        projection_pre=tuple(p.pre for p in network.projections),
        projection_post=tuple(p.post for p in network.projections),
        per_projection=per_projection,
        n_steps=n_steps,
        dt_ms=activity.dt_ms,
        detail_per_projection=detail_per_projection,
    )
    if counts is not None:
        _check_sums(layers, counts)
    return layers


def _count_projections(network: Network, activity: Activity) -> dict[str, np.ndarray]:
    """``synaptic_event`` and ``learning_update`` per projection, delivered as count_events
    delivers them, with one column per projection instead of one per core."""
    n_proj = len(network.projections)
    n_steps = activity.n_steps
    columns = _StepCoreCounts(n_steps, max(n_proj, 1))
    members: dict[str, dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]] = {
        kind: {} for kind in PROJECTION_KINDS
    }
    for p, proj in enumerate(network.projections):
        spikes = activity.spikes.get(proj.pre)
        if spikes is None or not len(spikes):
            continue  # as count_events: nothing of this projection is counted
        column = np.full(proj.n_synapses, p, dtype=np.int64)
        steps = delay_steps(proj.delay_ms, activity.dt_ms)
        kinds = PROJECTION_KINDS if proj.plasticity is not None else PROJECTION_KINDS[:1]
        for kind in kinds:
            members[kind].setdefault(proj.pre, []).append((proj.i, column, steps))
        if proj.plasticity is not None:  # the postsynaptic half of STDP
            post_spikes = activity.spikes.get(proj.post)
            if post_spikes is not None and len(post_spikes):
                in_degree = np.bincount(proj.j, minlength=network.population(proj.post).size)
                columns.add_events(
                    post_spikes.step,
                    np.full(len(post_spikes), p, dtype=np.int64),
                    {"learning_update": in_degree[post_spikes.neuron]},
                )
    for kind, sources in members.items():
        for pre, projections in sources.items():
            size = _source_size(network, pre)
            delays, fanout = _delayed_fanout(projections, size, columns.n_used)
            _add_deliveries(columns, kind, activity.spikes[pre], delays, fanout, n_steps)
    return {kind: _row_sums(columns.matrix(kind))[:n_proj] for kind in PROJECTION_KINDS}


def _row_sums(matrix: Any) -> np.ndarray:
    """Per column of a ``(n_steps, n_rows)`` count matrix, its total (int64)."""
    return np.asarray(matrix.sum(axis=0), dtype=np.int64).ravel()


def _check_sums(layers: LayerCounts, counts: EventCounts) -> None:
    """Every kind's rows must sum to its total; anything else means another run or mapping."""
    expected = {**counts.totals()}
    expected.update({k: int(v.sum()) for k, v in counts.detail_per_core.items()})
    got = {**layers.totals()}
    got.update({k: int(v.sum()) for k, v in layers.detail_per_group.items()})
    got.update({f"{k} (projections)": int(v.sum()) for k, v in layers.per_projection.items()})
    expected.update({f"{k} (projections)": expected[k] for k in PROJECTION_KINDS})
    wrong = [f"{k}: {got.get(k)} != {v}" for k, v in expected.items() if got.get(k) != v]
    if wrong:
        raise NeuroEmuError(
            f"per-layer counts do not sum to the run's counts ({'; '.join(wrong)}): count "
            f"the layers with the network, activity and mapping the counts were made from"
        )


@dataclass(frozen=True, eq=False)
class LayerEnergy:
    """Dynamic energy and per-event work of each group and projection, at one bound.

    Only dynamic energy is split: static power (chips and cores switched on, times the time on
    chip) and the wall scope's supply loss and host are costs of the run, not of a layer, and stay
    whole in the :class:`~neuroemu.report.EnergyReport`. A reader who wants them apportioned can
    scale them by :attr:`work_share`.

    Attributes
    ----------
    dynamic_pj : dict
        Event kind -> float array per group, in pJ (finer counts priced under the kind they
        refine, as :func:`~neuroemu.accounting.pricing.estimate_energy` does); ``None`` for a
        kind the report leaves unpriced. Summed over groups and kinds: the report's dynamic
        energy of the chip scope (within float rounding).
    projection_dynamic_pj : dict
        ``synaptic_event`` and ``learning_update`` -> float array per projection (None as above).
    work_ns : ndarray
        Per group, its events x the time each occupies its core (``chip.work_ns``), in ns.
    projection_work_ns : ndarray
        The same per projection (its synaptic events and learning updates).
    unpriced : tuple of str
        Kinds with events but no known energy.
    """

    dynamic_pj: dict[str, np.ndarray | None]
    projection_dynamic_pj: dict[str, np.ndarray | None]
    work_ns: np.ndarray
    projection_work_ns: np.ndarray
    unpriced: tuple[str, ...]

    @property
    def total_pj(self) -> np.ndarray | None:
        """Dynamic energy per group over all kinds (None when a kind is unpriced)."""
        return _sum_kinds(self.dynamic_pj, len(self.work_ns))

    @property
    def projection_total_pj(self) -> np.ndarray | None:
        return _sum_kinds(self.projection_dynamic_pj, len(self.projection_work_ns))

    @property
    def work_share(self) -> np.ndarray:
        """Per group, its share (0-1) of the summed per-event core time.

        A share of work, not a time: time on chip is set per step by the busiest core (plus a
        barrier), so a layer's work does not add up to it; the shares sum to 1.
        """
        total = float(self.work_ns.sum())
        return self.work_ns / total if total > 0 else np.zeros_like(self.work_ns)

    @property
    def projection_work_share(self) -> np.ndarray:
        """Per projection, its share of the same total (the groups' work)."""
        total = float(self.work_ns.sum())
        return (
            self.projection_work_ns / total if total > 0 else np.zeros_like(self.projection_work_ns)
        )


def _sum_kinds(parts: dict[str, np.ndarray | None], n: int) -> np.ndarray | None:
    if any(v is None for v in parts.values()):
        return None
    return np.sum([v for v in parts.values() if v is not None], axis=0) + np.zeros(n)


def price_by_layer(layers: LayerCounts, chip: ChipSpec, bound: Bound = "value") -> LayerEnergy:
    """Price each group and projection with ``chip``'s per-event energies and times.

    The rules are :func:`~neuroemu.accounting.pricing.estimate_energy`'s, row by row: hops priced
    by direction where the chip does so, finer counts added to the kind they refine, an unknown
    energy of events that occurred leaves the kind unpriced (None), never zero.

    Parameters
    ----------
    layers : LayerCounts
        From :func:`count_by_layer`.
    chip : ChipSpec
        The descriptor the counts were made for.
    bound : str
        ``value``, ``low`` or ``high``: which end of the descriptor's ranges.

    Returns
    -------
    LayerEnergy
    """
    unpriced: list[str] = []
    dynamic = _dynamic_pj(layers.per_group, layers.detail_per_group, chip, bound, unpriced)
    projection = _dynamic_pj(layers.per_projection, layers.detail_per_projection, chip, bound, [])
    times = chip.work_ns(bound)
    return LayerEnergy(
        dynamic_pj=dynamic,
        projection_dynamic_pj=projection,
        work_ns=_work_ns({**layers.per_group, **layers.detail_per_group}, times),
        projection_work_ns=_work_ns(
            {**layers.per_projection, **layers.detail_per_projection}, times
        ),
        unpriced=tuple(unpriced),
    )


def _dynamic_pj(
    per_kind: dict[str, np.ndarray],
    detail: dict[str, np.ndarray],
    chip: ChipSpec,
    bound: Bound,
    unpriced: list[str],
) -> dict[str, np.ndarray | None]:
    """Row by row, what ``pricing._price`` and ``_price_detail`` do with per-core counts."""
    by_direction = chip.energy.hop_pj_by_direction is not None
    dynamic: dict[str, np.ndarray | None] = {}
    for kind in EVENT_KINDS:
        events = per_kind.get(kind)
        if events is None or (kind == "hop" and by_direction):
            continue
        energy = chip.energy_pj(kind, bound)
        if energy is None:
            if events.sum() > 0:
                dynamic[kind] = None
                unpriced.append(kind)
            else:
                dynamic[kind] = np.zeros(len(events))
            continue
        dynamic[kind] = events * energy
    if by_direction and "hop" in per_kind:
        dynamic["hop"] = np.zeros(len(per_kind["hop"]))
    for kind, events in detail.items():
        refined = REFINES[kind]
        energy = chip.detail_energy_pj(kind, bound)
        current = dynamic.get(refined)
        if energy is None:
            if events.sum() > 0 and current is not None:
                dynamic[refined] = None
                unpriced.append(refined)
            continue
        if current is not None:
            dynamic[refined] = current + events * energy
    return dynamic


def _work_ns(per_kind: dict[str, np.ndarray], times: dict[str, float]) -> np.ndarray:
    n = len(next(iter(per_kind.values())))
    work = np.zeros(n)
    for name, time in times.items():
        if name in per_kind:
            work += per_kind[name] * time
    return work


@dataclass(frozen=True, eq=False)
class LayerReport:
    """Counts, energy, work share and NeuroBench metrics per group and per projection.

    A group's NeuroBench figures are those of its layer in the harness's sense: its neurons and
    the projections *into* it (synaptic operations, connection sparsity and weights belong to
    the connection layer that feeds a spiking layer), so the group rows sum to the totals too.

    Attributes
    ----------
    counts : LayerCounts
    energy : LayerEnergy
    metrics : NeuroBenchMetrics
    sizes : ndarray
        Neurons (or sources) per group.
    """

    counts: LayerCounts
    energy: LayerEnergy
    metrics: NeuroBenchMetrics
    sizes: np.ndarray

    def group_rows(self) -> list[dict[str, Any]]:
        """One flat dict per group (populations, then inputs), in plain Python types.

        Keys: ``name``, ``type`` (``population`` or ``input``), ``size``; one count per event
        kind (and per finer count the chip prices); ``<kind>_pj`` per priced kind and
        ``dynamic_pj`` (None when unpriced); ``work_ns`` and ``work_share``; the NeuroBench
        figures of the layer over the whole run (``effective_acs``, ``dense_ops``: divide by
        ``metrics.n_samples`` for the harness's per-sample figures), ``activation_sparsity``
        (None for an input), ``connection_sparsity`` (None without projections into it),
        ``footprint_bytes`` and ``dense_footprint_bytes``. Every count, energy, work and byte
        column sums over the rows to the run's total.
        """
        c, e, m = self.counts, self.energy, self.metrics
        post = np.array([c.groups.index(p) for p in c.projection_post], dtype=np.int64)

        def incoming(values: np.ndarray) -> np.ndarray:
            return np.bincount(post, weights=values, minlength=len(c.groups)).astype(np.int64)

        acs, dense = incoming(m.effective_acs), incoming(m.dense_ops)
        nonzero, possible = incoming(m.n_nonzero_weights), incoming(m.n_possible_weights)
        stored, as_dense = incoming(m.projection_bytes), incoming(m.projection_dense_bytes)
        total_pj = e.total_pj
        rows = []
        for k, name in enumerate(c.groups):
            row: dict[str, Any] = {"name": name, "type": c.group_types[k]}
            row["size"] = int(self.sizes[k])
            row.update({kind: int(c.per_group[kind][k]) for kind in EVENT_KINDS})
            row.update({kind: int(v[k]) for kind, v in c.detail_per_group.items()})
            row.update(_energy_columns(e.dynamic_pj, total_pj, k))
            row["work_ns"] = float(e.work_ns[k])
            row["work_share"] = float(e.work_share[k])
            is_pop = c.group_types[k] == "population"
            row["effective_acs"] = int(acs[k])
            row["dense_ops"] = int(dense[k])
            row["activation_sparsity"] = (
                1.0 - int(m.n_spikes[k]) / int(m.n_activations[k]) if is_pop else None
            )
            row["connection_sparsity"] = 1.0 - nonzero[k] / possible[k] if possible[k] else None
            row["footprint_bytes"] = int(m.neuron_bytes[k] + stored[k])
            row["dense_footprint_bytes"] = int(m.neuron_bytes[k] + as_dense[k])
            rows.append(row)
        return rows

    def projection_rows(self) -> list[dict[str, Any]]:
        """One flat dict per projection, in plain Python types.

        Keys: ``name``, ``pre``, ``post``, ``synaptic_event``, ``learning_update``, their
        ``_pj`` and ``dynamic_pj``, ``work_ns``, ``work_share`` (of all groups' work), and the
        NeuroBench figures of its weight matrix, as in :meth:`group_rows`.
        """
        c, e, m = self.counts, self.energy, self.metrics
        total_pj = e.projection_total_pj
        share = e.projection_work_share
        rows = []
        for k, name in enumerate(c.projections):
            row: dict[str, Any] = {"name": name, "pre": c.projection_pre[k]}
            row["post"] = c.projection_post[k]
            row.update({kind: int(v[k]) for kind, v in c.per_projection.items()})
            row.update(_energy_columns(e.projection_dynamic_pj, total_pj, k))
            row["work_ns"] = float(e.projection_work_ns[k])
            row["work_share"] = float(share[k])
            row["effective_acs"] = int(m.effective_acs[k])
            row["dense_ops"] = int(m.dense_ops[k])
            possible = int(m.n_possible_weights[k])
            nonzero = int(m.n_nonzero_weights[k])
            row["connection_sparsity"] = 1.0 - nonzero / possible if possible else None
            row["footprint_bytes"] = int(m.projection_bytes[k])
            row["dense_footprint_bytes"] = int(m.projection_dense_bytes[k])
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: ``n_steps``, ``dt_ms``, ``groups`` and ``projections`` (lists of
        rows, see :meth:`group_rows`), ``neurobench`` (the network's totals,
        :meth:`NeuroBenchMetrics.totals`), ``unpriced`` and ``notes`` (what the rows do and do
        not split)."""
        return {
            "n_steps": self.counts.n_steps,
            "dt_ms": self.counts.dt_ms,
            "groups": self.group_rows(),
            "projections": self.projection_rows(),
            "neurobench": self.metrics.totals(),
            "unpriced": list(self.energy.unpriced),
            "notes": list(NOTES),
        }

    def to_dataframe(self, by: str = "population") -> Any:
        """The rows as a pandas DataFrame indexed by name: ``by='population'`` for the groups
        (populations and inputs), ``by='projection'`` for the projections. pandas is
        imported here only (typed ``Any``: the package does not depend on it).

        Raises
        ------
        NeuroEmuError
            When pandas is not installed, or for another ``by``.
        """
        if by not in ("population", "projection"):
            raise NeuroEmuError(f"by={by!r}: expected 'population' or 'projection'")
        rows = self.group_rows() if by == "population" else self.projection_rows()
        return to_dataframe(rows, index="name")


NOTES: tuple[str, ...] = (
    "each event is counted once: a population's row holds its neuron updates, its spikes and "
    "the packets they send, and the synaptic events and learning updates of the projections "
    "into it; an input's row holds its input events",
    "energy per row is dynamic energy only: static energy (and the wall scope's supply loss "
    "and host) is a cost of the whole run and is not split",
    "work_share is a share of the summed per-event core time, not a share of time on chip",
)


def _energy_columns(
    dynamic: dict[str, np.ndarray | None], total: np.ndarray | None, k: int
) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        f"{kind}_pj": None if values is None else float(values[k])
        for kind, values in dynamic.items()
    }
    out["dynamic_pj"] = None if total is None else float(total[k])
    return out


def layer_report(
    network: Network,
    activity: Activity,
    mapping: Mapping,
    counts: EventCounts | None = None,
    chip: ChipSpec | None = None,
    bound: Bound = "value",
) -> LayerReport:
    """Per-layer counts (checked against ``counts``), energy and NeuroBench metrics of a run.

    Parameters
    ----------
    network, activity, mapping
        As given to :func:`~neuroemu.accounting.counting.count_events`.
    counts : EventCounts or None
        The run's counts, to check that the rows sum to them.
    chip : ChipSpec or None
        The descriptor pricing the run (default: the mapping's).
    bound : str
        ``value``, ``low`` or ``high`` end of the descriptor's ranges.

    Returns
    -------
    LayerReport
    """
    layers = count_by_layer(network, activity, mapping, counts)
    sizes = [g.size for g in (*network.populations, *network.inputs)]
    return LayerReport(
        counts=layers,
        energy=price_by_layer(layers, chip or mapping.chip, bound),
        metrics=neurobench_metrics(network, activity),
        sizes=np.array(sizes, dtype=np.int64),
    )
