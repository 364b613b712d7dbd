"""The full-scale Potjans & Diesmann (2014) microcircuit through neuroemu, on a 24 GB machine.

Builds ``models/microcircuit.py`` (77,169 neurons, ~0.3e9 synapses at ``--scale 1``), runs 1 s of
biological time at dt 0.1 ms on Brian2's cpp_standalone device, counts every event and prices it
on Loihi and on SpiNNaker (each descriptor with ``dt_ms`` set to 0.1 ms, the step the model
needs), and prints:

- wall time of each stage: network build, simulation (code generation, ``make``, the binary,
  loading spikes), the binary's own simulation loop (from Brian2's ``last_run_info.txt``),
  mapping and counting per chip;
- peak memory: ``ru_maxrss`` of this process and of its largest child (resource.getrusage
  RUSAGE_SELF and RUSAGE_CHILDREN), and the sampled peak of all processes together. The sampled
  figure is the one that decides whether a run fits: RUSAGE_CHILDREN is not the binary's own
  peak here, because Brian2 starts ``make`` with ``os.system`` (a fork of this process, whose
  maxrss starts at this process's size), so it reads as at least this process's size at the time;
- synaptic events, per second of biological time and per second of wall time;
- per chip: how many chips and cores the mapping needs and the energy and time on chip, or the
  CapacityError saying why the network does not fit.

The simulation runs with SpiNNaker's 16-bit weights (the chip the model was published on); the
same spikes are then counted for both chips, so the two energy figures price the same activity.
Loihi's descriptor has no published chip-to-chip energy, so a multi-chip Loihi total is ``None``;
the energy without that kind is printed as well, labelled.

The Poisson background is modelled as noise (see ``models/microcircuit.py``): its synaptic
events are not in the counts, and the number the published Poisson input would add is printed
separately. Brian2's ``make`` is limited to one job per CPU (its default ``make -j`` starts one
compiler per source file, ~265 here, which took 16 GB and a load of 220 on this machine).

Run ``python benchmarks/microcircuit.py --scale 0.05`` for a quick check; the default is full
scale. The last lines compare with issue 14's targets: counting at least 1e8 synaptic events per
second, and mapping the full model (0.3e9 synapses) on SpiNNaker in under 15 s (below full scale,
extrapolated linearly in synapses, and labelled so). ``--synthetic-spikes`` counts Poisson spikes
at the published mean rates instead of simulating, for a machine that cannot simulate the scale.

Before simulating, the script estimates the peak memory from the synapse count (bytes per
synapse measured here, see ``BYTES_PER_SYNAPSE``) and stops if the machine's available memory is
short, unless ``--force``. Brian2 holds no set-up copies of the synapse arrays (the engine
hands connectivity, weights and delays to the binary as run inputs,
``neuroemu/engine/run_inputs.py``), so the full model needs about 17 GiB instead of the
35-38 GiB it needed at first (see benchmarks/README.md). Counting on a chip whose mapping has
too many cores for ``count_events``'s (steps x cores) matrices is skipped with the estimate.
``--spikes-from DIR`` counts the spikes a finished standalone binary left in its results
directory (when the Python process died after the binary finished) instead of simulating again.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import microcircuit  # noqa: E402
from neuroemu.accounting import count_events, estimate_energy  # noqa: E402
from neuroemu.engine.runner import simulate  # noqa: E402
from neuroemu.errors import CapacityError  # noqa: E402
from neuroemu.mapping.mapping import map_network  # noqa: E402
from neuroemu.network.network import Network  # noqa: E402
from neuroemu.spec.chip import ChipSpec, load_chip  # noqa: E402

CACHE = Path(os.environ.get("NEUROEMU_CACHE", Path.home() / ".cache" / "neuroemu")) / "benchmarks"
# Peak bytes per synapse of all processes together during simulate, measured at 60M synapses
# (scale 0.2, k_scale 1, distributed delays): 58 (this process 19 while the binary ran, the
# binary 39) once the engine freed Brian2's set-up copies; before, 136. Measured again with the
# copies never made (run inputs, neuroemu/engine/run_inputs.py): 58 (Python 22, binary 36).
# Python's own peak while building Brian2's objects, 40 (was 45), comes first, alone.
BYTES_PER_SYNAPSE = 58.0
# Issue 14 item 5: counting at least 1e8 synaptic events per second at full scale, and mapping
# the full model (about 0.3e9 synapses) on SpiNNaker in under 15 s.
TARGET_EVENTS_PER_S = 1e8
TARGET_SPINNAKER_MAP_S = 15.0
FULL_SYNAPSES = 0.3e9
# count_events keeps (n_steps x n_cores) sparse matrices per event kind: about 26 bytes per
# (step, core) cell measured (Loihi, scale 0.5: 27,217 cores x 10^4 steps, +7 GB, 95 s).
COUNT_BYTES_PER_CELL = 26.0


def chip_with_dt(name: str, dt_ms: float) -> ChipSpec:
    """A bundled chip descriptor emulated at another timestep (the model needs 0.1 ms)."""
    return load_chip(name).with_timestep(dt_ms)


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


def peak_memory() -> tuple[int, int]:
    """Peak resident memory in bytes of this process and of its largest finished child."""
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return self_kb * 1024, child_kb * 1024


class MemorySampler:
    """Samples the resident memory of this process plus all its descendants (every 0.2 s).

    ru_maxrss gives each process's own peak; what decides whether a run fits is the peak of
    their sum (the Python process keeps its copies while the binary runs), which only sampling
    shows.
    """

    def __init__(self, period_s: float = 0.2) -> None:
        import threading

        self.peak = 0
        self.peak_parts = (0, 0)
        self.peak_own = 0
        self.peak_children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period_s,), daemon=True)
        self._thread.start()

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            pass
        return 0

    @staticmethod
    def _children(pid: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                out += [int(x) for x in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
        return out

    def _run(self, period_s: float) -> None:
        me = os.getpid()
        while not self._stop.wait(period_s):
            todo, own, children = self._children(me), self._rss(me), 0
            while todo:
                pid = todo.pop()
                children += self._rss(pid)
                todo += self._children(pid)
            self.peak_own = max(self.peak_own, own)
            self.peak_children = max(self.peak_children, children)
            if own + children > self.peak:
                self.peak, self.peak_parts = own + children, (own, children)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where there is no such file)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def network_bytes(network: Network) -> int:
    """Bytes held by the Network's per-synapse arrays."""
    total = 0
    for proj in network.projections:
        total += proj.i.nbytes + proj.j.nbytes + np.asarray(proj.weight).nbytes
        total += np.asarray(proj.delay_ms).nbytes
    return total


