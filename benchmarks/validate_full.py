"""``neuroemu validate`` in full: the quick cases, then the SpiNNaker microcircuit simulated.

The quick cases (``neuroemu validate --quick``) price published chip workloads from their
statistics and published GPU runs (GeNN, Brian2GeNN, NEST GPU; the Potjans-Diesmann microcircuit
holdouts among them) rebuilt with synthetic spikes at the published rates. Here the full-scale
Potjans-Diesmann microcircuit (``models/microcircuit.py``, 77,169 neurons, ~0.3e9 synapses) is
simulated for 1 s of biological time at dt 0.1 ms on cpp_standalone (about 15 GiB and a few
minutes, see ``benchmarks/microcircuit.py``), its spikes are counted on SpiNNaker spread over the
published boards (``--max-neurons-per-core`` = neurons / cores of those boards),
and priced at each published operating point at wall scope:

- real time on 12 boards, against 0.60 uJ per synaptic event (Rhodes et al. 2020);
- 20x slow-down on 6 boards, against 4.4 uJ (van Albada et al. 2018).

Prints the same columns as ``neuroemu validate``. Run: ``python benchmarks/validate_full.py``
(``--scale 0.1`` for a quick look; per-event figures then differ from the published ones, since
the boards' idle power is shared by fewer synaptic events).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from click.testing import CliRunner  # noqa: E402
from microcircuit import CACHE, available_memory, gib, run_simulation  # noqa: E402

from models import microcircuit  # noqa: E402
from neuroemu.accounting import count_events, estimate_energy  # noqa: E402
from neuroemu.cli.main import cli  # noqa: E402
from neuroemu.mapping.mapping import map_network  # noqa: E402
from neuroemu.operating_point import OperatingPoint  # noqa: E402
from neuroemu.spec.chip import load_chip  # noqa: E402
from neuroemu.validation_cases import CASES  # noqa: E402

PD14 = [case for case in CASES if case.id.startswith("spinnaker-pd14")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-dir", type=Path, default=CACHE / "microcircuit")
    args = parser.parse_args()

    print("== quick cases (neuroemu validate --quick)")
    print(CliRunner().invoke(cli, ["validate", "--quick"]).output)

    print("== the microcircuit, simulated")
    start = time.perf_counter()
    network = microcircuit.build(scale=args.scale, seed=args.seed)
    built_s = time.perf_counter() - start
    print(f"{network.n_neurons} neurons, {network.n_synapses} synapses, built in {built_s:.0f} s; "
          f"available memory {gib(available_memory() or 0)}")  # fmt: skip
    args.keep_build = False
    activity, simulate_s, _ = run_simulation(network, args, network.n_synapses)
    print(f"simulated in {simulate_s:.0f} s: {activity.n_spikes} spikes")
    chip = load_chip("spinnaker").with_timestep(0.1)
    rows = []
    for case in PD14:
        assert case.n_boards is not None and case.operating_point is not None
        cores = case.n_boards * chip.topology.chips_per_board.require() * chip.cores_per_chip
        per_core = math.ceil(network.n_neurons / cores)
        mapping = map_network(network, chip, max_neurons_per_core=per_core)
        counts = count_events(network, activity, mapping)
        point = OperatingPoint.parse(case.operating_point)
        report = estimate_energy(counts, chip, point, case.scope, case.n_boards)
        value, low, high = report.bounds("energy_per_synaptic_event_pj")
        ratio = None if value is None else value / (case.published * 1e6)
        rows.append((case, per_core, mapping.n_chips, counts, report, value, low, high, ratio))
    print("\ncase | published | estimate [range] | ratio | band | verdict | setup")
    for case, per_core, n_chips, counts, report, value, low, high, ratio in rows:
        verdict = (
            "unpriced"
            if ratio is None
            else ("pass" if case.band[0] <= ratio <= case.band[1] else "miss")
        )
        shown = "-" if value is None else f"{value * 1e-6:.3g} [{low * 1e-6:.3g}-{high * 1e-6:.3g}]"
        print(f"{case.id} (simulated) | {case.published:g} uJ | {shown} uJ | "
              f"{'-' if ratio is None else f'{ratio:.2f}'} | {case.band[0]:g}-{case.band[1]:g} | "
              f"{verdict} | {case.operating_point}, {case.n_boards} boards, {per_core} neurons "
              f"per core on {n_chips} chips, {counts.totals()['synaptic_event']:.3e} synaptic "
              f"events, time on chip {report.time_s:.3g} s")  # fmt: skip
        for note in report.notes:
            print(f"  note: {note}")


if __name__ == "__main__":
    main()
