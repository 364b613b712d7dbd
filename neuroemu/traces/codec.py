"""Encoding of neuroemu's objects in HDF5 groups, and decoding them back, one pair per object.

:mod:`neuroemu.traces.file` owns the file (layout, provenance, atomic writes, versions); this module
owns how a Network, a Mapping, an Activity, EventCounts and an EnergyReport are laid out inside
it, so that each write/read pair can be read side by side and round-trip tests cover them.
Large arrays are chunked and compressed (lzf + shuffle) and carry their units as attributes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import h5py
import numpy as np
import scipy.sparse as sp

from neuroemu.accounting.counting import EventCounts
from neuroemu.accounting.inferences import InferenceResults
from neuroemu.activity import Activity, QuantisationReport, Spikes
from neuroemu.mapping.encodings import ProjectionEncoding
from neuroemu.mapping.mapping import Mapping
from neuroemu.network.inference import InferenceSchedule
from neuroemu.network.network import (
    STDP,
    Network,
    PoissonInput,
    Population,
    Projection,
    SpikeTimesInput,
)
from neuroemu.network.neuron_models import NeuronModel, SynapticTarget
from neuroemu.network.structure import ConvStructure
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec
from neuroemu.units import split_unit

_CHUNK_MIN = 1 << 14
_CHUNK = 1 << 18


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...] | bool:
    if len(shape) == 1:
        return (min(shape[0], _CHUNK),)
    if len(shape) == 2:
        cols = min(shape[1], _CHUNK)
        return (max(1, min(shape[0], _CHUNK // cols)), cols)
    return True


def _put(group: h5py.Group, name: str, data: Any, units: str | None = None) -> h5py.Dataset:
    """Store an array (compressed when large) with its unit as the ``units`` attribute.

    Every non-empty array carries HDF5's Fletcher-32 checksum (which needs chunked storage; a
    small array is one chunk), verified by HDF5 on every read: damaged bytes are an error, never
    changed numbers.
    """
    array = np.asarray(data)
    scalar = array.ndim == 0
    if scalar:  # a one-element array, so that it can carry a checksum too (read by _value)
        array = array.reshape(1)
    options: dict[str, Any] = {}
    if array.ndim and array.size:
        options = {"chunks": array.shape, "fletcher32": True}
    if array.ndim and array.size >= _CHUNK_MIN:
        options = {"chunks": _chunks(array.shape), "compression": "lzf", "shuffle": True,
                   "fletcher32": True}  # fmt: skip
    dataset = group.create_dataset(name, data=array, **options)
    if scalar:
        dataset.attrs["scalar"] = True
    if units is not None:
        dataset.attrs["units"] = units
    return dataset


def _value(dataset: h5py.Dataset) -> Any:
    """A dataset's content: a Python scalar for a 0-d dataset, else the array."""
    value = dataset[()]
    if dataset.attrs.get("scalar", False):
        return value.reshape(()).item()
    return value.item() if np.ndim(value) == 0 else value


def write_text(group: h5py.Group, name: str, text: str) -> None:
    """Text as UTF-8 bytes (a checksummed array; an HDF5 string cannot carry a checksum)."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    _put(group, name, data if data.size else np.zeros(0, np.uint8)).attrs["encoding"] = "utf-8"


def read_text(dataset: h5py.Dataset) -> str:
    """Text written by :func:`write_text` (or, in older traces, an HDF5 string)."""
    if dataset.attrs.get("encoding") == "utf-8":
        return bytes(dataset[()]).decode("utf-8")
    return str(dataset.asstr()[()])


def _put_strings(attrs: h5py.AttributeManager, name: str, items: Any) -> None:
    attrs.create(name, np.array(list(items), dtype=object), dtype=h5py.string_dtype())


def read_strings(attrs: h5py.AttributeManager, name: str) -> list[str]:
    return [str(item) for item in attrs.get(name, [])]


def read_scalars(attrs: h5py.AttributeManager) -> dict[str, Any]:
    """Attributes as Python scalars (numpy scalars unwrapped)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in attrs.items()}


