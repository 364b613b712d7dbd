"""Calibrate the event-driven GPU constants against published wall-clock timings.

Reads the published simulation times of GeNN, Brian2GeNN and NEST GPU runs, with their
citations (``neuroemu/data/gpu_timings.yaml``), rebuilds every case it can as
:mod:`neuroemu.gpu.published_timings` does for ``neuroemu validate`` (a neuroemu
:class:`~neuroemu.network.network.Network` with an :class:`~neuroemu.activity.Activity` of the
published rate, priced with :func:`neuroemu.gpu.model.gpu_baseline`, ``style="event-driven"``, on
the bundled descriptor as it is; the scaling rules are in that module's docstring), and then fits,
per GPU generation, the descriptor's event-driven constants

    timing.atomic_throughput_gops, timing.launch_latency_us, timing.memory_fraction,
    timing.sync_us, timing.host_copy_latency_us, timing.row_latency_us

by least squares on log(time) (``scipy.optimize.least_squares``, parameters in log space, values
overridden in memory with pydantic ``model_copy``; nothing is written).

Identification. A constant is fitted only where the generation's cases can move it, judged from
where the modelled time goes at the descriptor's values: the launch latency if kernels are
launch-bound, the atomic throughput if synaptic events are delivered, the memory fraction only
from memory-bound steps without synapses (with synapses, neuron-state and synaptic traffic both
grow with the network and the data cannot tell them apart), the host-copy latency only if spikes
are copied to the host every step; ``sync_us`` enters only in the sum ``sync_us +
host_copy_latency_us`` and is always fixed. A free constant that does not bind at the optimum
(largest |d log t / d log c| below 0.02) is fixed and the rest refitted. Fixed constants keep the
descriptor's values and are reported as not identified. Standard errors come from the Jacobian
at the optimum (``s^2 (J^T J)^-1``); a leave-one-out refit predicts each fitted case from the
others. The Potjans-Diesmann microcircuit is never fitted: its cases (``holdout: true``) are
priced before and after as an independent check, and on GPUs without calibration cases with each
fitted generation carried over (atomic throughput scaled by DRAM bandwidth).

The row latency. GeNN-like synapse kernels parallelise a spike's row over threads and take the
spikes of a step one after another, so a step costs a fixed time per (spike, projection) row on
top of what the roofline charges (``timing.row_latency_us``, optional in a descriptor, zero where
absent). Each generation is fitted twice: with the row latency free (the adopted fit) and with it
held at zero (the model before the term existed), to show what the term explains.

Run ``python benchmarks/gpu_fit.py`` (about 20 s on two cores); ``--quick`` skips the
leave-one-out refits.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neuroemu.activity import Activity  # noqa: E402
from neuroemu.gpu import model as gpu_model  # noqa: E402
from neuroemu.gpu.published_timings import (  # noqa: E402
    PublishedTiming,
    RebuiltRun,
    load_published_timings,
    price_run,
    rebuild_timing,
)
from neuroemu.network.network import Network  # noqa: E402
from neuroemu.spec.descriptor import NonNegative  # noqa: E402
from neuroemu.spec.gpu import GpuSpec, bundled_gpu_names, load_gpu  # noqa: E402

PARAMS = (
    "atomic_throughput_gops",
    "launch_latency_us",
    "memory_fraction",
    "sync_us",
    "host_copy_latency_us",
    "row_latency_us",
)
ROW = "row_latency_us"
SHORT = {
    "atomic_throughput_gops": "atomic Gop/s",
    "launch_latency_us": "launch us",
    "memory_fraction": "mem frac",
    "sync_us": "sync us",
    "host_copy_latency_us": "copy us",
    "row_latency_us": "row us",
}
# Search bounds of the fit (the model's own limits: memory_fraction in (0, 1]).
BOUNDS = {
    "atomic_throughput_gops": (0.01, 1e4),
    "launch_latency_us": (0.05, 200.0),
    "memory_fraction": (0.01, 1.0),
    "sync_us": (0.01, 1e3),
    "host_copy_latency_us": (0.01, 1e3),
    "row_latency_us": (1e-4, 100.0),
}


# ---- the data ----------------------------------------------------------------------------------


@dataclass
class Case:
    """One published timing (:class:`~neuroemu.gpu.published_timings.PublishedTiming`), its
    rebuilt run, and its modelled times before and after the fit."""

    timing: PublishedTiming
    run: RebuiltRun | None = None
    before: float | None = None
    after: float | None = None

    @property
    def id(self) -> str:
        return self.timing.id

    @property
    def data(self) -> dict[str, Any]:
        return self.timing.data

    @property
    def wall_s(self) -> float:
        return self.timing.wall_s

    @property
    def descriptor(self) -> str | None:
        return self.timing.descriptor

    @property
    def generation(self) -> str:
        return self.timing.generation

    @property
    def fit(self) -> bool:
        return self.timing.fit

    @property
    def holdout(self) -> bool:
        return self.timing.holdout

    @property
    def evaluate(self) -> bool:
        return self.timing.evaluate

    @property
    def network(self) -> Network:
        assert self.run is not None, "rebuild() the case first"
        return self.run.network

    @property
    def activity(self) -> Activity:
        assert self.run is not None, "rebuild() the case first"
        return self.run.activity

    @property
    def batch(self) -> int:
        assert self.run is not None, "rebuild() the case first"
        return self.run.batch


def load_cases(path: Path | None = None) -> tuple[list[Case], dict[str, str]]:
    """All cases of the data file (default: the bundled one), each with its study's keys."""
    timings, sources = load_published_timings(path)
    return [Case(timing) for timing in timings], sources


