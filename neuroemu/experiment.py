"""Experiment files: one YAML file that says which model runs on which chips, with which seeds,
priced on which GPUs, and where the traces and the results table go.

A published comparison is then re-run with ``neuroemu experiment exp.yaml`` and gives the same
numbers. The file is read as strictly as a chip descriptor (:mod:`neuroemu.spec.descriptor`):
unknown keys, wrong types, a missing chip or model come back as ``file:line: field: problem``
before any simulation starts. Paths in the file (a model ``.py``, chip or GPU ``.yaml``, the output
folder) are relative to the experiment file, so an experiment folder can be moved or shared whole.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveInt, field_validator

from neuroemu.errors import (
    CapacityError,
    DescriptorError,
    ModelError,
    NeuroEmuError,
    TraceError,
)
from neuroemu.outputs import write_atomically
from neuroemu.run_budget import RunTooLargeError, check_run_budget, estimate_run
from neuroemu.spec.chip import ChipSpec, load_chip
from neuroemu.spec.descriptor import (
    FieldProblem,
    Loc,
    PositiveFloat,
    StrictModel,
    file_reference,
    line_of,
    parse_yaml,
    problem_at,
    read_text,
    validate_document,
)
from neuroemu.timesteps import whole_steps


class Outputs(StrictModel):
    """Where results go: ``folder`` (relative to the experiment file), one trace per run if
    ``traces``, and the results table ``table`` (a CSV file name inside ``folder``)."""

    folder: str = Field(min_length=1)
    traces: bool = True
    table: str = "results.csv"

    @field_validator("table")
    @classmethod
    def _plain_csv_name(cls, value: str) -> str:
        if not value.endswith(".csv") or "/" in value or "\\" in value or value in {".csv"}:
            raise ValueError(
                f"expected a file name ending in .csv (the table goes into outputs.folder), "
                f"got {value!r}"
            )
        return value


class ExperimentSpec(StrictModel):
    """An experiment as read from its YAML file (see ``experiments/example.yaml``)."""

    format_version: Literal[1]
    kind: Literal["experiment"]
    name: str | None = None
    description: str | None = None
    model: str = Field(min_length=1)
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    chips: list[str] = Field(min_length=1)
    gpus: list[str] = Field(default_factory=list)
    duration_ms: PositiveFloat
    seeds: list[int] = Field(min_length=1)
    strategy: Literal["fill", "balanced", "min-traffic"] = "fill"
    device: Literal["auto", "runtime", "cython", "numpy", "cpp"] = "runtime"
    n_chips: PositiveInt | None = None
    window_ms: PositiveFloat | None = None
    # Descriptor fields to change on every chip ({"core.synapse_memory_bits": 2097152}), as
    # --set does; each derived chip is validated like a file and named after its settings.
    overrides: dict[str, str | int | float | bool] = Field(default_factory=dict)
    outputs: Outputs

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        for index, seed in enumerate(seeds):
            if not 0 <= seed < 2**32:
                raise FieldProblem(
                    (index,), f"seed {seed} is outside [0, 2**32 - 1], the seeds Brian2 accepts"
                )
            if seed in seeds[:index]:
                raise FieldProblem(
                    (index,), f"seed {seed} is listed twice: expected distinct seeds"
                )
        return seeds


@dataclass(frozen=True, eq=False)
class Experiment:
    """A validated experiment with its references resolved and its chips loaded.

    ``model`` is a bundled model name or the path of a ``.py`` file, ``gpus`` bundled names or
    descriptor paths, ``folder`` the output folder, all resolved against the experiment file.
    """

    spec: ExperimentSpec
    path: Path
    model: str
    model_label: str
    chips: list[ChipSpec]
    gpus: list[str]
    folder: Path
    lines: dict[Loc, int]
    n_chips: int | None = None
    gpu_scope: str = "board"
    chips_overridden: bool = False
    operating_point: str | None = None
    scope: str = "chip"

    def line_of(self, loc: Loc) -> int | None:
        """Line of a field in the experiment file (for messages about it)."""
        return line_of(self.lines, loc)

    def trace_name(self, chip: ChipSpec, seed: int) -> str:
        """``<model>_<chip>_seed<k>.h5``, the trace file of one run."""
        return f"{self.model_label}_{chip.name}_seed{seed}.h5"


def load_experiment(
    path: str | Path,
    chips: Sequence[str] = (),
    gpus: Sequence[str] = (),
    max_chips: int | None = None,
    gpu_scope: str | None = None,
    operating_point: str | None = None,
    scope: str = "chip",
    overrides: Sequence[str] = (),
) -> Experiment:
    """Read and validate an experiment file; load its chips, check its model and GPUs.

    ``chips``, ``gpus``, ``max_chips`` and ``gpu_scope``, when given, replace the file's lists
    and settings (the command line's ``--chip``, ``--gpu``, ``--max-chips``, ``--gpu-scope``);
    they are names or paths as typed, not relative to the experiment file. ``operating_point``
    and ``scope`` price every chip at that operating point and scope. ``overrides`` (the
    command line's ``--set``) apply after the file's own ``overrides``.

    Raises
    ------
    DescriptorError
        With file, line and field, for the experiment file or for a chip it names.
    """
    from neuroemu.network.model_files import model_parameters, resolve_model
    from neuroemu.spec.gpu import load_gpu

    path = Path(path)
    name = str(path)
    data, lines = parse_yaml(read_text(path), name)
    spec = validate_document(ExperimentSpec, data, lines, name, kind="experiment")
    base = path.parent
    model = file_reference(base, spec.model, (".py",))
    try:
        accepted = model_parameters(resolve_model(model))
    except NeuroEmuError as exc:
        raise problem_at(name, lines, ("model",), str(exc)) from None
    for key in spec.params:
        if key not in accepted:
            raise problem_at(
                name, lines, ("params", key),
                f"model {spec.model!r} has no parameter {key!r}; its parameters: "
                f"{', '.join(accepted)}",
            )  # fmt: skip
    chip_specs = [load_chip(name) for name in chips]
    for index, chip in enumerate(spec.chips if not chips else []):
        reference = file_reference(base, chip, (".yaml", ".yml"))
        try:
            chip_specs.append(load_chip(reference))
        except DescriptorError as exc:
            if exc.path != reference:  # a problem inside the chip file: its own file:line
                raise
            raise problem_at(name, lines, ("chips", index), exc.problem) from None
    from neuroemu.spec.overrides import apply_overrides, check_targets, parse_overrides

    settings = [f"{key}={json.dumps(value)}" for key, value in spec.overrides.items()]
    try:
        in_file = parse_overrides(settings)
        chip_specs = [apply_overrides(chip, in_file) for chip in chip_specs]
    except NeuroEmuError as exc:
        raise problem_at(name, lines, ("overrides",), str(exc)) from None
    typed = parse_overrides(overrides)  # --set: its own messages
    check_targets(typed, [chip.name for chip in chip_specs])
    chip_specs = [apply_overrides(chip, typed) for chip in chip_specs]
    names = [c.name for c in chip_specs]
    for index, chip_name in enumerate(names):
        if chip_name in names[:index]:
            message = f"chip {chip_name!r} is listed twice: expected distinct chips"
            if chips:
                raise NeuroEmuError(f"--chip {chip_name}: {message}")
            raise problem_at(name, lines, ("chips", index), message)
    gpu_references = []
    for gpu in gpus:
        load_gpu(gpu)
        gpu_references.append(gpu)
    for index, gpu in enumerate(spec.gpus if not gpus else []):
        reference = file_reference(base, gpu, (".yaml", ".yml"))
        try:
            load_gpu(reference)
        except DescriptorError as exc:
            if exc.path != reference:
                raise
            raise problem_at(name, lines, ("gpus", index), exc.problem) from None
        gpu_references.append(reference)
    return Experiment(
        spec=spec,
        path=path,
        model=model,
        model_label=Path(spec.model).stem,
        chips=chip_specs,
        gpus=gpu_references,
        folder=base / spec.outputs.folder,
        lines=lines,
        n_chips=max_chips if max_chips is not None else spec.n_chips,
        gpu_scope=gpu_scope or ("board" if scope == "chip" else scope),
        chips_overridden=bool(chips),
        operating_point=operating_point,
        scope=scope,
    )


RUN_COLUMNS = (
    "model", "params", "chip", "seed", "strategy", "brian2_device", "duration_ms", "n_neurons",
    "n_synapses", "n_spikes", "n_chips", "n_cores_used", "trace", "run_key",
)  # fmt: skip
# Columns read back as numbers when a rerun keeps the rows of finished runs.
_NUMBERS = ("seed", "duration_ms", "simulated_ms", "time_s", "total_j", "static_j", "dynamic_j",
            "energy_per_synaptic_event_pj", "energy_per_simulated_second_j",
            "energy_per_inference_j", "energy_delay_product_js", "real_time_factor")  # fmt: skip
REPORT_COLUMNS = (
    "device", "device_kind", "style", "method", "scope", "simulated_ms", "time_s", "total_j",
    "static_j", "dynamic_j", "energy_per_synaptic_event_pj", "energy_per_simulated_second_j",
    "energy_per_inference_j", "energy_delay_product_js", "real_time_factor", "synaptic_events",
    "unpriced", "notes",
)  # fmt: skip


def run_key(experiment: Experiment, chip: ChipSpec, seed: int) -> str:
    """A digest of everything that decides one run's result: the model file (or bundled name)
    and parameters, the chip's and GPUs' descriptor texts, the seed, duration, strategy,
    device, chip budget, windows, operating point and scopes. A rerun keeps a finished run's
    rows only when its key is unchanged."""
    from neuroemu.network.model_files import resolve_model

    spec = experiment.spec
    gpus = [Path(g).read_text(encoding="utf-8") if Path(g).is_file() else g
            for g in experiment.gpus]  # fmt: skip
    facts = {
        "model": resolve_model(experiment.model).read_text(encoding="utf-8"),
        "params": spec.params, "chip": chip.text or chip.name, "seed": seed,
        "duration_ms": spec.duration_ms, "strategy": spec.strategy, "device": spec.device,
        "n_chips": experiment.n_chips, "window_ms": spec.window_ms, "gpus": gpus,
        "gpu_scope": experiment.gpu_scope, "operating_point": experiment.operating_point,
        "scope": experiment.scope,
    }  # fmt: skip
    text = json.dumps(facts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _rows(experiment: Experiment, result: Any, trace: str, key: str) -> list[dict[str, Any]]:
    """One row per device priced in a run: the chip first, then each GPU report."""
    run = {
        "model": experiment.model_label,
        "params": json.dumps(experiment.spec.params, sort_keys=True),
        "chip": result.chip.name,
        "seed": result.seed,
        "strategy": result.strategy,
        "brian2_device": result.activity.device,
        "duration_ms": result.activity.duration_ms,
        "n_neurons": result.network.n_neurons,
        "n_synapses": result.network.n_synapses,
        "n_spikes": result.activity.n_spikes,
        "n_chips": result.mapping.n_chips,
        "n_cores_used": result.mapping.n_cores_used,
        "trace": trace,
        "run_key": key,
    }
    rows = []
    for report in [result.report, *result.gpu_reports]:
        summary = report.summary()
        summary["unpriced"] = "; ".join(summary["unpriced"])
        summary["notes"] = "; ".join(summary["notes"])
        rows.append({**run, **{k: summary[k] for k in REPORT_COLUMNS}})
    return rows


def write_table(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write the results table as CSV, atomically (temporary file, then rename)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*RUN_COLUMNS, *REPORT_COLUMNS])
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    text = buffer.getvalue()
    return write_atomically(
        path, lambda partial: partial.write_text(text, encoding="utf-8"), what="results table"
    )


def _check_runs(experiment: Experiment, allow_large: bool = False) -> None:
    """Build the first seed's network and check every run against it before any simulation.

    Each problem stops the experiment at once, naming its line in the experiment file, instead
    of after the runs listed before it: parameters the model refuses, a duration or window that
    is not a whole number of a chip's steps, a chip that cannot hold the model, and a run whose
    memory estimate exceeds what this machine has (:mod:`neuroemu.run_budget`).
    """
    from neuroemu.mapping.mapping import map_network
    from neuroemu.pipeline import build_network

    spec = experiment.spec

    def at(loc: tuple[str | int, ...], field: str) -> str:
        return f"{experiment.path}:{experiment.line_of(loc)}: {field}"

    try:
        network = build_network(experiment.model, dict(spec.params), spec.seeds[0])
    except ModelError as exc:
        where = at(("params",), "params") if spec.params else at(("model",), "model")
        raise NeuroEmuError(f"{where}: {exc}") from exc
    for index, chip in enumerate(experiment.chips):
        where_chip = (
            f"--chip {chip.name}"
            if experiment.chips_overridden
            else at(("chips", index), f"chips[{index}]")
        )
        dt_ms = chip.timing.dt_ms.require()
        try:
            n_steps = whole_steps(spec.duration_ms, dt_ms, "duration_ms")
        except NeuroEmuError as exc:
            where = at(("duration_ms",), "duration_ms")
            raise NeuroEmuError(f"{where} on {chip.name}: {exc}") from exc
        if spec.window_ms is not None:
            try:
                whole_steps(spec.window_ms, dt_ms, "window_ms")
            except NeuroEmuError as exc:
                where = at(("window_ms",), "window_ms")
                raise NeuroEmuError(f"{where} on {chip.name}: {exc}") from exc
        try:
            mapping = map_network(
                network.chip_view(), chip, strategy=spec.strategy, n_chips=experiment.n_chips
            )
        except CapacityError as exc:
            raise NeuroEmuError(
                f"{where_chip}: the model does not fit on {chip.name!r} (seed {spec.seeds[0]}): "
                f"{exc}"
            ) from exc
        budget = estimate_run(network, n_steps, mapping.n_cores_used, spec.device)
        try:
            check_run_budget(budget, allow_large)
        except RunTooLargeError as exc:
            where = at(("duration_ms",), "duration_ms")
            raise NeuroEmuError(f"{where} on {chip.name}: {exc}") from exc


def read_table(path: Path) -> list[dict[str, Any]]:
    """The rows of an earlier results table, numbers read back as numbers ("" as None)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TraceError(f"{path}: cannot read the earlier results table: {exc}") from None
    for row in rows:
        for name in _NUMBERS:
            value = row.get(name)
            row[name] = None if value in (None, "") else float(value)
        if row.get("seed") is not None:
            row["seed"] = int(row["seed"])
    return rows


def _check_folder(folder: Path) -> None:
    """The output folder (or the nearest existing folder above it) must be writable, checked
    before the first run rather than after it."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NeuroEmuError(f"cannot write results to {folder}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise NeuroEmuError(f"cannot write results to {folder}: {existing} is not writable")


def run_experiment(
    path: str | Path | Experiment,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    allow_large: bool = False,
) -> list[dict[str, Any]]:
    """Run every chip x seed of an experiment; write its traces and results table.

    The table is rewritten (atomically) after every run, so the rows of finished runs survive an
    interruption or a failure. A rerun keeps the runs the table already holds whose
    :func:`run_key` is unchanged (and whose trace exists) and does only the others.

    Parameters
    ----------
    path : str, Path or Experiment
        The experiment YAML file (or one already loaded with :func:`load_experiment`).
    force : bool
        Start over: run everything again and overwrite earlier traces and table. Without it, a
        table holding runs this experiment no longer has (a changed chip, parameter or
        descriptor) stops the experiment before anything runs.
    progress : callable or None
        Called with one line of text before each run (the CLI prints it).
    allow_large : bool
        Run even when a run's memory estimate exceeds the memory available (``--i-know``).

    Returns
    -------
    list of dict
        The rows of the results table: one per (run, device), chip rows and GPU rows.
    """
    from neuroemu.pipeline import run_pipeline
    from neuroemu.traces.file import write_trace

    experiment = path if isinstance(path, Experiment) else load_experiment(path)
    spec = experiment.spec
    plan = [(c, s, run_key(experiment, c, s)) for c in experiment.chips for s in spec.seeds]
    table = experiment.folder / spec.outputs.table
    earlier: dict[str, list[dict[str, Any]]] = {}
    if table.exists() and not force:
        for row in read_table(table):
            earlier.setdefault(str(row.get("run_key") or ""), []).append(row)
        stale = sorted(set(earlier) - {key for _, _, key in plan})
        if stale:
            raise TraceError(
                f"{table} holds {sum(len(earlier[k]) for k in stale)} row(s) of runs this "
                f"experiment no longer has (a changed chip, parameter, seed or descriptor, or a "
                f"table from another version); use --force (force=True) to start over"
            )
    _check_folder(experiment.folder)
    _check_runs(experiment, allow_large)
    experiment.folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for index, (chip, seed, key) in enumerate(plan, start=1):
        name = experiment.trace_name(chip, seed)
        kept = earlier.get(key)
        if kept and (not spec.outputs.traces or (experiment.folder / name).exists()):
            rows += kept
            if progress is not None:
                progress(f"[{index}/{len(plan)}] {experiment.model_label} on {chip.name}, seed "
                         f"{seed}: done before, kept")  # fmt: skip
            continue
        if progress is not None:
            progress(f"[{index}/{len(plan)}] {experiment.model_label} on {chip.name}, seed {seed}")
        result = run_pipeline(
            experiment.model, chip, duration_ms=spec.duration_ms, seed=seed,
            params=dict(spec.params), strategy=spec.strategy, device=spec.device,
            n_chips=experiment.n_chips, window_ms=spec.window_ms, gpus=tuple(experiment.gpus),
            gpu_scope=experiment.gpu_scope, operating_point=experiment.operating_point,
            scope=experiment.scope, allow_large=allow_large,
        )  # fmt: skip
        trace = ""
        if spec.outputs.traces:
            trace = name
            command = f"neuroemu experiment {experiment.path}"
            # Not in the table, so not a finished run of this experiment: ours to replace.
            write_trace(experiment.folder / trace, result, command=command, force=True)
        rows += _rows(experiment, result, trace, key)
        write_table(table, rows)
    write_table(table, rows)
    return rows