def read_optional(attrs: h5py.AttributeManager, name: str) -> Any:
    value = attrs.get(name)
    return value.item() if isinstance(value, np.generic) else value


def _set(attrs: h5py.AttributeManager, **values: Any) -> None:
    """Set attributes, leaving out ``None`` (absent attribute = None when read)."""
    for key, value in values.items():
        if value is not None:
            attrs[key] = value


def _put_csr(group: h5py.Group, matrix: sp.spmatrix) -> None:
    csr = sp.csr_matrix(matrix)
    group.attrs["format"] = "csr"
    group.attrs["shape"] = np.asarray(csr.shape, dtype=np.int64)
    for part in ("data", "indices", "indptr"):
        _put(group, part, getattr(csr, part))


def _read_csr(group: h5py.Group) -> sp.csr_matrix:
    shape = tuple(int(n) for n in group.attrs["shape"])
    parts = (group["data"][()], group["indices"][()], group["indptr"][()])
    return sp.csr_matrix(parts, shape=shape)


def _unit_of(name: str) -> str:
    """Unit of a quantity from its name suffix (``v_mV`` -> ``mV``, ``n_bits`` -> ``bits``)."""
    if name.endswith("_bits"):
        return "bits"
    return split_unit(name)[1]


# ---- network -------------------------------------------------------------------------------


_MODEL_TEXTS = ("name", "equations", "threshold", "reset", "refractory", "method", "description")


def _write_model(group: h5py.Group, model: NeuronModel) -> None:
    for name in _MODEL_TEXTS:
        group.attrs[name] = getattr(model, name)
    group.attrs["flops_per_update"] = int(model.flops_per_update)
    group.create_group("parameters", track_order=True).attrs.update(model.parameters)
    group.create_group("state_units", track_order=True).attrs.update(model.state_units)
    targets = group.create_group("targets", track_order=True)
    for name, target in model.targets.items():
        targets.create_group(name).attrs.update(
            {"on_pre": target.on_pre, "weight_unit": target.weight_unit}
        )


def _read_model(group: h5py.Group) -> NeuronModel:
    attrs = read_scalars(group.attrs)
    return NeuronModel(
        **{k: str(attrs[k]) for k in _MODEL_TEXTS},
        flops_per_update=int(attrs["flops_per_update"]),
        parameters=read_scalars(group["parameters"].attrs),
        targets={
            name: SynapticTarget(str(g.attrs["on_pre"]), str(g.attrs["weight_unit"]))
            for name, g in group["targets"].items()
        },
        state_units={k: str(v) for k, v in group["state_units"].attrs.items()},
    )


def write_network(group: h5py.Group, network: Network) -> None:
    """``/network``: populations (full neuron model), inputs, projections (every synapse)."""
    _set(group.attrs, name=network.name, inference_ms=network.inference_ms)
    populations = group.create_group("populations", track_order=True)
    for pop in network.populations:
        node = populations.create_group(pop.name, track_order=True)
        node.attrs["size"] = int(pop.size)
        if not pop.on_chip:  # written only when set, so on-chip traces are as before
            node.attrs["on_chip"] = False
        _write_model(node.create_group("model", track_order=True), pop.model)
        node.create_group("parameters", track_order=True).attrs.update(pop.parameters)
        initial = node.create_group("initial", track_order=True)
        for name, value in pop.initial.items():
            _put(initial, name, value, _unit_of(name))
    inputs = group.create_group("inputs", track_order=True)
    for source in network.inputs:
        node = inputs.create_group(source.name, track_order=True)
        node.attrs["size"] = int(source.size)
        if isinstance(source, PoissonInput):
            node.attrs["kind"] = "poisson"
            _put(node, "rate_hz", source.rate_hz, "Hz")
        else:
            node.attrs["kind"] = "spike_times"
            _put(node, "indices", source.indices)
            _put(node, "times_ms", source.times_ms, "ms")
    projections = group.create_group("projections", track_order=True)
    for proj in network.projections:
        node = projections.create_group(proj.name, track_order=True)
        node.attrs.update({"pre": proj.pre, "post": proj.post, "target": proj.target})
        weight_unit = network.population(proj.post).neuron_model.targets[proj.target].weight_unit
        _put(node, "i", proj.i)
        _put(node, "j", proj.j)
        _put(node, "weight", proj.weight, weight_unit)
        _put(node, "delay_ms", proj.delay_ms, "ms")
        if proj.plasticity is not None:
            rule = node.create_group("plasticity", track_order=True)
            rule.attrs["rule"] = "stdp"
            rule.attrs.update(dataclasses.asdict(proj.plasticity))
        if proj.structure is not None:  # the convolution a shared-weight chip stores
            _write_structure(node.create_group("structure", track_order=True), proj.structure)
    if network.inference is not None:  # written only when set, so other traces are as before
        _write_schedule(group.create_group("inference", track_order=True), network.inference)