def rebuild(case: Case) -> None:
    """Attach the case's rebuilt run (network, activity, batch, step scale)."""
    case.run = rebuild_timing(case.timing)


def _steps(case: Case) -> gpu_model.StepActivity:
    """The case's step counts (memoised inside :func:`memoised_step_activity`)."""
    return gpu_model.step_activity(case.network, case.activity)


@contextlib.contextmanager
def memoised_step_activity() -> Iterator[None]:
    """Count each case's events once: the counts depend on the network and the activity only,
    not on the descriptor, and the fit prices every case hundreds of times."""
    original = gpu_model.step_activity
    cache: dict[tuple[int, int], gpu_model.StepActivity] = {}

    def cached(network: Network, activity: Activity) -> gpu_model.StepActivity:
        key = (id(network), id(activity))
        if key not in cache:
            cache[key] = original(network, activity)
        return cache[key]

    gpu_model.step_activity = cached  # type: ignore[assignment]
    try:
        yield
    finally:
        gpu_model.step_activity = original  # type: ignore[assignment]


# ---- pricing and fitting -----------------------------------------------------------------------


def with_timing(spec: GpuSpec, values: dict[str, float]) -> GpuSpec:
    """The descriptor with some ``timing`` values replaced (in memory, pydantic ``model_copy``);
    an optional constant the descriptor lacks is added as an estimate."""
    update: dict[str, Any] = {}
    for name, value in values.items():
        current = getattr(spec.timing, name)
        if current is None:
            update[name] = NonNegative(value=float(value), estimated=True, note="gpu_fit.py")
        else:
            update[name] = current.model_copy(update={"value": float(value), "range": None})
    return spec.model_copy(update={"timing": spec.timing.model_copy(update=update)})


def timing_values(spec: GpuSpec) -> dict[str, float]:
    """The descriptor's values of the fitted constants (an absent row latency is zero)."""
    out = {}
    for name in PARAMS:
        quantity = getattr(spec.timing, name)
        out[name] = 0.0 if quantity is None else quantity.require()
    return out


def price(case: Case, spec: GpuSpec) -> float:
    """Modelled wall-clock time of the published run, in seconds
    (:func:`neuroemu.gpu.published_timings.price_run`, the descriptor's values)."""
    assert case.run is not None, "rebuild() the case first"
    return price_run(case.run, spec, steps=_steps(case))[0]


# A free constant whose largest |d log t / d log c| over the cases falls below this at the optimum
# is fixed at the descriptor's value (it does not bind: the data say nothing about it).
MIN_SENSITIVITY = 0.02


@dataclass
class Fit:
    """The result of fitting one generation (``row``: the row latency fitted; else held at 0)."""

    generation: str
    free: list[str]
    start: dict[str, float]
    values: dict[str, float]
    log_se: dict[str, float | None]
    residuals: dict[str, float]
    sensitivity: dict[str, float]
    reasons: dict[str, str]
    rms: float
    row: bool = True


def _bounds(name: str) -> tuple[float, float]:
    return BOUNDS[name]


def _price_at(case: Case, spec: GpuSpec, values: dict[str, float]) -> float:
    return price(case, with_timing(spec, {k: v for k, v in values.items() if k in PARAMS}))


def _solve(cases: list[Case], specs: dict[str, GpuSpec], free: list[str], start: dict[str, float]):
    lo = np.log([_bounds(p)[0] for p in free])
    hi = np.log([_bounds(p)[1] for p in free])
    x0 = np.clip(np.log([start[p] for p in free]), lo + 1e-9, hi - 1e-9)
    target = np.log([c.wall_s for c in cases])

    def residuals(x: np.ndarray) -> np.ndarray:
        values = {**start, **dict(zip(free, np.exp(x), strict=True))}
        return np.log([_price_at(c, specs[c.id], values) for c in cases]) - target

    return least_squares(residuals, x0, bounds=(lo, hi), diff_step=1e-2)