def loop_time_s(directory: Path) -> float | None:
    """The binary's simulation-loop time, as Brian2's standalone binary records it."""
    for info in (directory / "results" / "last_run_info.txt", directory / "last_run_info.txt"):
        try:
            return float(info.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return None


def synaptic_events(network: Network, activity) -> int:
    """Synaptic events delivered during the run (chip-independent): for each projection and
    delay, the spikes that arrive before the end times the pre neuron's out-degree."""
    from neuroemu.timesteps import delay_steps

    total = 0
    for proj in network.projections:
        spikes = activity.spikes[proj.pre]
        sizes = {g.name: g.size for g in (*network.populations, *network.inputs)}
        steps = delay_steps(proj.delay_ms, activity.dt_ms)
        for delay in np.unique(steps):
            last = activity.n_steps - int(delay)
            per_pre = np.bincount(spikes.neuron[spikes.step < last], minlength=sizes[proj.pre])
            pre = proj.i if steps.ndim == 0 else proj.i[steps == delay]
            total += int(np.bincount(pre, minlength=sizes[proj.pre]) @ per_pre)
    return total


def load_spikes(network: Network, directory: Path, n_steps: int, dt_ms: float):
    """An Activity from the spike-monitor files of a finished Brian2 standalone run.

    For a run whose Python process died after the binary finished (the binary writes
    ``results/_dynamic_array_<population>_spikes_{i,t}_<hash>`` itself): the network is rebuilt
    from the same seed and the spikes are counted without simulating again.
    """
    from neuroemu.activity import Activity, Spikes

    spikes = {}
    for pop in network.populations:
        (i_file,) = directory.glob(f"_dynamic_array_{pop.name}_spikes_i_*")
        (t_file,) = directory.glob(f"_dynamic_array_{pop.name}_spikes_t_*")
        neuron = np.fromfile(i_file, dtype=np.int32)
        step = np.round(np.fromfile(t_file, dtype=np.float64) / (dt_ms * 1e-3)).astype(np.int32)
        order = np.argsort(step, kind="stable")
        spikes[pop.name] = Spikes(neuron[order], step[order])
    return Activity(dt_ms=dt_ms, n_steps=n_steps, spikes=spikes, seed=-1, device="cpp_standalone")


def limit_make_jobs() -> None:
    """One compiler per CPU instead of Brian2's unbounded ``make -j`` (see module docstring)."""
    import brian2

    brian2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]


