"""Pricing one run's activity on every bundled chip and GPU, against simulating it (issue 15).

Target: pricing COBA's activity on all bundled chips and GPUs takes under 10 % of the time of
simulating it. Each repetition runs the pipeline once (``run_pipeline("coba", "loihi",
record_changes=True)``: the record that SANA-FE-style chips price) and then prices that activity
with :func:`neuroemu.comparison.price_elsewhere` on every bundled chip (mapping and exact counts
per chip; a chip the network does not fit is a note, its failed mapping timed too) and every
bundled GPU in both styles, exactly what ``neuroemu compare`` does. Simulation and pricing
alternate, so drift in a shared machine's load hits both; the ratio is taken per repetition.

The denominator is the pipeline's simulation (``timings_s["simulate_s"]``: Brian2 building,
running and returning the activity), with the default device ``auto`` and with ``numpy``;
``auto`` picks numpy for this short run (and the script says so), then both rows measure the same
thing and the numpy row is left out. The pipeline's whole wall time (network build, mapping on
Loihi, simulation, counting and pricing on Loihi) is printed too, and the ratio of CPU times
(pricing over the whole pipeline run), which a loaded machine disturbs less than wall time. One
more pricing run, broken down per chip (map + count + price) and for the GPUs, shows where the
time goes.

Run: ``python benchmarks/pricing.py [--repeats 5] [--devices auto numpy] [--model coba]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neuroemu.comparison import price_elsewhere, price_on_chip, price_on_gpus  # noqa: E402
from neuroemu.errors import CapacityError  # noqa: E402
from neuroemu.pipeline import RunResult, run_pipeline  # noqa: E402
from neuroemu.spec.chip import ChipSpec, bundled_chip_names, load_chip  # noqa: E402
from neuroemu.spec.gpu import GpuSpec, bundled_gpu_names, load_gpu  # noqa: E402

TARGET_RATIO = 0.10


def spread(values: list[float], scale: float = 1.0, unit: str = " s", digits: int = 2) -> str:
    """``median (min-max)`` of ``values`` times ``scale``."""
    m, lo, hi = (scale * statistics.median(values), scale * min(values), scale * max(values))
    return f"{m:.{digits}f}{unit} ({lo:.{digits}f}-{hi:.{digits}f})"


def simulate(model: str, chip: str, device: str) -> tuple[RunResult, float, float]:
    """The pipeline's run, its wall time and this process's CPU time for it."""
    start, cpu = time.perf_counter(), time.process_time()
    result = run_pipeline(model, chip, device=device, record_changes=True)
    return result, time.perf_counter() - start, time.process_time() - cpu


def price_all(result: RunResult, chips: list[ChipSpec], gpus: list[GpuSpec]) -> tuple[float, float]:
    """Wall and CPU time of pricing the run's activity on every chip and GPU."""
    start, cpu = time.perf_counter(), time.process_time()
    price_elsewhere(result.network, result.activity, chips, gpus)
    return time.perf_counter() - start, time.process_time() - cpu


def breakdown(result: RunResult, chips: list[ChipSpec], gpus: list[GpuSpec]) -> None:
    """Time of each chip (map + count + price, or the failed mapping) and of the GPUs."""
    parts = []
    for chip in chips:
        start = time.perf_counter()
        try:
            price_on_chip(result.network, result.activity, chip)
            outcome = ""
        except CapacityError:
            outcome = " (does not fit)"
        parts.append(f"{chip.name} {time.perf_counter() - start:.2f}{outcome}")
    start = time.perf_counter()
    price_on_gpus(result.network, result.activity, gpus)
    parts.append(f"{len(gpus)} GPUs x 2 styles {time.perf_counter() - start:.2f}")
    print("  one pricing run, per device (s): " + ", ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="coba")
    parser.add_argument("--chip", default="loihi", help="the chip the pipeline simulates for")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--devices", nargs="+", default=["auto", "numpy"])
    args = parser.parse_args()

    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
        "(shared machine; read medians and ranges)"
    )
    chips = [load_chip(name) for name in bundled_chip_names()]
    gpus = [load_gpu(name) for name in bundled_gpu_names()]
    names = ", ".join(chip.name for chip in chips)
    print(f"pricing on {len(chips)} chips ({names}) and {len(gpus)} GPUs")
    warm, _, _ = simulate(args.model, args.chip, "numpy")  # warm-up: imports, Brian2's caches
    price_all(warm, chips, gpus)  # and pricing's
    measured: set[str] = set()
    for device in args.devices:
        sims: list[float] = []
        walls: list[float] = []
        prices: list[float] = []
        ratios: list[float] = []
        cpu_ratios: list[float] = []
        for _ in range(args.repeats):
            result, wall, wall_cpu = simulate(args.model, args.chip, device)
            if not sims and result.activity.device in measured:
                break
            priced, priced_cpu = price_all(result, chips, gpus)
            sims.append(result.timings_s["simulate_s"])
            walls.append(wall)
            prices.append(priced)
            ratios.append(priced / result.timings_s["simulate_s"])
            cpu_ratios.append(priced_cpu / wall_cpu)
        chosen = result.activity.device
        if not sims:
            print(f"device {device}: runs on {chosen}, measured above")
            continue
        measured.add(chosen)
        why = "; ".join(n for n in result.notes if n.startswith("device auto"))
        ratio = statistics.median(ratios)
        print(
            f"device {device} ({chosen}{'; ' + why if why else ''}), {args.repeats} repetitions, "
            f"{result.activity.n_steps} steps, {result.activity.n_spikes:,} spikes:"
        )
        print(f"  simulation (simulate_s):       {spread(sims)}")
        print(f"  whole pipeline run:            {spread(walls)}")
        print(f"  pricing on all chips and GPUs: {spread(prices)}")
        print(
            f"  pricing / simulation:          {spread(ratios, 100, ' %', 1)}; target < "
            f"{TARGET_RATIO * 100:g} %: {'met' if ratio < TARGET_RATIO else 'MISSED'}"
        )
        print(
            f"  CPU time, pricing / whole pipeline run: {spread(cpu_ratios, 100, ' %', 1)} "
            "(steadier than wall time on a loaded machine; the pipeline's run includes its build, "
            "mapping and counting, so this ratio is a little lower)"
        )
        breakdown(result, chips, gpus)


if __name__ == "__main__":
    main()