def _sensitivity(
    cases: list[Case], specs: dict[str, GpuSpec], point: dict[str, float], names: list[str]
) -> dict[str, float]:
    """Largest |d log t / d log value| over the cases, per constant, at ``point`` (+-10 %)."""
    out = {}
    for name in names:
        lo, hi = _bounds(name)
        up, down = min(point[name] * 1.1, hi), max(point[name] / 1.1, lo)
        worst = 0.0
        for c in cases:
            t_up = _price_at(c, specs[c.id], {**point, name: up})
            t_down = _price_at(c, specs[c.id], {**point, name: down})
            worst = max(worst, abs(np.log(t_up / t_down) / np.log(up / down)))
        out[name] = worst
    return out


def identify(cases: list[Case], specs: dict[str, GpuSpec]) -> dict[str, str]:
    """Which constants the cases can identify, from where their modelled time goes at the
    descriptor's values: constant -> "free: why" or "fixed: why"."""
    shares = []
    for c in cases:
        record = bool(c.data.get("record_spikes", False))
        t = gpu_model.estimate_gpu_time(
            c.network, c.activity, specs[c.id], batch=c.batch, record_spikes=record, steps=_steps(c)
        )
        total = t.time_s
        kernels = t.kernels
        shares.append(
            {
                "launch": sum(k.time_s for k in kernels if k.bound == "launch") / total,
                "events": float(t.steps.events.sum()),
                "neuron_memory": sum(
                    k.time_s for k in kernels if k.name == "neuron_kernel" and k.bound == "memory"
                )
                / total
                if not c.network.projections
                else 0.0,
                "copy": t.copy_time_s / total,
            }
        )
    n = len(cases)
    launch = sum(s["launch"] >= 0.2 for s in shares)
    events = sum(s["events"] > 0 for s in shares)
    memory = sum(s["neuron_memory"] >= 0.2 for s in shares)
    copy_ = sum(s["copy"] >= 0.2 for s in shares)
    return {
        "launch_latency_us": f"free: launch-bound kernels carry >= 20 % of {launch}/{n} cases"
        if launch
        else "fixed: no case is launch-bound",
        "atomic_throughput_gops": f"free: {events}/{n} cases deliver synaptic events"
        if events
        else "fixed: no case delivers synaptic events",
        "memory_fraction": f"free: {memory}/{n} cases without synapses are memory-bound"
        if memory
        else "fixed: no case without synapses is memory-bound; with synapses, neuron state and "
        "synaptic traffic both grow with N and the data cannot tell them apart",
        "host_copy_latency_us": f"free: {copy_}/{n} cases copy spikes every step"
        if copy_
        else "fixed: no case copies spikes to the host every step",
        "sync_us": "fixed: enters only as sync_us + host_copy_latency_us per recorded step",
        ROW: f"free: {events}/{n} cases walk synaptic rows"
        if events
        else "fixed: no case walks synaptic rows",
    }


def fit_generation(
    generation: str, cases: list[Case], specs: dict[str, GpuSpec], row: bool = True
) -> Fit:
    """Least squares on log(time) over the generation's fitted cases; ``row=False`` holds the
    row latency at zero (the model before the term)."""
    start = timing_values(specs[cases[0].id])
    reasons = identify(cases, specs)
    if row:
        start[ROW] = start[ROW] or 0.1  # a log-space start needs a positive value
    else:
        start[ROW] = 0.0
        reasons[ROW] = "fixed at 0: the model without the row term"
    free = [p for p in PARAMS if reasons[p].startswith("free")]
    for _ in range(len(free)):  # drop what does not bind at the optimum, then refit
        result = _solve(cases, specs, free, start)
        values = {**start, **dict(zip(free, np.exp(result.x), strict=True))}
        sens = _sensitivity(cases, specs, values, free)
        idle = [p for p in free if sens[p] < MIN_SENSITIVITY]
        # a constant that runs to its search bound gives a limit, not a value: keep the
        # descriptor's and refit the rest
        pinned = [p for k, p in enumerate(free) if result.active_mask[k] != 0 and p not in idle]
        if not idle and not pinned:
            break
        for p in idle:
            free.remove(p)
            reasons[p] = (
                f"fixed: does not bind at the fitted optimum (max |dlog t/dlog c| {sens[p]:.3f})"
            )
        for p in pinned:
            free.remove(p)
            reasons[p] = f"fixed: ran to its search bound ({values[p]:.3g}); a limit, not a value"
    jac, res = result.jac, result.fun
    dof = len(cases) - len(free)
    log_se: dict[str, float | None] = dict.fromkeys(free)
    if dof > 0:
        s2 = float(res @ res) / dof
        with contextlib.suppress(np.linalg.LinAlgError):
            cov = s2 * np.linalg.inv(jac.T @ jac)
            log_se = {p: float(np.sqrt(max(cov[k, k], 0.0))) for k, p in enumerate(free)}
    return Fit(
        generation=generation,
        free=free,
        start=start,
        values=values,
        log_se=log_se,
        residuals={c.id: float(r) for c, r in zip(cases, res, strict=True)},
        sensitivity=_sensitivity(cases, specs, values, free),
        reasons=reasons,
        rms=float(np.sqrt(np.mean(res**2))),
        row=row,
    )