def price(network: Network, activity, chip: ChipSpec, strategy: str) -> dict[str, float]:
    """Map onto ``chip``, count, price; print the outcome or the CapacityError. Returns the
    mapping time and, when counted, the counting time and the synaptic events counted."""
    start = time.perf_counter()
    try:
        mapping = map_network(network, chip, strategy=strategy)
    except CapacityError as error:
        print(f"[{chip.name}] does not fit ({time.perf_counter() - start:.1f} s): {error}")
        return {"map_s": time.perf_counter() - start}
    mapped = time.perf_counter() - start
    times = {"map_s": mapped}
    print(
        f"[{chip.name}] {mapping.n_chips} chips, {mapping.n_cores_used} cores used "
        f"(strategy {strategy}; mapping {mapped:.1f} s)"
    )
    need = COUNT_BYTES_PER_CELL * activity.n_steps * mapping.n_cores
    have = available_memory()
    if have is not None and need > 0.8 * have:
        print(
            f"[{chip.name}] counting skipped: count_events would need about {gib(need)} "
            f"({activity.n_steps} steps x {mapping.n_cores} cores x {COUNT_BYTES_PER_CELL:g} B), "
            f"{gib(have)} available"
        )
        return times
    start = time.perf_counter()
    counts = count_events(network, activity, mapping)
    counted = time.perf_counter() - start
    report = estimate_energy(counts, chip)
    priced = time.perf_counter() - start - counted
    totals = counts.totals()
    times["count_s"], times["synaptic_events"] = counted, float(totals["synaptic_event"])
    print(
        f"[{chip.name}] count {counted:.1f} s ({totals['synaptic_event'] / counted:.3g} synaptic "
        f"events per second of counting), energy {priced:.2f} s"
    )
    print(f"[{chip.name}] events: " + ", ".join(f"{k} {v:.3e}" for k, v in totals.items()))
    known = {k: v for k, v in report.dynamic_pj.items() if v is not None}
    static = report.static_pj or 0.0
    per_event = report.energy_per_synaptic_event_pj
    print(
        f"[{chip.name}] time on chip {report.time_s:.3f} s for {report.simulated_ms / 1e3:g} s "
        f"simulated; energy total "
        + ("None" if report.total_j is None else f"{report.total_j:.4g} J")
        + (f" ({per_event * 1e-6:.4g} uJ per synaptic event)" if per_event else "")
        + f"; dynamic priced {sum(known.values()) * 1e-12:.4g} J + static {static * 1e-12:.4g} J"
        + (f"; unpriced: {', '.join(report.unpriced)}" if report.unpriced else "")
    )
    for note in report.notes:
        print(f"[{chip.name}] note: {note}")
    for warning in mapping.warnings[:2]:
        print(f"[{chip.name}] mapping warning: {warning}")
    return times


