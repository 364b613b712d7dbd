"""Measure what neuroemu.run_budget estimates: peak memory per synapse and time per step.

Runs COBA at two sizes (and a tiny network for the per-step cost), each in its own process,
alternating the sizes (ABBA) and repeating, and prints the measured peak memory per synapse
and seconds per step next to the constants of ``neuroemu/run_budget.py``, with the ratio.

    python benchmarks/run_memory.py [--repeats 2] [--device runtime] [--duration-ms 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from neuroemu import run_budget

CHILD = """
import json, resource, sys, time
from neuroemu.pipeline import run_pipeline
scale, device, duration = float(sys.argv[1]), sys.argv[2], float(sys.argv[3])
result = run_pipeline("coba", "loihi", duration_ms=duration, params={"scale": scale},
                      device=device)
print(json.dumps({
    "n_synapses": result.network.n_synapses,
    "n_neurons": result.network.n_neurons,
    "n_steps": result.activity.n_steps,
    "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "simulate_s": result.timings_s["simulate_s"],
}))
"""


def measure(scale: float, device: str, duration_ms: float) -> dict[str, float]:
    """One COBA run at ``scale`` in a fresh process: its sizes, peak memory and time."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(scale), device, str(duration_ms)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="runtime")
    parser.add_argument("--duration-ms", type=float, default=100.0)
    parser.add_argument("--scales", type=float, nargs=2, default=(5.0, 20.0))
    args = parser.parse_args()
    small, large = args.scales
    measure(small, args.device, 10.0)  # compile once, outside the timings
    slopes, per_step = [], []
    for repeat in range(args.repeats):
        order = (small, large) if repeat % 2 == 0 else (large, small)  # ABBA
        runs = {scale: measure(scale, args.device, args.duration_ms) for scale in order}
        a, b = runs[small], runs[large]
        slopes.append((b["peak_bytes"] - a["peak_bytes"]) / (b["n_synapses"] - a["n_synapses"]))
        # Long enough (20,000 steps) that Brian2's set-up is a small part of the time.
        tiny = measure(0.05, args.device, 20_000.0)
        per_step.append(tiny["simulate_s"] / tiny["n_steps"])
    slope = statistics.median(slopes)
    step = statistics.median(per_step)
    step_model = run_budget.SECONDS_PER_STEP.get(
        args.device, run_budget.SECONDS_PER_STEP["runtime"]
    )
    print(f"device {args.device}, {args.repeats} repeats (median [min-max])")
    print(
        f"peak memory per synapse: {slope:.1f} B [{min(slopes):.1f}-{max(slopes):.1f}]; "
        f"run_budget.BYTES_PER_SYNAPSE = {run_budget.BYTES_PER_SYNAPSE} "
        f"(ratio {run_budget.BYTES_PER_SYNAPSE / slope:.2f})"
    )
    print(
        f"seconds per step (200 neurons): {step * 1e6:.0f} us "
        f"[{min(per_step) * 1e6:.0f}-{max(per_step) * 1e6:.0f}]; "
        f"run_budget.SECONDS_PER_STEP = {step_model * 1e6:.0f} us (ratio {step_model / step:.2f})"
    )


if __name__ == "__main__":
    main()
