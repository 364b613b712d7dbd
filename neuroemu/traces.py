"""HDF5 traces of a run: :func:`write_trace` stores a :class:`RunResult`, :func:`read_trace` gives
the objects back as a :class:`Trace`.

A trace is what a reviewer needs to re-check a published number without re-running anything: the
network (every synapse), the mapping, the spikes, per-core counts, the energy reports, and the
provenance (versions, command, seed, the chip descriptor's full text). The layout is documented in
``docs/traces.md``.

Two promises about the file on disk: a trace is written to a temporary file in the target folder
and renamed into place only when complete (an interrupted run never leaves a half-written file at
the target path, nor clobbers an existing one), and an existing file is replaced only with
``force=True``. Spikes are stored in NIR's recorded-data layout, so ``nir.read_data`` opens a
trace directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import secrets
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np
import scipy.sparse as sp

from .accounting import EventCounts
from .activity import Activity, QuantisationReport, Spikes
from .chip import ChipSpec
from .errors import NeuroEmuError, TraceError
from .mapping import Mapping
from .network import STDP, Network, PoissonInput, Population, Projection, SpikeTimesInput
from .neuron_models import NeuronModel, SynapticTarget, split_unit
from .report import EnergyReport

if TYPE_CHECKING:
    from .pipeline import RunResult

FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True, eq=False)
class Trace:
    """Everything a trace file holds, as neuroemu objects (see ``docs/traces.md``).

    Attributes
    ----------
    path : Path
        The file read.
    format_version : int
        Trace format of the file.
    provenance : dict
        Versions, command line, seed, UTC date, model and parameters, chip file and text.
    network, chip, mapping, activity, counts : objects
        As the run produced them (the chip re-parsed from the stored descriptor text).
    report : EnergyReport
        Energy and time on the chip.
    gpu_reports : list of EnergyReport
        The same activity priced on GPUs (empty if none were asked for).
    """

    path: Path
    format_version: int
    provenance: dict[str, Any]
    network: Network
    chip: ChipSpec
    mapping: Mapping
    activity: Activity
    counts: EventCounts
    report: EnergyReport
    gpu_reports: list[EnergyReport]

    @property
    def model(self) -> str:
        return str(self.provenance.get("model", self.network.name))

    @property
    def seed(self) -> int:
        return int(self.provenance.get("seed", self.activity.seed))


# ---- encoding helpers ----------------------------------------------------------------------

# Arrays below this many elements are stored contiguous and uncompressed: smaller and faster
# than chunked for them. Larger ones are chunked, lzf + shuffle (brian2-notes §7: about 3.4x
# smaller than raw at ~280 MB/s); chunks of 2^18 elements along the long axis.
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
    """Store an array (compressed when large) with its unit as the ``units`` attribute."""
    array = np.asarray(data)
    options: dict[str, Any] = {}
    if array.ndim and array.size >= _CHUNK_MIN:
        options = {"chunks": _chunks(array.shape), "compression": "lzf", "shuffle": True}
    dataset = group.create_dataset(name, data=array, **options)
    if units is not None:
        dataset.attrs["units"] = units
    return dataset


def _value(dataset: h5py.Dataset) -> Any:
    """A dataset's content: a Python scalar for a 0-d dataset, else the array."""
    value = dataset[()]
    return value.item() if np.ndim(value) == 0 else value


def write_text(group: h5py.Group, name: str, text: str) -> None:
    group.create_dataset(name, data=text, dtype=h5py.string_dtype())


def read_text(dataset: h5py.Dataset) -> str:
    return str(dataset.asstr()[()])


def _put_strings(attrs: h5py.AttributeManager, name: str, items: Any) -> None:
    attrs.create(name, np.array(list(items), dtype=object), dtype=h5py.string_dtype())


def _strings(attrs: h5py.AttributeManager, name: str) -> list[str]:
    return [str(item) for item in attrs.get(name, [])]


