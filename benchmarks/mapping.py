"""Benchmark of :func:`neuroemu.mapping.mapping.map_network` at scale.

Three cases, each in a fresh process so that peak memory (``ru_maxrss``) belongs to one case:

* ``fill``: 1,000,000 neurons and 100,000,000 synapses (100 random sources per neuron,
  multapses allowed) on Loihi. Target: under 20 s and 6 GB.
* ``min-traffic``: 100,000 neurons and 10,000,000 synapses on Loihi. Target: under 60 s.
* ``spinnaker``: the Potjans & Diesmann microcircuit (``models/microcircuit.py``: 77,169 neurons,
  about 0.3e9 synapses at full scale) on SpiNNaker at dt 0.1 ms, ``fill``. Target (issue 14
  item 5): 0.3e9 synapses in under 15 s. ``--scale`` and ``--k-scale`` build it smaller; the
  time is then also extrapolated linearly in synapses to 0.3e9, and labelled so.

Connectivity is drawn directly in numpy (int32, post-major, as ``fixed_indegree`` lays it out)
and timed separately from the mapping. Peak memory is the process's peak resident set, network
included. Run: ``python benchmarks/mapping.py`` (or ``--case fill`` / ``--case min-traffic``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from neuroemu.mapping.mapping import map_network
from neuroemu.network.network import Network, Population, Projection
from neuroemu.spec.chip import load_chip

CASES = {
    "fill": {"n_neurons": 1_000_000, "k": 100, "target_s": 20.0, "target_gb": 6.0},
    "min-traffic": {"n_neurons": 100_000, "k": 100, "target_s": 60.0, "target_gb": None},
    "spinnaker": {"n_neurons": 77_169, "k": 0, "target_s": 15.0, "target_gb": None},
}
# The full microcircuit's synapse count, which the spinnaker target is stated for.
FULL_MICROCIRCUIT_SYNAPSES = 0.3e9


def random_network(n_neurons: int, k: int, seed: int = 0) -> Network:
    """One population, ``k`` random sources per neuron (fixed in-degree, multapses allowed)."""
    rng = np.random.default_rng(seed)
    pre = rng.integers(0, n_neurons, size=n_neurons * k, dtype=np.int32)
    post = np.repeat(np.arange(n_neurons, dtype=np.int32), k)
    population = Population("cells", n_neurons, "cuba_lif")
    # A float32 weight keeps the per-synapse weight array at 4 bytes per synapse.
    projection = Projection("cells", "cells", pre, post, np.float32(0.5), delay_ms=1.0)
    return Network((population,), (projection,), name=f"random_{n_neurons}")


def peak_rss_gb() -> float:
    """Peak resident set of this process in GB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def microcircuit_network(scale: float, k_scale: float | None) -> Network:
    """``models/microcircuit.py`` as published (distributed delays, noise background)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from models import microcircuit

    return microcircuit.build(scale=scale, k_scale=k_scale)


def run_case(name: str, scale: float = 1.0, k_scale: float | None = None) -> dict[str, object]:
    """Build the network of case ``name``, map it, and return the figures."""
    case = CASES[name]
    start = time.perf_counter()
    if name == "spinnaker":
        network = microcircuit_network(scale, k_scale)
        chip = load_chip("spinnaker").with_timestep(0.1)
        strategy = "fill"
    else:
        network = random_network(int(case["n_neurons"]), int(case["k"]))
        chip = load_chip("loihi")
        strategy = name
    generate_s = time.perf_counter() - start
    rss_network = peak_rss_gb()
    start = time.perf_counter()
    mapping = map_network(network, chip, strategy=strategy)
    map_s = time.perf_counter() - start
    summary = mapping.summary()
    return {
        "case": name,
        "n_neurons": network.n_neurons,
        "n_synapses": network.n_synapses,
        "generate_s": round(generate_s, 2),
        "map_s": round(map_s, 2),
        "peak_rss_after_generation_gb": round(rss_network, 2),
        "peak_rss_gb": round(peak_rss_gb(), 2),
        "n_chips": mapping.n_chips,
        "n_cores_used": mapping.n_cores_used,
        "binding_resource": summary["binding_resource"],
        "inter_core_fraction": round(float(summary["inter_core_fraction"]), 4),
        "target_s": case["target_s"],
        "target_gb": case["target_gb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), help="run one case in this process")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--scale", type=float, default=1.0, help="microcircuit scale (spinnaker)")
    parser.add_argument("--k-scale", type=float, default=None, help="its in-degree scale")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.scale, args.k_scale)))
        return
    scales = ["--scale", str(args.scale)]
    scales += [] if args.k_scale is None else ["--k-scale", str(args.k_scale)]
    for name in args.cases:
        done = subprocess.run(
            [sys.executable, __file__, "--case", name, *scales],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        within = result["map_s"] <= result["target_s"] and (
            result["target_gb"] is None or result["peak_rss_gb"] <= result["target_gb"]
        )
        gb = f" and {result['target_gb']} GB" if result["target_gb"] else ""
        r = result
        small = name == "spinnaker" and r["n_synapses"] < 0.95 * FULL_MICROCIRCUIT_SYNAPSES
        print(
            f"{name:12s} {r['n_neurons']:>9,} neurons {r['n_synapses']:>11,} synapses: "
            f"generation {r['generate_s']:.1f} s, mapping {r['map_s']:.1f} s, peak RSS "
            f"{r['peak_rss_gb']:.2f} GB (after generation {r['peak_rss_after_generation_gb']:.2f} "
            f"GB); {r['n_chips']} chips, {r['n_cores_used']} cores, binding "
            f"{r['binding_resource']}, inter-core fraction {r['inter_core_fraction']:.3f}; "
            f"target < {r['target_s']:g} s{gb}: {'met' if within else 'MISSED'}"
            + (" on this smaller network" if small else "")
        )
        if small:
            at_full = r["map_s"] * FULL_MICROCIRCUIT_SYNAPSES / r["n_synapses"]
            verdict = "met" if at_full < r["target_s"] else "MISSED"
            print(
                f"{'':12s} below full scale: {at_full:.1f} s extrapolated linearly to "
                f"0.3e9 synapses; target < {r['target_s']:g} s: {verdict} (extrapolated)"
            )


if __name__ == "__main__":
    main()
