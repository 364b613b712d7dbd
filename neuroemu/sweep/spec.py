"""Sweep files: a grid (and explicit jobs) over models, model parameters, chips, GPUs,
descriptor overrides, strategies, operating points, seeds and durations.

Read as strictly as a chip descriptor (:mod:`neuroemu.spec.descriptor`): unknown keys, wrong
types, a missing model, chip or GPU, a model parameter the model lacks and an override a
descriptor refuses all come back as ``file:line: field: problem`` before any job runs. Paths in
the file are relative to it. See ``sweeps/example.yaml``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveInt, field_validator

from neuroemu.errors import DescriptorError, NeuroEmuError
from neuroemu.spec.chip import ChipSpec, load_chip
from neuroemu.spec.descriptor import (
    FieldProblem,
    Loc,
    PositiveFloat,
    StrictModel,
    file_reference,
    parse_yaml,
    problem_at,
    read_text,
    validate_document,
)
from neuroemu.spec.gpu import GpuSpec, load_gpu
from neuroemu.spec.overrides import apply_overrides, overrides_for, parse_overrides
from neuroemu.sweep.jobs import Job

Scalar = str | int | float | bool
Strategy = Literal["fill", "balanced", "min-traffic"]


def _as_published() -> list[dict[str, Scalar]]:
    return [{}]


def _fill() -> list[Strategy]:
    return ["fill"]


def _own_point() -> list[str | None]:
    return [None]


class Grid(StrictModel):
    """Every combination of these lists is one job. ``params`` maps each model parameter to
    its values; ``overrides`` lists override sets (``{}`` is the descriptor as published);
    ``gpus`` adds one job per GPU, which prices the same activity (no GPU axis: chip only)."""

    models: list[str] = Field(min_length=1)
    params: dict[str, list[Scalar]] = Field(default_factory=dict)
    chips: list[str] = Field(min_length=1)
    gpus: list[str] = Field(default_factory=list)
    overrides: list[dict[str, Scalar]] = Field(default_factory=_as_published, min_length=1)
    strategies: list[Strategy] = Field(default_factory=_fill, min_length=1)
    operating_points: list[str | None] = Field(default_factory=_own_point, min_length=1)
    seeds: list[int] = Field(min_length=1)
    durations_ms: list[PositiveFloat] = Field(min_length=1)

    @field_validator("params")
    @classmethod
    def _values_listed(cls, params: dict[str, list[Scalar]]) -> dict[str, list[Scalar]]:
        for name, values in params.items():
            if not values:
                raise FieldProblem((name,), "expected at least one value")
        return params

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: list[int]) -> list[int]:
        return _check_seeds(seeds)


class JobEntry(StrictModel):
    """One job listed explicitly (added to the grid's)."""

    model: str = Field(min_length=1)
    params: dict[str, Scalar] = Field(default_factory=dict)
    chip: str = Field(min_length=1)
    gpu: str | None = None
    overrides: dict[str, Scalar] = Field(default_factory=dict)
    strategy: Strategy = "fill"
    operating_point: str | None = None
    seed: int = Field(ge=0, lt=2**32)
    duration_ms: PositiveFloat


class SweepOutputs(StrictModel):
    """Where the journal, tables and (on request) traces go, relative to the sweep file."""

    folder: str = Field(min_length=1)
    traces: bool = False


class SweepSpec(StrictModel):
    """A sweep as read from its YAML file."""

    format_version: Literal[1]
    kind: Literal["sweep"]
    name: str | None = None
    description: str | None = None
    grid: Grid | None = None
    jobs: list[JobEntry] = Field(default_factory=list)
    device: Literal["runtime", "cython", "numpy", "cpp"] = "runtime"
    scope: Literal["chip", "board", "wall"] = "chip"
    gpu_scope: Literal["board", "wall"] = "board"
    n_chips: PositiveInt | None = None
    outputs: SweepOutputs


def _check_seeds(seeds: list[int]) -> list[int]:
    for index, seed in enumerate(seeds):
        if not 0 <= seed < 2**32:
            raise FieldProblem((index,), f"seed {seed} is outside [0, 2**32 - 1]")
        if seed in seeds[:index]:
            raise FieldProblem((index,), f"seed {seed} is listed twice: expected distinct seeds")
    return seeds


@dataclass(frozen=True, eq=False)
class Sweep:
    """A validated sweep: its jobs in order, and the output folder."""

    spec: SweepSpec
    path: Path
    jobs: list[Job]
    folder: Path

    def groups(self) -> list[list[Job]]:
        """The jobs grouped by shared simulation, in the order of their first job."""
        groups: dict[str, list[Job]] = {}
        for job in self.jobs:
            groups.setdefault(job.simulation_key, []).append(job)
        return list(groups.values())


class _Loader:
    """Loads each model, chip and GPU once, turning its problems into the sweep file's."""

    def __init__(self, path: Path, lines: dict[Loc, int], extra: tuple[str, ...]) -> None:
        self.name, self.base, self.lines = str(path), path.parent, lines
        self.extra = parse_overrides(extra)
        self.chips: dict[tuple[str, tuple[str, ...]], tuple[ChipSpec, tuple[str, ...]]] = {}
        self.gpus: dict[str, GpuSpec] = {}
        self.models: dict[str, tuple[str, str, dict[str, Any]]] = {}

    def problem(self, loc: Loc, message: str) -> DescriptorError:
        return problem_at(self.name, self.lines, loc, message)

    def relative(self, value: str, suffixes: tuple[str, ...]) -> str:
        return file_reference(self.base, value, suffixes)

    def model(self, value: str, loc: Loc) -> tuple[str, str, dict[str, Any]]:
        """(resolved reference, source text, accepted parameters)."""
        from neuroemu.network.model_files import model_parameters, resolve_model

        if value not in self.models:
            reference = self.relative(value, (".py", ".nir"))
            try:
                path = resolve_model(reference)
                self.models[value] = (reference, path.read_text(encoding="utf-8"),
                                      model_parameters(reference))  # fmt: skip
            except (NeuroEmuError, OSError) as exc:
                raise self.problem(loc, str(exc)) from None
        return self.models[value]

    def chip(
        self, value: str, overrides: dict[str, Scalar], loc: Loc, set_loc: Loc
    ) -> tuple[ChipSpec, tuple[str, ...]]:
        """The chip with the sweep's and the job's overrides, and the settings applied."""
        texts = tuple(f"{k}={json.dumps(v)}" for k, v in overrides.items())
        key = (value, texts)
        if key not in self.chips:
            reference = self.relative(value, (".yaml", ".yml"))
            try:
                base = load_chip(reference)
            except DescriptorError as exc:
                if exc.path != reference:  # a problem inside the chip file: its own file:line
                    raise
                raise self.problem(loc, exc.problem) from None
            extra = overrides_for(base, self.extra)
            # The command line's settings alone first: their errors are not the file's.
            apply_overrides(base, extra)
            try:
                mine = [*extra, *parse_overrides(texts)]
                self.chips[key] = (apply_overrides(base, mine), tuple(o.text for o in mine))
            except NeuroEmuError as exc:
                raise self.problem(set_loc, str(exc)) from None
        return self.chips[key]

    def gpu(self, value: str, loc: Loc) -> GpuSpec:
        if value not in self.gpus:
            reference = self.relative(value, (".yaml", ".yml"))
            try:
                base = load_gpu(reference)
                self.gpus[value] = apply_overrides(base, self.extra)
            except DescriptorError as exc:
                if exc.path != reference and "--set" not in exc.path:
                    raise
                raise self.problem(loc, exc.problem) from None
        return self.gpus[value]


def load_sweep(path: str | Path, overrides: tuple[str, ...] = ()) -> Sweep:
    """Read and validate a sweep file; load every model, chip and GPU it names; expand its jobs.

    Parameters
    ----------
    path : str or Path
        The sweep YAML file.
    overrides : tuple of str
        ``--set`` settings applied on top of each job's own (``[DEVICE:]field=value``).

    Raises
    ------
    DescriptorError
        With file, line and field, for the sweep file or for a descriptor it names.
    """
    path = Path(path)
    name = str(path)
    data, lines = parse_yaml(read_text(path), name)
    spec = validate_document(SweepSpec, data, lines, name, kind="sweep")
    if spec.grid is None and not spec.jobs:
        raise DescriptorError(name, None, "", "expected a 'grid', a list of 'jobs', or both")
    load = _Loader(path, lines, overrides)
    entries: list[tuple[dict[str, Any], Loc]] = []
    grid = spec.grid
    if grid is not None:
        names = list(grid.params)
        axes = itertools.product(
            range(len(grid.models)), itertools.product(*(grid.params[n] for n in names)),
            range(len(grid.chips)), range(len(grid.overrides)), [*range(len(grid.gpus))] or [None],
            grid.strategies, grid.operating_points, grid.durations_ms, grid.seeds,
        )  # fmt: skip
        for m, values, c, o, g, strategy, point, duration, seed in axes:
            entry: dict[str, Any] = {
                "model": (grid.models[m], ("grid", "models", m)),
                "params": (dict(zip(names, values, strict=True)), ("grid", "params")),
                "chip": (grid.chips[c], ("grid", "chips", c)),
                "overrides": (grid.overrides[o], ("grid", "overrides", o)),
                "gpu": (None if g is None else grid.gpus[g], ("grid", "gpus", g or 0)),
                "strategy": strategy, "operating_point": point, "duration_ms": duration,
                "duration_loc": ("grid", "durations_ms"),
                "seed": seed,
            }  # fmt: skip
            entries.append((entry, ("grid",)))
    for index, listed in enumerate(spec.jobs):
        at: Loc = ("jobs", index)
        entries.append(({
            "model": (listed.model, (*at, "model")), "params": (listed.params, (*at, "params")),
            "chip": (listed.chip, (*at, "chip")),
            "overrides": (listed.overrides, (*at, "overrides")), "gpu": (listed.gpu, (*at, "gpu")),
            "strategy": listed.strategy, "operating_point": listed.operating_point,
            "duration_ms": listed.duration_ms, "seed": listed.seed,
            "duration_loc": (*at, "duration_ms"),
        }, at))  # fmt: skip
    jobs = [_job(load, spec, index, entry) for index, (entry, _) in enumerate(entries)]
    keys: dict[str, int] = {}
    for job, (_, at) in zip(jobs, entries, strict=True):
        if job.key in keys:
            raise load.problem(
                at,
                f"job {job.index} ({job.describe()}) repeats job {keys[job.key]}: expected each "
                f"job once",
            )
        keys[job.key] = job.index
    return Sweep(spec=spec, path=path, jobs=jobs, folder=path.parent / spec.outputs.folder)


def _job(load: _Loader, spec: SweepSpec, index: int, entry: dict[str, Any]) -> Job:
    """One Job from an expanded entry, every reference loaded and checked."""
    from neuroemu.operating_point import OperatingPoint
    from neuroemu.timesteps import whole_steps

    model_value, model_loc = entry["model"]
    reference, text, accepted = load.model(model_value, model_loc)
    params, params_loc = entry["params"]
    for key in params:
        if key not in accepted:
            raise load.problem(
                (*params_loc, key),
                f"model {model_value!r} has no parameter {key!r}; its parameters: "
                f"{', '.join(accepted)}",
            )
    chip_value, chip_loc = entry["chip"]
    overrides, set_loc = entry["overrides"]
    chip, applied = load.chip(chip_value, overrides, chip_loc, set_loc)
    gpu_value, gpu_loc = entry["gpu"]
    gpu = None if gpu_value is None else load.gpu(gpu_value, gpu_loc)
    point = entry["operating_point"]
    if point is not None:
        try:
            OperatingPoint.parse(point)
        except NeuroEmuError as exc:
            raise load.problem(chip_loc[:-1] if chip_loc[0] == "jobs" else ("grid",
                               "operating_points"), str(exc)) from None  # fmt: skip
    try:
        whole_steps(entry["duration_ms"], chip.timing.dt_ms.require(), "duration_ms")
    except NeuroEmuError as exc:
        raise load.problem(entry["duration_loc"], f"on {chip.name}: {exc}") from None
    return Job(
        index=index, model=reference, model_label=Path(model_value).stem, model_text=text,
        params=tuple(sorted(params.items())), chip=chip, chip_base=Path(chip_value).stem,
        overrides=applied,
        gpu=gpu, strategy=entry["strategy"], operating_point=point, seed=entry["seed"],
        duration_ms=entry["duration_ms"], device=spec.device, scope=spec.scope,
        gpu_scope=spec.gpu_scope, n_chips=spec.n_chips,
    )  # fmt: skip