def _write_structure(group: h5py.Group, conv: ConvStructure) -> None:
    group.attrs["kind"] = "conv2d"
    group.attrs.update(
        {k: np.asarray(v, dtype=np.int64) for k, v in dataclasses.asdict(conv).items()}
    )


def _read_structure(group: h5py.Group) -> ConvStructure:
    attrs = group.attrs

    def ints(name: str) -> Any:  # a shape or a pair, as ConvStructure normalises it
        return tuple(int(x) for x in attrs[name])

    return ConvStructure(
        in_shape=ints("in_shape"),
        out_shape=ints("out_shape"),
        kernel=ints("kernel"),
        stride=ints("stride"),
        padding=ints("padding"),
        dilation=ints("dilation"),
        groups=int(np.asarray(attrs["groups"]).reshape(-1)[0]),
    )


def _write_schedule(group: h5py.Group, schedule: InferenceSchedule) -> None:
    """``/network/inference``: steps per inference, reset populations (``reset_all`` when
    every one is), offsets (in steps, as attributes of ``offsets``)."""
    group.attrs["steps"] = int(schedule.steps)
    group.attrs["reset_all"] = schedule.reset is None
    _put_strings(group.attrs, "reset", schedule.reset or ())
    group.create_group("offsets", track_order=True).attrs.update(
        {name: int(offset) for name, offset in schedule.offsets.items()}
    )


def _read_schedule(group: h5py.Group) -> InferenceSchedule:
    reset = None if bool(group.attrs["reset_all"]) else tuple(read_strings(group.attrs, "reset"))
    offsets = {name: int(value) for name, value in read_scalars(group["offsets"].attrs).items()}
    return InferenceSchedule(int(group.attrs["steps"]), reset=reset, offsets=offsets)


def read_network(group: h5py.Group) -> Network:
    populations = [
        Population(
            name,
            int(node.attrs["size"]),
            _read_model(node["model"]),
            parameters=read_scalars(node["parameters"].attrs),
            initial={k: _value(v) for k, v in node["initial"].items()},
            on_chip=bool(node.attrs.get("on_chip", True)),
        )
        for name, node in group["populations"].items()
    ]
    inputs: list[PoissonInput | SpikeTimesInput] = []
    for name, node in group["inputs"].items():
        size = int(node.attrs["size"])
        if node.attrs["kind"] == "poisson":
            inputs.append(PoissonInput(name, size, _value(node["rate_hz"])))
        else:
            inputs.append(SpikeTimesInput(name, size, node["indices"][()], node["times_ms"][()]))
    projections = []
    for name, node in group["projections"].items():
        rule = None
        if "plasticity" in node:
            params = read_scalars(node["plasticity"].attrs)
            params.pop("rule")
            rule = STDP(**params)
        projections.append(
            Projection(
                str(node.attrs["pre"]),
                str(node.attrs["post"]),
                node["i"][()],
                node["j"][()],
                node["weight"][()],
                delay_ms=_value(node["delay_ms"]),
                target=str(node.attrs["target"]),
                plasticity=rule,
                name=name,
                structure=_read_structure(node["structure"]) if "structure" in node else None,
            )
        )
    return Network(
        tuple(populations),
        tuple(projections),
        tuple(inputs),
        name=str(group.attrs["name"]),
        inference_ms=read_optional(group.attrs, "inference_ms"),
        inference=_read_schedule(group["inference"]) if "inference" in group else None,
    )