def leave_one_out(
    cases: list[Case], specs: dict[str, GpuSpec], fit: Fit
) -> dict[str, tuple[float, dict[str, float]]]:
    """Refit without each case (same free constants) and predict it: case -> (ratio, values)."""
    out = {}
    for held in cases:
        rest = [c for c in cases if c is not held]
        if len(rest) < len(fit.free):
            continue
        result = _solve(rest, specs, fit.free, fit.values)
        values = {**fit.values, **dict(zip(fit.free, np.exp(result.x), strict=True))}
        out[held.id] = (_price_at(held, specs[held.id], values) / held.wall_s, values)
    return out


def carry_over(fit: Fit, donor: GpuSpec, spec: GpuSpec) -> dict[str, float]:
    """A generation's fitted constants moved to another GPU: the free ones as fitted, except the
    atomic throughput, scaled by DRAM bandwidth (the rule the bundled descriptors already use);
    the constants the fit could not identify keep the target descriptor's values."""
    values = {**timing_values(spec), **{p: fit.values[p] for p in fit.free}}
    if "atomic_throughput_gops" in fit.free:
        ratio = spec.memory.bandwidth_gb_s.require() / donor.memory.bandwidth_gb_s.require()
        values["atomic_throughput_gops"] *= ratio
    return values


# ---- reporting ---------------------------------------------------------------------------------


def _fmt_s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def print_table(title: str, cases: list[Case], extra: dict[str, float] | None = None) -> None:
    print(f"\n{title}")
    head = f"{'case':30} {'descriptor':18} {'published s':>11} {'before s':>9} {'after s':>9}"
    head += f" {'after/pub':>9}"
    if extra is not None:
        head += f" {'no-row s':>8} {'ratio':>6}"
    print(head)
    for c in cases:
        gpu = f"{c.descriptor} ({c.generation})"
        ratio = f"{c.after / c.wall_s:9.2f}" if c.after else f"{'-':>9}"
        line = f"{c.id:30} {gpu:18} {c.wall_s:11.4g} {_fmt_s(c.before):>9} {_fmt_s(c.after):>9} "
        line += ratio
        if extra is not None:
            row = extra.get(c.id)
            line += f" {_fmt_s(row):>8} {row / c.wall_s:6.2f}" if row else f" {'-':>8} {'-':>6}"
        print(line)