def print_targets(n_synapses: int, scale: float, measured: dict[str, dict[str, float]]) -> None:
    """Issue 14 item 5: the counting rate and SpiNNaker's mapping time against their targets.

    Below full scale the mapping time is extrapolated linearly in synapses (the mapping's work is
    O(synapses)); the counting rate is printed as measured (it is a rate already), labelled with
    the scale it was measured at.
    """
    full = n_synapses >= 0.95 * FULL_SYNAPSES
    where = "at full scale" if full else f"at scale {scale:g} ({n_synapses:.3g} synapses)"
    for name, times in measured.items():
        if "count_s" in times:
            rate = times["synaptic_events"] / times["count_s"]
            verdict = "met" if rate >= TARGET_EVENTS_PER_S else "MISSED"
            print(
                f"target: counting >= {TARGET_EVENTS_PER_S:.0e} synaptic events/s: {name} "
                f"{rate:.3g} events/s {where}: {verdict}"
            )
    if "spinnaker" in measured:
        map_s = measured["spinnaker"]["map_s"]
        at_full = map_s * FULL_SYNAPSES / n_synapses
        verdict = "met" if at_full < TARGET_SPINNAKER_MAP_S else "MISSED"
        shown = (
            f"{map_s:.1f} s"
            if full
            else f"{map_s:.1f} s {where}, {at_full:.1f} s extrapolated linearly to 0.3e9"
        )
        print(
            f"target: mapping 0.3e9 synapses on spinnaker < {TARGET_SPINNAKER_MAP_S:g} s: "
            f"{shown}: {verdict}{'' if full else ' (extrapolated)'}"
        )


