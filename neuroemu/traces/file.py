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
import functools
import hashlib
import io
import json
import os
import secrets
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import h5py
import numpy as np

from neuroemu.accounting.counting import EventCounts
from neuroemu.accounting.inferences import InferenceResults
from neuroemu.accounting.layers import LayerReport, layer_report
from neuroemu.activity import Activity
from neuroemu.errors import NeuroEmuError, TraceError
from neuroemu.events import EVENT_KINDS
from neuroemu.mapping.mapping import Mapping
from neuroemu.network.network import Network
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec
from neuroemu.traces.codec import (
    read_activity,
    read_counts,
    read_inferences,
    read_mapping,
    read_network,
    read_optional,
    read_report,
    read_scalars,
    read_strings,
    read_text,
    write_activity,
    write_counts,
    write_inferences,
    write_mapping,
    write_network,
    write_report,
    write_text,
)
from neuroemu.units import format_si

if TYPE_CHECKING:
    from neuroemu.pipeline import RunResult

# 2: Fletcher-32 checksums (scalars as one-element arrays, text as UTF-8 bytes), operating
# point, ranges and scopes. 3: the network's inference schedule (/network/inference) and the
# per-inference results (/inferences), both only where the run has a schedule. Version 1 and 2
# traces are still read (without inferences).
FORMAT_VERSION = 3


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
    scope_reports : dict
        Scope (``chip``, ``board``, ``wall``) -> the chip's report at that scope (empty in
        traces written before scopes existed).
    complete : bool
        False for the steps of an interrupted run.
    inferences : InferenceResults or None
        Counts, time and energy per inference, for a run with an inference schedule (None
        otherwise, and in traces written before format version 3).
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
    scope_reports: dict[str, EnergyReport] = dataclasses.field(default_factory=dict)
    complete: bool = True
    inferences: InferenceResults | None = None

    @property
    def model(self) -> str:
        return str(self.provenance.get("model", self.network.name))

    @property
    def seed(self) -> int:
        return int(self.provenance.get("seed", self.activity.seed))

    @functools.cached_property
    def layers(self) -> LayerReport:
        """Per-population and per-projection results, recomputed exactly from what the trace
        holds (network, mapping, activity, counts, chip), as the run computed them."""
        return layer_report(
            self.network.chip_view(), self.activity, self.mapping, self.counts, self.chip
        )

    def __repr__(self) -> str:
        # The default dataclass repr printed every array of the run (58,764 characters for a
        # small one): a notebook wants one line that says which run this is.
        state = "" if self.complete else ", incomplete (interrupted)"
        return (
            f"<Trace {str(self.path)!r}: {self.model} on {self.chip.name}, seed {self.seed}, "
            f"{self.network.n_neurons:,} neurons, {self.activity.duration_ms:g} ms{state}; "
            f"{format_si(self.report.total_j, 'J')} on chip>"
        )

    def _repr_html_(self) -> str:
        """A short HTML table for notebooks (Jupyter shows it in place of the repr)."""
        from neuroemu.notebook import trace_html

        return trace_html(self)


# ---- encoding helpers ----------------------------------------------------------------------