def print_fit(fit: Fit) -> None:
    title = "with the row latency (adopted)" if fit.row else "row latency held at 0 (old model)"
    print(f"\n{fit.generation}, {title}: rms log residual {fit.rms:.3f} (x{np.exp(fit.rms):.2f})")
    print(f"{'constant':24} {'descriptor':>10} {'fitted':>9} {'68 % range (1 s.e.)':>20}  status")
    for name in PARAMS:
        value = fit.values[name]
        start = f"{fit.start[name]:10.4g}"
        if name in fit.free:
            se = fit.log_se.get(name)
            span = f"[{value * np.exp(-se):.3g}, {value * np.exp(se):.3g}]" if se else "n/a"
            status = f"{fit.reasons[name]} (max |dlog t/dlog c| {fit.sensitivity[name]:.2f})"
        else:
            span = "-"
            status = fit.reasons[name]
        print(f"{name:24} {start} {value:9.4g} {span:>20}  {status}")
    print("residuals log(model/published):")
    for case_id, r in fit.residuals.items():
        print(f"  {case_id:32} {r:+.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="default: the bundled file")
    parser.add_argument("--quick", action="store_true", help="skip the leave-one-out refits")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    cases, _ = load_cases(args.data)
    priced = [c for c in cases if c.evaluate]
    specs_by_name: dict[str, GpuSpec] = {}
    for c in priced:
        rebuild(c)
        name = str(c.descriptor)  # priced cases have one (Case.evaluate)
        specs_by_name.setdefault(name, load_gpu(name))
    specs = {c.id: specs_by_name[str(c.descriptor)] for c in priced}
    print(f"{len(cases)} published cases, {len(priced)} rebuilt ({time.perf_counter() - t0:.1f} s)")
    fits: dict[str, Fit] = {}  # the adopted fits, row latency free
    rows: dict[str, Fit] = {}  # the same with the row latency held at zero
    loo: dict[str, dict[str, tuple[float, dict[str, float]]]] = {}
    row_loo: dict[str, dict[str, tuple[float, dict[str, float]]]] = {}
    row_time: dict[str, float] = {}
    with memoised_step_activity():
        for c in priced:
            c.before = price(c, specs[c.id])
        for gen in sorted({c.generation for c in priced if c.fit}):
            members = [c for c in priced if c.fit and c.generation == gen]
            fits[gen] = fit_generation(gen, members, specs)
            rows[gen] = fit_generation(gen, members, specs, row=False)
            if not args.quick:
                loo[gen] = leave_one_out(members, specs, fits[gen])
                row_loo[gen] = leave_one_out(members, specs, rows[gen])
        for c in priced:
            if c.generation in fits:
                c.after = _price_at(c, specs[c.id], fits[c.generation].values)
                row_time[c.id] = _price_at(c, specs[c.id], rows[c.generation].values)
    calibration = [c for c in priced if c.fit]
    others = [c for c in priced if not c.fit and not c.holdout]
    holdout = [c for c in priced if c.holdout]
    note = "(before: descriptor as bundled; after: fitted constants, row latency free; no-row: "
    print(note + "refitted with the row latency held at 0)")
    print_table("Calibration cases (fitted)", calibration, row_time)
    print_table(
        "Recorded cases kept out of the fit (model gaps, see why_not_fit)", others, row_time
    )
    print_table("Holdout: Potjans-Diesmann microcircuit (never fitted)", holdout, row_time)
    for gen in fits:
        for fit, checks in ((fits[gen], loo.get(gen)), (rows[gen], row_loo.get(gen))):
            print_fit(fit)
            if checks is not None and not checks:
                print("leave-one-out: not possible (fewer cases than free constants without one)")
            if checks:
                print("leave-one-out (refit without the case, then predict it):")
                for case_id, (ratio, values) in checks.items():
                    shown = ", ".join(f"{SHORT.get(p, p)} {values[p]:.3g}" for p in fit.free)
                    print(f"  {case_id:32} predicted/published {ratio:6.2f}   ({shown})")
    donors = {gen: specs[next(c.id for c in calibration if c.generation == gen)] for gen in fits}
    print("\nHoldout on GPUs without calibration cases: each fitted generation carried over")
    print("(atomic throughput scaled by DRAM bandwidth, the other constants as fitted)")
    donor_fits = [(gen, fit) for gen in fits for fit in (fits[gen], rows[gen])]
    labels = [f"{gen}{'' if fit.row else ' no-row'}" for gen, fit in donor_fits]
    print(f"{'case':30} {'published s':>11} " + " ".join(f"{label:>14}" for label in labels))
    with memoised_step_activity():
        for c in holdout:
            if c.generation in fits:
                continue
            cells = []
            for gen, fit in donor_fits:
                values = carry_over(fit, donors[gen], specs[c.id])
                t = _price_at(c, specs[c.id], {**values, ROW: fit.values[ROW]})
                cells.append(f"{_fmt_s(t):>7} ({t / c.wall_s:4.2f})")
            print(f"{c.id:30} {c.wall_s:11.4g} " + " ".join(cells))
    print("\nProposed timing constants per bundled descriptor (fitted generation: the fit; others:")
    print("the fitted generations carried over as above, for comparison only)")
    print(f"{'descriptor':12} {'from':8} " + " ".join(f"{SHORT[p]:>13}" for p in PARAMS))
    for name in sorted(bundled_gpu_names()):
        spec = load_gpu(name)
        for gen, fit in fits.items():
            own = donors[gen].name == name
            if not own and any(donors[g].name == name for g in fits):
                continue
            values = fit.values if own else carry_over(fit, donors[gen], spec)
            label = f"{gen}{' fit' if own else ''}"
            print(f"{name:12} {label:8} " + " ".join(f"{values[p]:13.4g}" for p in PARAMS))
    unpriced = [c.id for c in cases if not c.evaluate]
    print(f"\nRecorded, not priced (no bundled descriptor or not rebuilt): {', '.join(unpriced)}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