# ---- mapping -------------------------------------------------------------------------------


def write_mapping(group: h5py.Group, mapping: Mapping) -> None:
    """``/mapping``: placement, per-core usage and limits, fan-out per core, mesh coordinates."""
    group.attrs.update(
        {"chip": mapping.chip.name, "strategy": mapping.strategy, "n_chips": int(mapping.n_chips),
         "cores_per_chip": int(mapping.cores_per_chip)})  # fmt: skip
    _put_strings(group.attrs, "warnings", mapping.warnings)
    _put_strings(group.attrs, "resources", mapping.limits)
    _put(group, "core_of_neuron", mapping.core_of_neuron)
    _put(group, "core_xy", mapping.core_xy, "tiles")
    _put(group, "chip_of_core", mapping.chip_of_core)
    usage = group.create_group("usage", track_order=True)
    for name, values in mapping.usage.items():
        _put(usage, name, values, _unit_of(name))
    limits = group.create_group("limits", track_order=True)
    _set(limits.attrs, **mapping.limits)
    for name, values in mapping.core_limits.items():  # chips whose cores differ (Speck)
        _put(limits, name, values, _unit_of(name))
    _put_csr(group.create_group("dest_synapses"), mapping.dest_synapses)
    _put_csr(group.create_group("input_dest_synapses"), mapping.input_dest_synapses)
    if mapping.closed_by:
        group.create_group("closed_by", track_order=True).attrs.update(mapping.closed_by)
    if mapping.encodings:  # how each projection is stored (absent in older traces)
        encodings = group.create_group("encodings", track_order=True)
        for encoding in mapping.encodings:
            node = encodings.create_group(encoding.projection, track_order=True)
            for item in dataclasses.fields(encoding):
                value = getattr(encoding, item.name)
                if item.name == "conv":
                    if value is not None:
                        _write_structure(node.create_group("conv", track_order=True), value)
                else:
                    node.attrs[item.name] = value


def _read_encodings(group: h5py.Group) -> list[ProjectionEncoding]:
    out = []
    for node in group.values():
        attrs = read_scalars(node.attrs)
        conv = _read_structure(node["conv"]) if "conv" in node else None
        out.append(ProjectionEncoding(**attrs, conv=conv))
    return out


def read_mapping(group: h5py.Group, chip: ChipSpec) -> Mapping:
    return Mapping(
        chip=chip,
        strategy=str(group.attrs["strategy"]),
        n_chips=int(group.attrs["n_chips"]),
        core_of_neuron=group["core_of_neuron"][()],
        usage={name: dataset[()] for name, dataset in group["usage"].items()},
        limits={
            r: read_optional(group["limits"].attrs, r)
            for r in read_strings(group.attrs, "resources")
        },
        dest_synapses=_read_csr(group["dest_synapses"]),
        input_dest_synapses=_read_csr(group["input_dest_synapses"]),
        warnings=read_strings(group.attrs, "warnings"),
        closed_by={k: int(v) for k, v in group["closed_by"].attrs.items()}
        if "closed_by" in group
        else {},
        core_limits={name: dataset[()] for name, dataset in group["limits"].items()},
        encodings=_read_encodings(group["encodings"]) if "encodings" in group else [],
    )


# ---- activity: /activity, /spikes (NIR layout), /state -------------------------------------