# Arrays below this many elements are stored contiguous and uncompressed: smaller and faster
# than chunked for them. Larger ones are chunked, lzf + shuffle (measured on 10^7 spikes, see
# docs/traces.md: about 3.4x smaller than raw at ~280 MB/s); chunks of 2^18 elements along the
# long axis.
def _version(package: str) -> str:
    """Installed version of ``package`` without importing it (Brian2 is slow to import)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _model_file(model: str) -> tuple[str, str | None]:
    """Path and source text of the model file behind ``model``, where there is one."""
    from neuroemu.network.model_files import resolve_model

    try:
        path = resolve_model(model)
        return str(path), path.read_text(encoding="utf-8")
    except (NeuroEmuError, OSError, UnicodeDecodeError):
        return "", None


def _write_provenance(group: h5py.Group, result: RunResult, command: str) -> None:
    from neuroemu import __version__

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
    # False for the steps an interrupted run did (--keep-partial): never taken for a full run.
    handle.attrs["complete"] = bool(result.complete)
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
    # The chip's run at every scope it could be priced at (chip, board, wall).
    scopes = energy.create_group("scopes", track_order=True)
    for scope, report in result.scope_reports.items():
        write_report(scopes.create_group(scope, track_order=True), report)
    if result.inferences is not None:
        write_inferences(handle.create_group("inferences", track_order=True), result.inferences)


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
    # The file is assembled in memory and written to disk by plain Python writes: HDF5 that
    # meets a full disk itself prints dozens of "Exception ignored" tracebacks from h5py's
    # deallocators and then segfaults, while a Python write raises one OSError (ENOSPC) that
    # ends in a clear message. The image is compressed, so it costs less than the run's arrays.
    image = io.BytesIO()
    with h5py.File(image, "w", track_order=True, userblock_size=USERBLOCK) as handle:
        _write(handle, result, command)
    seal = _seal(image)
    image.seek(0)
    image.write(seal)
    try:
        with open(partial, "xb") as raw:
            raw.write(image.getbuffer())
            raw.flush()
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


# What reading a damaged or hand-edited trace raises: a member missing, of the wrong kind
# (a dataset where a group belongs), of the wrong type or shape, or failing its checksum.
_DAMAGE = (KeyError, OSError, ValueError, TypeError, AttributeError, IndexError, RuntimeError)


# The members a trace of this format holds at its top level ("nodes" links to "/spikes").
TOP_LEVEL = {"provenance", "network", "mapping", "activity", "spikes", "state", "nodes", "counts",
             "energy", "inferences"}  # fmt: skip


def _check_members(handle: h5py.File, path: str | Path) -> None:
    extra = sorted(set(handle) - TOP_LEVEL)
    if extra:
        raise TraceError(
            f"{path}: unexpected member /{extra[0]}: expected only {', '.join(sorted(TOP_LEVEL))}"
        )
    for name in TOP_LEVEL - {"state"}:
        if name in handle and not isinstance(handle[name], h5py.Group):
            raise TraceError(f"{path}: /{name}: expected a group, found a dataset")


def _check_consistent(trace: Trace) -> None:
    """Members that must agree in size: a hand-edited or damaged trace must not read as valid."""
    n_cores = trace.mapping.n_cores
    for name, usage in trace.mapping.usage.items():
        if np.shape(usage) != (n_cores,):
            raise TraceError(
                f"{trace.path}: /mapping/usage/{name}: expected {n_cores} values (one per "
                f"core), found shape {np.shape(usage)}"
            )
    placed = trace.network.chip_view().n_neurons  # host-side populations are not placed
    if np.shape(trace.mapping.core_of_neuron) != (placed,):
        raise TraceError(
            f"{trace.path}: /mapping/core_of_neuron: expected {placed} values, "
            f"found shape {np.shape(trace.mapping.core_of_neuron)}"
        )
    missing = [kind for kind in EVENT_KINDS if kind not in trace.counts.per_core]
    if missing:
        raise TraceError(f"{trace.path}: /counts/per_core: missing {', '.join(missing)}")
    if not isinstance(trace.provenance.get("seed", 0), int | np.integer):
        raise TraceError(
            f"{trace.path}: /provenance: seed: expected an integer, found "
            f"{trace.provenance.get('seed')!r}"
        )
    for kind, values in trace.counts.per_core.items():
        if np.shape(values) != (n_cores,):
            raise TraceError(
                f"{trace.path}: /counts/per_core/{kind}: expected {n_cores} values, found shape "
                f"{np.shape(values)}"
            )
    sizes = {g.name: g.size for g in (*trace.network.populations, *trace.network.inputs)}
    for name, spikes in trace.activity.spikes.items():
        if name not in sizes:
            raise TraceError(f"{trace.path}: /spikes/{name}: no such population or input")
        if len(spikes) and (spikes.neuron.max() >= sizes[name] or spikes.neuron.min() < 0):
            raise TraceError(
                f"{trace.path}: /spikes/{name}: neuron index outside 0..{sizes[name] - 1}"
            )
        if len(spikes) and (spikes.step.max() >= trace.activity.n_steps or spikes.step.min() < 0):
            raise TraceError(
                f"{trace.path}: /spikes/{name}: spike step outside the run's "
                f"{trace.activity.n_steps} steps"
            )


# The first bytes of a trace, before HDF5's own: a SHA-256 of everything after them, checked
# before HDF5 parses anything (damaged HDF5 metadata can make the library loop for ever).
USERBLOCK = 512
_SEAL = b"neuroemu trace sha256="
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _digest(raw: BinaryIO) -> str:
    raw.seek(USERBLOCK)
    digest = hashlib.sha256()
    for block in iter(lambda: raw.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _seal(raw: BinaryIO) -> bytes:
    """The userblock that seals a finished trace file (written at offset 0)."""
    text = _SEAL + _digest(raw).encode("ascii") + b"\n"
    raw.seek(0)
    return text.ljust(USERBLOCK, b"\0")


def _check_seal(path: Path) -> None:
    """Refuse a sealed trace whose bytes changed; older traces (no seal) are not checked."""
    with open(path, "rb") as raw:
        head = raw.read(USERBLOCK)
        if not head.startswith(_SEAL):
            raw.seek(USERBLOCK)
            if raw.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:  # a userblock, unreadable
                raise TraceError(f"{path}: the trace is damaged: its SHA-256 seal is unreadable")
            return  # a trace written before seals (HDF5 starts at byte 0)
        stored = head[len(_SEAL) : len(_SEAL) + 64].decode("ascii", "replace")
        if _digest(raw) != stored:
            raise TraceError(
                f"{path}: the trace is damaged: its bytes no longer match the SHA-256 written "
                f"with it (a partial copy, a disk error or an edit)"
            )


def open_trace(path: str | Path) -> h5py.File:
    """Open a trace for reading after checking it is one this neuroemu can read.

    Raises
    ------
    TraceError
        No such file, not HDF5 (or damaged beyond opening), not a trace, or a newer format.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise TraceError(f"{path}: not a regular file (a folder, device or pipe): expected a trace")
    if not path.is_file():
        raise TraceError(f"{path}: no such trace file")
    if not h5py.is_hdf5(path):
        raise TraceError(f"{path}: not an HDF5 file (or its header is corrupted)")
    _check_seal(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise TraceError(f"{path}: cannot open the HDF5 file (corrupted?): {exc}") from None
    try:
        _check_header(handle, path)
    except TraceError:
        handle.close()
        raise
    except _DAMAGE as exc:
        handle.close()
        raise TraceError(
            f"{path}: the trace is incomplete or corrupted ({type(exc).__name__}: {exc})"
        ) from None
    return handle


def _check_header(handle: h5py.File, path: str | Path) -> None:
    """The format version, and the top-level members of this format, of the right kind."""
    version = handle.attrs.get("format_version")
    problem = None
    if version is None:
        problem = "an HDF5 file but not a neuroemu trace (no format_version)"
    elif not isinstance(version, int | np.integer) or isinstance(version, bool) or version < 1:
        problem = f"format_version: expected a positive integer, found {version!r}"
    elif int(version) > FORMAT_VERSION:
        problem = (
            f"trace format_version {int(version)} was written by a newer neuroemu; this one "
            f"reads format_version {FORMAT_VERSION}. Upgrade neuroemu to read it."
        )
    if problem is not None:
        raise TraceError(f"{path}: {problem}")
    _check_members(handle, path)


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
    from neuroemu.spec.chip import parse_chip

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
            trace = Trace(
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
                scope_reports={
                    scope: read_report(group)
                    for scope, group in handle.get("energy/scopes", {}).items()
                },
                inferences=(
                    read_inferences(handle["inferences"]) if "inferences" in handle else None
                ),
            )
            _check_consistent(trace)
            return dataclasses.replace(trace, complete=bool(handle.attrs.get("complete", True)))
        except TraceError:
            raise
        except (*_DAMAGE, NeuroEmuError) as exc:
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
            provenance = read_scalars(handle["provenance"].attrs)
            for key in [k for k in provenance if k.endswith("_json")]:
                provenance[key[: -len("_json")]] = json.loads(provenance.pop(key))
            net = handle["network"]
            mapping = handle["mapping"]
            summary = read_scalars(mapping.attrs)
            summary["n_cores_used"] = int(np.count_nonzero(mapping["usage/neurons"][()]))
            summary["warnings"] = read_strings(mapping.attrs, "warnings")
            gpus = handle["energy/gpu"]
            energy = []
            for group in [handle["energy/chip"], *(gpus[k] for k in sorted(gpus, key=int))]:
                keys = ("device", "device_kind", "style", "simulated_ms", "time_s", "total_pj")
                entry = {k: read_optional(group.attrs, k) for k in keys}
                for key in ("simulated_ms", "time_s", "total_pj"):
                    if entry[key] is not None and not isinstance(entry[key], float | int):
                        raise TypeError(f"{group.name}: {key}: expected a number")
                entry["unpriced"] = read_strings(group.attrs, "unpriced")
                energy.append(entry)
            return {
                "format_version": int(handle.attrs["format_version"]),
                "complete": bool(handle.attrs.get("complete", True)),
                "provenance": provenance,
                "network": {
                    "name": str(net.attrs["name"]),
                    "populations": {n: int(g.attrs["size"]) for n, g in net["populations"].items()},
                    "inputs": {n: int(g.attrs["size"]) for n, g in net["inputs"].items()},
                    "synapses": {n: int(g["i"].shape[0]) for n, g in net["projections"].items()},
                },
                "mapping": summary,
                "activity": read_scalars(handle["activity"].attrs),
                "spikes": {
                    n: int(g["observables/spikes/idx"].shape[1])
                    for n, g in handle["spikes"].items()
                },
                "counts": read_scalars(handle["counts/totals"].attrs),
                "energy": energy,
            }
        except _DAMAGE as exc:
            raise TraceError(
                f"{path}: the trace is incomplete or corrupted ({type(exc).__name__}: {exc})"
            ) from None