def synthetic_activity(network: Network, duration_ms: float, dt_ms: float, seed: int):
    """Poisson spikes at the full-scale model's mean rates (``FULL_MEAN_RATES_HZ``), without
    simulating: counting's cost depends on the spikes and the synapses, not on the dynamics."""
    from neuroemu.activity import Activity, Spikes

    rng = np.random.default_rng(seed)
    n_steps = round(duration_ms / dt_ms)
    spikes = {}
    for pop, rate_hz in zip(network.populations, microcircuit.FULL_MEAN_RATES_HZ, strict=True):
        n = rng.poisson(rate_hz * duration_ms * 1e-3 * pop.size)
        key = np.unique(rng.integers(0, n_steps, n) * pop.size + rng.integers(0, pop.size, n))
        spikes[pop.name] = Spikes(
            (key % pop.size).astype(np.int32), (key // pop.size).astype(np.int32)
        )
    return Activity(dt_ms=dt_ms, n_steps=n_steps, spikes=spikes, seed=seed, device="synthetic")


def run_simulation(network: Network, args: argparse.Namespace, n_syn: int):
    """simulate() on cpp_standalone, with the sampled peak memory of all processes."""
    sim_chip = chip_with_dt("spinnaker", 0.1)
    limit_make_jobs()
    sampler = MemorySampler()
    start = time.perf_counter()
    activity = simulate(network, sim_chip, args.duration_ms, seed=args.seed, device="cpp",
                        build_dir=args.build_dir)  # fmt: skip
    simulate_s = time.perf_counter() - start
    sampler.stop()
    own, children = sampler.peak_parts
    print(
        f"peak memory of all processes together during simulate (sampled every 0.2 s): "
        f"{gib(sampler.peak)} = this process {gib(own)} + children {gib(children)} "
        f"({sampler.peak / n_syn:.0f} B/synapse); separate peaks: this process "
        f"{gib(sampler.peak_own)}, children {gib(sampler.peak_children)}"
    )
    return activity, simulate_s, loop_time_s(args.build_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="neurons and in-degrees")
    parser.add_argument("--k-scale", type=float, default=None, help="in-degrees (default scale)")
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument("--background", default="noise", choices=["noise", "dc", "poisson", "none"])
    parser.add_argument("--delays", default="distributed", choices=["distributed", "homogeneous"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--strategy", default="fill", choices=["fill", "balanced", "min-traffic"])
    parser.add_argument("--chips", nargs="+", default=["loihi", "spinnaker"])
    parser.add_argument("--build-dir", type=Path, default=CACHE / "microcircuit")
    parser.add_argument("--keep-build", action="store_true",
                        help="keep the static arrays and results (GBs at full scale)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="run even if memory looks short")
    parser.add_argument("--spikes-from", type=Path, default=None,
                        help="count the spikes of a finished run's results directory instead of "
                        "simulating (same --scale/--seed/--delays/--background)")  # fmt: skip
    parser.add_argument("--synthetic-spikes", action="store_true",
                        help="count Poisson spikes at the published mean rates instead of "
                        "simulating (no Brian2, no compiler: for the counting and mapping "
                        "targets on a machine that cannot simulate the scale)")  # fmt: skip
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, available "
          f"memory {gib(available_memory() or 0)} (shared machine; timings are noisy)")  # fmt: skip
    start = time.perf_counter()
    network = microcircuit.build(scale=args.scale, k_scale=args.k_scale, seed=args.seed,
                                 background=args.background, delays=args.delays)  # fmt: skip
    build_s = time.perf_counter() - start
    n_syn = network.n_synapses
    print(
        f"network: scale {args.scale:g}, {network.n_neurons} neurons, {n_syn} synapses "
        f"({len(network.projections)} projections), background {args.background}, "
        f"{args.delays} delays; built in "
        f"{build_s:.1f} s; per-synapse arrays {gib(network_bytes(network))}"
    )
    per_synapse = BYTES_PER_SYNAPSE
    need = per_synapse * n_syn
    have = available_memory()
    print(f"estimated peak memory {gib(need)} ({per_synapse:g} B/synapse); available "
          f"{gib(have or 0)}")  # fmt: skip
    simulating = args.spikes_from is None and not args.synthetic_spikes
    if have is not None and need > 0.9 * have and not args.force and simulating:
        print("STOP: not enough memory for this scale on this machine now (--force to try)")
        return

    if args.synthetic_spikes:
        activity = synthetic_activity(network, args.duration_ms, 0.1, args.seed)
        loop_s, simulate_s = None, float("nan")
        print("synthetic Poisson spikes at the published mean rates (no simulation)")
    elif args.spikes_from is not None:
        activity = load_spikes(network, args.spikes_from, round(args.duration_ms / 0.1), 0.1)
        loop_s = loop_time_s(args.spikes_from)
        simulate_s = float("nan")
        print(f"spikes loaded from {args.spikes_from} (no simulation in this process)")
    else:
        activity, simulate_s, loop_s = run_simulation(network, args, n_syn)
    gc.collect()
    self_peak, child_peak = peak_memory()
    print(
        f"simulate (codegen + make + binary + load): {simulate_s:.1f} s; binary's loop "
        + ("n/a" if loop_s is None else f"{loop_s:.1f} s")
        + f"; {activity.n_spikes} spikes"
    )
    print(f"peak memory so far: this process {gib(self_peak)}, largest child {gib(child_peak)}")
    seconds = args.duration_ms / 1e3
    for pop in network.populations:
        rate = len(activity.spikes[pop.name]) / pop.size / seconds
        print(f"  rate {pop.name}: {rate:.2f} Hz")

    if not args.keep_build and simulating:
        for sub in ("static_arrays", "results"):
            shutil.rmtree(args.build_dir / sub, ignore_errors=True)

    measured = {}
    for name in args.chips:
        measured[name] = price(network, activity, chip_with_dt(name, 0.1), args.strategy)
        gc.collect()
    print_targets(n_syn, args.scale, measured)
    events = synaptic_events(network, activity)
    background = microcircuit.background_events_per_s(args.scale, args.k_scale) * seconds
    self_peak, child_peak = peak_memory()
    print(
        f"synaptic events: {events:.4e} ({events / seconds:.3e} per biological second, "
        f"{events / simulate_s:.3e} per wall second of simulate"
        + ("" if loop_s is None else f", {events / loop_s:.3e} per second of the binary's loop")
        + ")"
    )
    if args.background != "poisson":
        print(f"the published Poisson background would add {background:.3e} synaptic events "
              f"(and as many input events) in {seconds:g} s; not simulated as spikes")  # fmt: skip
    print(
        f"wall: build {build_s:.1f} s, simulate {simulate_s:.1f} s; peak memory: this process "
        f"{gib(self_peak)}, largest child {gib(child_peak)}"
    )


if __name__ == "__main__":
    main()