def _group_sizes(network: Network) -> dict[str, tuple[int, str]]:
    sizes = {p.name: (p.size, "population") for p in network.populations}
    sizes.update({s.name: (s.size, "input") for s in network.inputs})
    return sizes


def write_activity(handle: h5py.File, activity: Activity, network: Network) -> None:
    """``/activity`` (run facts, final weights, quantisation), ``/spikes``, ``/state``."""
    group = handle.create_group("activity", track_order=True)
    group.attrs.update(
        {"dt_ms": float(activity.dt_ms), "n_steps": int(activity.n_steps),
         "seed": int(activity.seed), "device": activity.device,
         "wall_time_s": float(activity.wall_time_s)})  # fmt: skip
    weights = group.create_group("final_weights", track_order=True)
    for name, values in activity.final_weights.items():
        _put(weights, name, values)
    quantisation = group.create_group("quantisation", track_order=True)
    for name, report in activity.quantisation.items():
        fields = dataclasses.asdict(report)
        quantisation.create_group(name, track_order=True).attrs.update(fields)
    counters = group.create_group("synapse_counters", track_order=True)
    for name, arrays in activity.synapse_counters.items():
        node = counters.create_group(name, track_order=True)
        for key, values in arrays.items():
            _put(node, key, values)
    if activity.changed:  # only runs on chips that charge changed neurons record them
        changed = group.create_group("changed", track_order=True)
        for name, train in activity.changed.items():
            node = changed.create_group(name, track_order=True)
            _put(node, "neuron", train.neuron)
            _put(node, "step", train.step, "steps")

    sizes = _group_sizes(network)
    spikes = handle.create_group("spikes", track_order=True)
    spikes.attrs.update({"dt_ms": float(activity.dt_ms), "n_steps": int(activity.n_steps),
                         "time_units": "steps"})  # fmt: skip
    for name, train in activity.spikes.items():
        size, kind = sizes.get(name, (int(train.neuron.max(initial=-1)) + 1, "unknown"))
        node = spikes.create_group(name, track_order=True)
        node.attrs.update({"__type__": "NIRNodeData", "group_kind": kind})
        events = node.create_group("observables").create_group("spikes")
        events.attrs.update(
            {"__type__": "EventData", "n_neurons": int(size), "t_max": float(activity.n_steps),
             "units": "steps", "dt_ms": float(activity.dt_ms)})  # fmt: skip
        _put(events, "idx", train.neuron[np.newaxis, :])
        _put(events, "time", train.step[np.newaxis, :], "steps")

    state = handle.create_group("state", track_order=True)
    state.attrs.update({"dt_ms": float(activity.dt_ms),
                        "every_steps": int(activity.state_every_steps)})  # fmt: skip
    for pop_name, variables in activity.state.items():
        node = state.create_group(pop_name, track_order=True)
        if pop_name in activity.state_neurons:
            _put(node, "neurons", activity.state_neurons[pop_name])
        for var, values in variables.items():
            _put(node, var, values, _unit_of(var))


def read_activity(handle: h5py.File) -> Activity:
    group = handle["activity"]
    spikes = {
        name: Spikes(node["observables/spikes/idx"][0], node["observables/spikes/time"][0])
        for name, node in handle["spikes"].items()
    }
    state = handle["state"]
    return Activity(
        dt_ms=float(group.attrs["dt_ms"]),
        n_steps=int(group.attrs["n_steps"]),
        spikes=spikes,
        seed=int(group.attrs["seed"]),
        device=str(group.attrs["device"]),
        state={p: {v: d[()] for v, d in g.items() if v != "neurons"} for p, g in state.items()},
        state_neurons={p: g["neurons"][()] for p, g in state.items() if "neurons" in g},
        state_every_steps=int(state.attrs["every_steps"]),
        final_weights={k: d[()] for k, d in group["final_weights"].items()},
        quantisation={
            k: QuantisationReport(**read_scalars(g.attrs)) for k, g in group["quantisation"].items()
        },
        wall_time_s=float(group.attrs["wall_time_s"]),
        synapse_counters={
            k: {key: d[()] for key, d in g.items()} for k, g in group["synapse_counters"].items()
        },
        changed={
            name: Spikes(node["neuron"][()], node["step"][()])
            for name, node in group["changed"].items()
        }
        if "changed" in group
        else {},
    )