def _scalars(attrs: h5py.AttributeManager) -> dict[str, Any]:
    """Attributes as Python scalars (numpy scalars unwrapped)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in attrs.items()}


def _optional(attrs: h5py.AttributeManager, name: str) -> Any:
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
    attrs = _scalars(group.attrs)
    return NeuronModel(
        **{k: str(attrs[k]) for k in _MODEL_TEXTS},
        flops_per_update=int(attrs["flops_per_update"]),
        parameters=_scalars(group["parameters"].attrs),
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
        _write_model(node.create_group("model", track_order=True), pop.model)  # type: ignore[arg-type]
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


def read_network(group: h5py.Group) -> Network:
    populations = [
        Population(
            name,
            int(node.attrs["size"]),
            _read_model(node["model"]),
            parameters=_scalars(node["parameters"].attrs),
            initial={k: _value(v) for k, v in node["initial"].items()},
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
            params = _scalars(node["plasticity"].attrs)
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
            )
        )
    return Network(
        tuple(populations),
        tuple(projections),
        tuple(inputs),
        name=str(group.attrs["name"]),
        inference_ms=_optional(group.attrs, "inference_ms"),
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
    _put_csr(group.create_group("dest_synapses"), mapping.dest_synapses)
    _put_csr(group.create_group("input_dest_synapses"), mapping.input_dest_synapses)


def read_mapping(group: h5py.Group, chip: ChipSpec) -> Mapping:
    return Mapping(
        chip=chip,
        strategy=str(group.attrs["strategy"]),
        n_chips=int(group.attrs["n_chips"]),
        core_of_neuron=group["core_of_neuron"][()],
        usage={name: dataset[()] for name, dataset in group["usage"].items()},
        limits={r: _optional(group["limits"].attrs, r) for r in _strings(group.attrs, "resources")},
        dest_synapses=_read_csr(group["dest_synapses"]),
        input_dest_synapses=_read_csr(group["input_dest_synapses"]),
        warnings=_strings(group.attrs, "warnings"),
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
            k: QuantisationReport(**_scalars(g.attrs)) for k, g in group["quantisation"].items()
        },
        wall_time_s=float(group.attrs["wall_time_s"]),
        synapse_counters={
            k: {key: d[()] for key, d in g.items()} for k, g in group["synapse_counters"].items()
        },
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


def read_counts(group: h5py.Group) -> EventCounts:
    return EventCounts(
        per_core={kind: d[()] for kind, d in group["per_core"].items()},
        step_work_ns=group["step_work_ns"][()],
        n_steps=int(group.attrs["n_steps"]),
        dt_ms=float(group.attrs["dt_ms"]),
        n_chips=int(group.attrs["n_chips"]),
        n_cores_used=int(group.attrs["n_cores_used"]),
        chip_name=str(group.attrs["chip_name"]),
        inference_ms=_optional(group.attrs, "inference_ms"),
        window_ms=_optional(group.attrs, "window_ms"),
        windows={kind: d[()] for kind, d in group["windows"].items()},
        per_step={kind: _read_csr(g) for kind, g in group["per_step"].items()},
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


def read_report(group: h5py.Group) -> EnergyReport:
    attrs = group.attrs
    dynamic = _scalars(group["dynamic_pj"].attrs)
    return EnergyReport(
        **{k: str(attrs[k]) for k in ("device", "device_kind", "style", "method", "scope")},
        simulated_ms=float(attrs["simulated_ms"]),
        time_s=float(attrs["time_s"]),
        dynamic_pj={k: None if np.isnan(v) else float(v) for k, v in dynamic.items()},
        static_pj=_optional(attrs, "static_pj"),
        counts={k: int(v) for k, v in group["counts"].attrs.items()},
        per_core_pj=group["per_core_pj"][()] if "per_core_pj" in group else None,
        unpriced=tuple(_strings(attrs, "unpriced")),
        n_inferences=_optional(attrs, "n_inferences"),
        notes=tuple(_strings(attrs, "notes")),
    )


# ---- files ---------------------------------------------------------------------------------


def _version(package: str) -> str:
    """Installed version of ``package`` without importing it (Brian2 is slow to import)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _model_file(model: str) -> tuple[str, str | None]:
    """Path and source text of the model file behind ``model``, where there is one."""
    from .model_files import resolve_model

    try:
        path = resolve_model(model)
        return str(path), path.read_text(encoding="utf-8")
    except (NeuroEmuError, OSError, UnicodeDecodeError):
        return "", None


def _write_provenance(group: h5py.Group, result: RunResult, command: str) -> None:
    from . import __version__

    model_file, model_source = _model_file(result.model)
    attrs = {
        "neuroemu": __version__,
        "brian2": _version("brian2"),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "python": sys.version.split()[0],
        "command": command,
        "seed": int(result.seed),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": result.model,
        "model_file": model_file,
        "params_json": json.dumps(result.params, sort_keys=True, default=str),
        "strategy": result.strategy,
        "device": result.activity.device,
        "chip": result.chip.name,
        "chip_file": result.chip.path,
        "timings_s_json": json.dumps(result.timings_s, sort_keys=True),
    }
    group.attrs.update(attrs)
    write_text(group, "descriptor", _descriptor_text(result.chip))
    if model_source is not None:
        write_text(group, "model_source", model_source)


def _descriptor_text(chip: ChipSpec) -> str:
    """The chip's descriptor text; rebuilt as YAML for a ChipSpec made in code (no text kept)."""
    if chip.text:
        return chip.text
    import yaml

    data = chip.model_dump(mode="json", exclude={"path", "text"}, exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False)


def _write(handle: h5py.File, result: RunResult, command: str) -> None:
    handle.attrs["format_version"] = FORMAT_VERSION
    # The root doubles as NIR recorded data: nir.read_data reads '/nodes' (a link to '/spikes').
    handle.attrs["__type__"] = "NIRGraphData"
    _write_provenance(handle.create_group("provenance", track_order=True), result, command)
    write_network(handle.create_group("network", track_order=True), result.network)
    write_mapping(handle.create_group("mapping", track_order=True), result.mapping)
    write_activity(handle, result.activity, result.network)
    handle["nodes"] = h5py.SoftLink("/spikes")
    write_counts(handle.create_group("counts", track_order=True), result.counts)
    energy = handle.create_group("energy", track_order=True)
    write_report(energy.create_group("chip", track_order=True), result.report)
    gpus = energy.create_group("gpu", track_order=True)
    for index, report in enumerate(result.gpu_reports):
        write_report(gpus.create_group(str(index), track_order=True), report)