# ---- counts and energy ---------------------------------------------------------------------


def write_counts(group: h5py.Group, counts: EventCounts) -> None:
    """``/counts``: events per core and kind, per window, per step; the busiest core per step."""
    group.attrs.update(
        {"n_steps": int(counts.n_steps), "dt_ms": float(counts.dt_ms),
         "n_chips": int(counts.n_chips), "n_cores_used": int(counts.n_cores_used),
         "chip_name": counts.chip_name})  # fmt: skip
    _set(group.attrs, inference_ms=counts.inference_ms, window_ms=counts.window_ms)
    per_core = group.create_group("per_core", track_order=True)
    for kind, values in counts.per_core.items():
        _put(per_core, kind, values, "events")
    totals = group.create_group("totals", track_order=True)
    totals.attrs.update({kind: int(np.sum(v)) for kind, v in counts.per_core.items()})
    _put(group, "step_work_ns", counts.step_work_ns, "ns")
    windows = group.create_group("windows", track_order=True)
    for kind, values in counts.windows.items():
        _put(windows, kind, values, "events")
    per_step = group.create_group("per_step", track_order=True)
    for kind, matrix in counts.per_step.items():
        _put_csr(per_step.create_group(kind), matrix)
    if counts.detail_per_core:  # the finer counts of chips that price them (SANA-FE's)
        detail = group.create_group("detail_per_core", track_order=True)
        for kind, values in counts.detail_per_core.items():
            _put(detail, kind, values, "events")
    if counts.n_tiles_used is not None:
        group.attrs["n_tiles_used"] = int(counts.n_tiles_used)
    if counts.step_work_bounds_ns:  # the busiest core per step at the ends of the time ranges
        bounds = group.create_group("step_work_bounds_ns", track_order=True)
        for bound, values in counts.step_work_bounds_ns.items():
            _put(bounds, bound, values, "ns")


def read_counts(group: h5py.Group) -> EventCounts:
    return EventCounts(
        per_core={kind: d[()] for kind, d in group["per_core"].items()},
        step_work_ns=group["step_work_ns"][()],
        n_steps=int(group.attrs["n_steps"]),
        dt_ms=float(group.attrs["dt_ms"]),
        n_chips=int(group.attrs["n_chips"]),
        n_cores_used=int(group.attrs["n_cores_used"]),
        chip_name=str(group.attrs["chip_name"]),
        inference_ms=read_optional(group.attrs, "inference_ms"),
        window_ms=read_optional(group.attrs, "window_ms"),
        windows={kind: d[()] for kind, d in group["windows"].items()},
        per_step={kind: _read_csr(g) for kind, g in group["per_step"].items()},
        detail_per_core={k: d[()] for k, d in group["detail_per_core"].items()}
        if "detail_per_core" in group
        else {},
        n_tiles_used=int(group.attrs["n_tiles_used"]) if "n_tiles_used" in group.attrs else None,
        step_work_bounds_ns={k: d[()] for k, d in group["step_work_bounds_ns"].items()}
        if "step_work_bounds_ns" in group
        else {},
    )


def write_report(group: h5py.Group, report: EnergyReport) -> None:
    """``/energy/...``: one EnergyReport; an unpriced (None) part is stored as NaN."""
    group.attrs.update(
        {"device": report.device, "device_kind": report.device_kind, "style": report.style,
         "method": report.method, "scope": report.scope,
         "simulated_ms": float(report.simulated_ms), "time_s": float(report.time_s)})  # fmt: skip
    _set(group.attrs, static_pj=report.static_pj, n_inferences=report.n_inferences,
         total_pj=report.total_pj)  # fmt: skip
    _put_strings(group.attrs, "unpriced", report.unpriced)
    _put_strings(group.attrs, "notes", report.notes)
    dynamic = group.create_group("dynamic_pj", track_order=True)
    dynamic.attrs.update(
        {k: np.nan if v is None else float(v) for k, v in report.dynamic_pj.items()}
    )
    counts = group.create_group("counts", track_order=True)
    counts.attrs.update({k: int(v) for k, v in report.counts.items()})
    if report.per_core_pj is not None:
        _put(group, "per_core_pj", report.per_core_pj, "pJ")
    if report.operating_point:
        group.attrs["operating_point"] = report.operating_point
    # The same report at the ends of the descriptor's ranges (absent: no ranges).
    for name, bound in (("low", report.low), ("high", report.high)):
        if bound is not None:
            write_report(group.create_group(name, track_order=True), bound)


def read_report(group: h5py.Group) -> EnergyReport:
    attrs = group.attrs
    dynamic = read_scalars(group["dynamic_pj"].attrs)
    return EnergyReport(
        device=str(attrs["device"]),
        device_kind=str(attrs["device_kind"]),
        style=str(attrs["style"]),
        method=str(attrs["method"]),
        scope=str(attrs["scope"]),
        simulated_ms=float(attrs["simulated_ms"]),
        time_s=float(attrs["time_s"]),
        dynamic_pj={k: None if np.isnan(v) else float(v) for k, v in dynamic.items()},
        static_pj=read_optional(attrs, "static_pj"),
        counts={k: int(v) for k, v in group["counts"].attrs.items()},
        per_core_pj=group["per_core_pj"][()] if "per_core_pj" in group else None,
        unpriced=tuple(read_strings(attrs, "unpriced")),
        n_inferences=read_optional(attrs, "n_inferences"),
        notes=tuple(read_strings(attrs, "notes")),
        operating_point=str(attrs.get("operating_point", "")),
        low=read_report(group["low"]) if "low" in group else None,
        high=read_report(group["high"]) if "high" in group else None,
    )


def write_inferences(group: h5py.Group, inferences: InferenceResults) -> None:
    """``/inferences``: events per kind, energy and time of each inference of the run."""
    group.attrs.update(
        {"steps": int(inferences.steps), "dt_ms": float(inferences.dt_ms),
         "scope": inferences.scope, "partial_last": bool(inferences.partial_last),
         "reset_all": inferences.reset is None})  # fmt: skip
    _put_strings(group.attrs, "reset", inferences.reset or ())
    group.create_group("offsets", track_order=True).attrs.update(
        {name: int(offset) for name, offset in inferences.offsets.items()}
    )
    counts = group.create_group("counts", track_order=True)
    for kind, values in inferences.counts.items():
        _put(counts, kind, values, "events")
    _put(group, "dynamic_pj", inferences.dynamic_pj, "pJ")  # NaN: unpriced
    _put(group, "static_pj", inferences.static_pj, "pJ")
    _put(group, "time_s", inferences.time_s, "s")


def read_inferences(group: h5py.Group) -> InferenceResults:
    attrs = group.attrs
    return InferenceResults(
        steps=int(attrs["steps"]),
        dt_ms=float(attrs["dt_ms"]),
        counts={kind: np.asarray(d[()], dtype=np.int64) for kind, d in group["counts"].items()},
        dynamic_pj=np.asarray(group["dynamic_pj"][()], dtype=float),
        static_pj=np.asarray(group["static_pj"][()], dtype=float),
        time_s=np.asarray(group["time_s"][()], dtype=float),
        scope=str(attrs["scope"]),
        partial_last=bool(attrs["partial_last"]),
        reset=None if bool(attrs["reset_all"]) else tuple(read_strings(attrs, "reset")),
        offsets={k: int(v) for k, v in read_scalars(group["offsets"].attrs).items()},
    )


# ---- files ---------------------------------------------------------------------------------