def write_trace(
    path: str | Path, result: RunResult, command: str = "", force: bool = False
) -> Path:
    """Write ``result`` to an HDF5 trace at ``path``, atomically.

    Parameters
    ----------
    path : str or Path
        Target file (``.h5``); its folder must exist.
    result : RunResult
        What :func:`neuroemu.pipeline.run_pipeline` returned.
    command : str
        The command line that produced the run (stored in the provenance).
    force : bool
        Replace an existing file. Without it an existing file is never touched.

    Returns
    -------
    Path
        ``path``, complete on disk.

    Raises
    ------
    TraceError
        The file exists (and ``force`` is not set), the folder is missing, or writing failed.
    """
    target = Path(path)
    if target.is_dir():
        raise TraceError(f"{target} is a folder: expected a file name such as {target / 'run.h5'}")
    if not target.parent.is_dir():
        raise TraceError(f"cannot write {target}: folder {target.parent} does not exist")
    if target.exists() and not force:
        raise TraceError(f"{target} already exists; use --force (force=True) to overwrite it")
    # A hidden name in the same folder, so that the final rename is atomic (same file system).
    partial = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial"
    try:
        with h5py.File(partial, "x", track_order=True) as handle:
            _write(handle, result, command)
        with open(partial, "rb+") as raw:
            os.fsync(raw.fileno())
        _publish(partial, target, force)
    except OSError as exc:
        raise TraceError(f"could not write trace {target}: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
    return target


def _publish(partial: Path, target: Path, force: bool) -> None:
    """Move the finished file into place; without ``force``, never over an existing file."""
    if force:
        os.replace(partial, target)
        return
    try:
        # link() fails if the target appeared meanwhile, where exists()+rename would clobber it.
        os.link(partial, target)
    except FileExistsError:
        raise TraceError(
            f"{target} already exists; use --force (force=True) to overwrite it"
        ) from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise TraceError(
                f"{target} already exists; use --force (force=True) to overwrite it"
            ) from None
        os.replace(partial, target)


def open_trace(path: str | Path) -> h5py.File:
    """Open a trace for reading after checking it is one this neuroemu can read.

    Raises
    ------
    TraceError
        No such file, not HDF5 (or damaged beyond opening), not a trace, or a newer format.
    """
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: no such trace file")
    if not h5py.is_hdf5(path):
        raise TraceError(f"{path}: not an HDF5 file (or its header is corrupted)")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise TraceError(f"{path}: cannot open the HDF5 file (corrupted?): {exc}") from None
    version = handle.attrs.get("format_version")
    if version is None:
        handle.close()
        raise TraceError(f"{path}: an HDF5 file but not a neuroemu trace (no format_version)")
    if int(version) > FORMAT_VERSION:
        handle.close()
        raise TraceError(
            f"{path}: trace format_version {int(version)} was written by a newer neuroemu; this "
            f"one reads format_version {FORMAT_VERSION}. Upgrade neuroemu to read it."
        )
    return handle


def read_provenance(group: h5py.Group) -> dict[str, Any]:
    """The provenance attributes as a dict (JSON-encoded ones decoded, texts included)."""
    out: dict[str, Any] = {}
    for key, value in group.attrs.items():
        if key.endswith("_json"):
            out[key[: -len("_json")]] = json.loads(value)
        else:
            out[key] = value.item() if isinstance(value, np.generic) else value
    for name in ("descriptor", "model_source"):
        if name in group:
            out[name] = read_text(group[name])
    return out


def read_trace(path: str | Path) -> Trace:
    """Read a trace written by :func:`write_trace` back into neuroemu objects.

    Raises
    ------
    TraceError
        The file is missing, not HDF5, corrupted, or from a newer format version.
    """
    from .chip import parse_chip

    with open_trace(path) as handle:
        try:
            provenance = read_provenance(handle["provenance"])
            try:
                chip = parse_chip(
                    provenance["descriptor"], provenance.get("chip_file") or "<trace>"
                )
            except NeuroEmuError as exc:
                raise TraceError(
                    f"{path}: the stored chip descriptor does not validate with this neuroemu: "
                    f"{exc}"
                ) from None
            network = read_network(handle["network"])
            gpu_group = handle["energy/gpu"]
            return Trace(
                path=Path(path),
                format_version=int(handle.attrs["format_version"]),
                provenance=provenance,
                network=network,
                chip=chip,
                mapping=read_mapping(handle["mapping"], chip),
                activity=read_activity(handle),
                counts=read_counts(handle["counts"]),
                report=read_report(handle["energy/chip"]),
                gpu_reports=[read_report(gpu_group[k]) for k in sorted(gpu_group, key=int)],
            )
        except TraceError:
            raise
        except (KeyError, OSError, ValueError, TypeError, NeuroEmuError) as exc:
            raise TraceError(
                f"{path}: the trace is incomplete or corrupted ({type(exc).__name__}: {exc})"
            ) from None


def trace_summary(path: str | Path) -> dict[str, Any]:
    """The headline facts of a trace, read from attributes and dataset shapes only.

    Spikes, synapses and per-step arrays are never loaded, so this is fast on any trace size
    (it backs ``neuroemu inspect``).
    """
    with open_trace(path) as handle:
        try:
            provenance = _scalars(handle["provenance"].attrs)
            for key in [k for k in provenance if k.endswith("_json")]:
                provenance[key[: -len("_json")]] = json.loads(provenance.pop(key))
            net = handle["network"]
            mapping = handle["mapping"]
            summary = _scalars(mapping.attrs)
            summary["n_cores_used"] = int(np.count_nonzero(mapping["usage/neurons"][()]))
            summary["warnings"] = _strings(mapping.attrs, "warnings")
            gpus = handle["energy/gpu"]
            energy = []
            for group in [handle["energy/chip"], *(gpus[k] for k in sorted(gpus, key=int))]:
                keys = ("device", "device_kind", "style", "simulated_ms", "time_s", "total_pj")
                entry = {k: _optional(group.attrs, k) for k in keys}
                entry["unpriced"] = _strings(group.attrs, "unpriced")
                energy.append(entry)
            return {
                "format_version": int(handle.attrs["format_version"]),
                "provenance": provenance,
                "network": {
                    "name": str(net.attrs["name"]),
                    "populations": {n: int(g.attrs["size"]) for n, g in net["populations"].items()},
                    "inputs": {n: int(g.attrs["size"]) for n, g in net["inputs"].items()},
                    "synapses": {n: int(g["i"].shape[0]) for n, g in net["projections"].items()},
                },
                "mapping": summary,
                "activity": _scalars(handle["activity"].attrs),
                "spikes": {
                    n: int(g["observables/spikes/idx"].shape[1])
                    for n, g in handle["spikes"].items()
                },
                "counts": _scalars(handle["counts/totals"].attrs),
                "energy": energy,
            }
        except (KeyError, OSError, ValueError) as exc:
            raise TraceError(
                f"{path}: the trace is incomplete or corrupted ({type(exc).__name__}: {exc})"
            ) from None
