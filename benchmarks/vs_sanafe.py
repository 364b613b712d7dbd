"""neuroemu against SANA-FE on the same networks: counts, energy by category, time, speed, memory.

SANA-FE (SLAM-Lab/SANA-FE, ``pip install sanafe``) simulates a chip from an architecture file;
neuroemu estimates it from a descriptor. Both get the same networks, built here once as a
neuroemu :class:`~neuroemu.network.network.Network`, placed by neuroemu's mapping, and translated
neuron by neuron, synapse by synapse and core by core into SANA-FE's Python API, with SANA-FE's
own Loihi architecture file (``sanafe/examples/loihi.yaml``, identical to ``arch/loihi.yaml`` of
commit 8951ab0) and ``chips/loihi-sanafe.yaml``, which holds the same constants.

The neurons are SANA-FE's ``leaky_integrate_fire`` (Loihi LIF) with ``leak_decay`` 1 (no leak,
which both tools express exactly), ``input_decay`` 0, a hard reset to 0 and ``potential >
threshold`` firing; in Brian2 the same model is ``dv/dt = bias / step`` (forward Euler, exact
for integer biases) with ``v_post += w``. Weights and biases are small integers, so the 1/64
quantisation of SANA-FE's potential never rounds. The two tools order a step alike: a spike at
step t reaches its targets' potential at step t+1 (Brian2: delivered after the threshold, before
the next state update); an input delivered to a neuron that fires in the same step is lost in
Brian2 (its reset follows delivery), so SANA-FE's neurons get ``refractory_delay`` 2, which
drops the input arriving in the step after a spike in the same way. The networks are driven by
biases (SANA-FE's input neurons sit on cores and send packets, which neuroemu's external inputs
do not). SANA-FE numbers its tiles column by column (x = tile // 4), neuroemu row by row
(x = tile % 8), so each neuroemu core goes to the SANA-FE tile at the same mesh position.

Cases: ``random`` (a random recurrent network: 512 neurons, 5 % connectivity, integer weights
-2..3, a tenth of the neurons biased) and ``conv`` (a convolutional network: a 16 x 16 image as
biases of an input layer, 4 feature maps of 3 x 3 kernels, a 2 x 2 pooling layer). Each is
placed 32 neurons per core (``max_neurons_per_core``), so it spreads over several tiles.

What is compared, per case: the spikes (every neuron's train), the neurons updated (SANA-FE's
``neurons_updated``: neuroemu's ``neuron_changed`` count), the packets and hops, the energy by
SANA-FE's categories (soma = neuron_update + spike_out, synapse = synaptic_event, network =
message + hop + input_event) and the time on chip (SANA-FE's ``timing_model='simple'``), to
1e-9 relative. Speed and memory: each tool runs in its own fresh subprocess (imports, network
build and simulation included: whole process against whole process), in ABBA order over
``--reps`` pairs; the medians and ranges of the wall time and of the peak resident memory are
printed with neuroemu's speed-up (SANA-FE time / neuroemu time) and memory ratio (neuroemu /
SANA-FE). Both workers build the network with the same neuroemu code; SANA-FE's peak is mostly
its chip object (``SpikingChip`` of the 128-core Loihi file: about 1.7 GB before any network is
loaded, sanafe 2.2.9). Before the timed pairs neuroemu runs each case once, untimed: its first
run compiles Brian2's code (seconds to minutes, cached for later runs, which start the compiled
binary without importing Brian2: :mod:`neuroemu.engine.compiled_run`), and the pairs time what a
user's next run costs; Python's bytecode of neuroemu is written first, as a first import writes
it (this machine sets PYTHONDONTWRITEBYTECODE, and every worker, SANA-FE's too, would compile
the sources again). ``--cold`` leaves both out. The speed-up is printed against issue 14's
target (at least 10x, and less memory); it grows with the network and the steps, since
neuroemu's fixed costs (imports, start-up) are a second or two and its per-event cost is
far lower than SANA-FE's, so the target is checked at ``--scale 8 --steps 2000 --device cpp``
as well as at the recorded size. neuroemu's worker starts as the ``neuroemu`` command does
(:func:`neuroemu.engine.brian2_import.use_lean_import`: Brian2 without pylab, its objects frozen
for the garbage collector), since it too runs one job and exits.

Run ``python benchmarks/vs_sanafe.py`` (``--cases``, ``--reps``, ``--steps``, ``--device``,
``--scale`` to grow the networks: ``512 * scale`` neurons for ``random``, the image side times
``sqrt(scale)`` for ``conv``, up to 1,024 neurons per core);
``--record`` writes SANA-FE's numbers to ``tests/data/sanafe_reference.json`` for
``tests/test_sanafe_parity.py``.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import importlib.metadata
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "sanafe_reference.json"
CHIP = "loihi-sanafe"
NEURONS_PER_CORE = 32
STEPS = 100
RTOL = 1e-9
CATEGORIES = ("soma", "synapse", "network")


def sanafe_if_model() -> Any:
    """SANA-FE's Loihi LIF with no leak, as a neuroemu model: ``v += bias``, ``v_post += w``."""
    from neuroemu.network.neuron_models import NeuronModel, SynapticTarget

    return NeuronModel(
        name="sanafe_if",
        description="SANA-FE leaky_integrate_fire with leak_decay 1 and input_decay 0",
        equations="dv/dt = bias * int(not_refractory) / step : 1\nbias : 1 (constant)",
        threshold="v > v_th",
        reset="v = 0",
        refractory="refractory",
        method="euler",
        parameters={"v_th": 0.0, "step_ms": 1.0, "refractory_ms": 2.0},
        targets={"exc": SynapticTarget("v_post += w", "1")},
        flops_per_update=2,
        state_units={"v": "1", "bias": "1"},
    )


@dataclass(frozen=True)
class Layer:
    """A population: its size, its threshold and each neuron's (integer) bias."""

    name: str
    size: int
    threshold: float
    bias: np.ndarray


def _network(name: str, layers: list[Layer], edges: list[tuple[str, str, Any, Any, Any]]) -> Any:
    from neuroemu.network.network import Network, Population, Projection

    model = sanafe_if_model()
    populations = [
        Population(
            layer.name,
            layer.size,
            model,
            parameters={"v_th": layer.threshold},
            initial={"bias": layer.bias.astype(float)},
        )
        for layer in layers
    ]
    projections = [
        Projection(pre, post, i, j, np.asarray(w, dtype=float), name=f"{pre}_to_{post}")
        for pre, post, i, j, w in edges
    ]
    return Network(name=name, populations=populations, projections=projections)


def build_random(scale: int = 1, seed: int = 7) -> Any:
    """A random recurrent network of ``512 * scale`` neurons, about 26 synapses in per neuron:
    integer weights -2..3, a tenth of the neurons biased 1..2."""
    n = 512 * scale
    p = 25.6 / n
    rng = np.random.default_rng(seed)
    pre, post = np.nonzero(rng.random((n, n)) < p)
    weights = rng.integers(-2, 4, size=len(pre))
    bias = np.where(rng.random(n) < 0.1, rng.integers(1, 3, size=n), 0)
    layer = Layer("rec", n, 6.0, bias)
    return _network("sanafe_random", [layer], [("rec", "rec", pre, post, weights)])


def build_conv(scale: int = 1, seed: int = 3, maps: int = 4) -> Any:
    """A convolutional network: image -> 4 maps of 3x3 kernels (same padding) -> 2x2 pooling;
    the image is 16 x 16 pixels, its side times the square root of ``scale`` (rounded down to
    even)."""
    side = 2 * int(8 * np.sqrt(scale))
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 3, size=(side, side))
    kernels = rng.integers(-1, 3, size=(maps, 3, 3))
    # every (map, y, x, dy, dx) in that order, kept where the pixel lies inside the image
    m, y, x, dy, dx = np.meshgrid(
        np.arange(maps), np.arange(side), np.arange(side), (-1, 0, 1), (-1, 0, 1), indexing="ij"
    )
    sy, sx = y + dy, x + dx
    inside = (sy >= 0) & (sy < side) & (sx >= 0) & (sx < side)
    pre = (sy * side + sx)[inside]
    post = ((m * side + y) * side + x)[inside]
    weights = kernels[m, dy + 1, dx + 1][inside]
    half = side // 2
    m, y, x = np.meshgrid(np.arange(maps), np.arange(side), np.arange(side), indexing="ij")
    pool_pre = ((m * side + y) * side + x).ravel()
    pool_post = ((m * half + y // 2) * half + x // 2).ravel()
    layers = [
        Layer("image", side * side, 4.0, image.ravel()),
        Layer("conv", maps * side * side, 5.0, np.zeros(maps * side * side, int)),
        Layer("pool", maps * half * half, 1.0, np.zeros(maps * half * half, int)),
    ]
    edges = [
        ("image", "conv", pre, post, weights),
        ("conv", "pool", pool_pre, pool_post, np.ones(len(pool_pre))),
    ]
    return _network("sanafe_conv", layers, edges)


CASES = {"random": build_random, "conv": build_conv}


def map_case(network: Any, scale: int = 1, chip: Any = None) -> Any:
    """neuroemu's placement of ``network`` on :data:`CHIP` (``chip``: that chip, if loaded)."""
    from neuroemu.mapping.mapping import map_network
    from neuroemu.spec.chip import load_chip

    per_core = min(NEURONS_PER_CORE * scale, 1024)  # cores of one chip hold a larger case
    chip = load_chip(CHIP) if chip is None else chip
    return map_network(network, chip, "fill", max_neurons_per_core=per_core)


# ---- SANA-FE side --------------------------------------------------------------------------


def run_sanafe(case: str, steps: int, scale: int = 1) -> dict[str, Any]:
    """Build ``case`` in SANA-FE with the mapping neuroemu chose and simulate ``steps`` steps."""
    import sanafe

    network = CASES[case](scale)
    mapping = map_case(network, scale)
    arch = sanafe.load_arch(str(Path(sanafe.__file__).parent / "examples" / "loihi.yaml"))
    net = sanafe.Network()
    groups = {}
    for pop in network.populations:
        threshold = float(pop.parameters["v_th"])
        attributes = {
            "threshold": threshold,
            "reset": 0.0,
            "reset_mode": "hard",
            "leak_decay": 1.0,
            "input_decay": 0.0,
            "refractory_delay": 2,
        }
        group = net.create_neuron_group(pop.name, pop.size, attributes, log_spikes=True)
        groups[pop.name] = group
        bias = np.asarray(pop.initial["bias"])
        for k in np.flatnonzero(bias):
            group.neurons[int(k)].set_attributes(model_attributes={"bias": float(bias[k])})
    for proj in network.projections:
        pairs = list(zip(proj.i.tolist(), proj.j.tolist(), strict=True))
        groups[proj.pre].connect_neurons_sparse(
            groups[proj.post], {"weight": proj.weight.tolist()}, pairs
        )
    per_tile = 4
    width = 8
    height = 4
    for pop in network.populations:
        offset = network.offsets[pop.name]
        for k, neuron in enumerate(groups[pop.name].neurons):
            core = int(mapping.core_of_neuron[offset + k])
            tile = core // per_tile
            x, y = tile % width, tile // width  # neuroemu's mesh position of the tile
            neuron.map_to_core(arch.tiles[x * height + y].cores[core % per_tile])
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    result = chip.sim(steps, timing_model="simple", spike_trace=True, perf_trace=True)
    trains: dict[str, list[tuple[int, int]]] = {pop.name: [] for pop in network.populations}
    for step, fired in enumerate(result["spike_trace"]):
        for address in fired:
            trains[address.group_name].append((step, address.neuron_offset))
    spikes = {name: spike_array(pairs) for name, pairs in trains.items()}
    perf = result["perf_trace"]
    return {
        "tool": "sanafe",
        "neurons_updated": int(result["neurons_updated"]),
        "neurons_fired": int(result["neurons_fired"]),
        "synaptic_events": int(result["spikes"]),
        "packets": int(result["packets_sent"]),
        "hops": int(sum(perf["hops"])),
        "energy_j": {k: float(result["energy"][k]) for k in (*CATEGORIES, "total")},
        "time_s": float(result["sim_time"]),
        "spikes": spikes,
    }


# ---- neuroemu side -------------------------------------------------------------------------


def run_neuroemu(case: str, steps: int, device: str = "runtime", scale: int = 1) -> dict[str, Any]:
    """Simulate, count and price ``case`` on ``chips/loihi-sanafe.yaml``."""
    from neuroemu.accounting.counting import count_events
    from neuroemu.accounting.pricing import estimate_energy
    from neuroemu.engine.runner import simulate
    from neuroemu.spec.chip import load_chip

    network = CASES[case](scale)
    chip = load_chip(CHIP)
    mapping = map_case(network, scale, chip)  # the chip read once
    dt_ms = chip.timing.dt_ms.require()
    activity = simulate(
        network,
        chip,
        steps * dt_ms,
        device=device,
        quantise=False,
        record_changes=chip.needs_changed_neurons(),
    )
    counts = count_events(network, activity, mapping)
    report = estimate_energy(counts, chip)
    return summarise_neuroemu(network, activity, counts, report)


def summarise_neuroemu(network: Any, activity: Any, counts: Any, report: Any) -> dict[str, Any]:
    """The numbers SANA-FE reports, from neuroemu's activity, counts and energy report."""
    dyn = report.dynamic_pj
    totals = counts.totals()
    energy = {
        "soma": (dyn["neuron_update"] + dyn["spike_out"]) * 1e-12,
        "synapse": dyn["synaptic_event"] * 1e-12,
        "network": (dyn["message"] + dyn["hop"] + dyn["input_event"]) * 1e-12,
    }
    energy["total"] = sum(energy.values())
    spikes = {
        name: spike_array(np.stack([activity.spikes[name].step, activity.spikes[name].neuron], 1))
        for name in network.population_names
    }
    return {
        "tool": "neuroemu",
        "neurons_updated": int(counts.detail_per_core["neuron_changed"].sum()),
        "neurons_fired": int(totals["spike_out"]),
        "synaptic_events": int(totals["synaptic_event"]),
        "packets": int(totals["message"]),
        "hops": int(totals["hop"]),
        "energy_j": energy,
        "time_s": float(report.time_s),
        "spikes": spikes,
    }


# ---- comparison ----------------------------------------------------------------------------


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """``(quantity, neuroemu, SANA-FE, relative difference)`` for every compared quantity."""
    rows = []
    for key in ("neurons_fired", "neurons_updated", "synaptic_events", "packets", "hops"):
        rows.append((key, float(ours[key]), float(theirs[key])))
    for key in (*CATEGORIES, "total"):
        rows.append((f"energy_{key}_j", ours["energy_j"][key], theirs["energy_j"][key]))
    rows.append(("time_s", ours["time_s"], theirs["time_s"]))
    return [(name, a, b, abs(a - b) / abs(b) if b else abs(a)) for name, a, b in rows]


def spike_array(pairs: Any) -> np.ndarray:
    """``(n, 2)`` int64 ``(step, neuron)`` pairs sorted by step, then neuron: one canonical form
    of a spike train for both tools, compared and hashed as an array (a list of pairs per spike
    took most of neuroemu's process time at scale 8, in both workers' JSON and the comparison)."""
    array = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    step, neuron = array[:, 0], array[:, 1]
    later = (step[1:] > step[:-1]) | ((step[1:] == step[:-1]) & (neuron[1:] > neuron[:-1]))
    if later.all():  # both tools record in step order, neurons ascending: nothing to sort
        return array
    return array[np.lexsort((neuron, step))]


def spike_digest(spikes: dict[str, Any]) -> str:
    """SHA-256 of every population's sorted ``(step, neuron)`` pairs: equal digests, equal
    spikes (the reference file keeps this instead of the trains). The text hashed is the JSON of
    the sorted pairs, as when the trains were lists (the recorded digests stay valid)."""
    text = json.dumps(
        {name: spike_array(trains).tolist() for name, trains in sorted(spikes.items())}
    )
    return hashlib.sha256(text.encode()).hexdigest()


def spike_difference(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
    """None when every population's spike train is the same in both tools, else what differs."""
    for name, trains in theirs["spikes"].items():
        if np.array_equal(spike_array(ours["spikes"][name]), spike_array(trains)):
            continue
        a = {tuple(s) for s in spike_array(ours["spikes"][name]).tolist()}
        b = {tuple(s) for s in spike_array(trains).tolist()}
        if a != b:
            first = min(a ^ b)
            return (
                f"{name}: {len(a)} spikes in neuroemu, {len(b)} in SANA-FE; first difference at "
                f"step {first[0]}, neuron {first[1]}"
            )
    return None


# Why a quantity can differ: what it is computed from, in both tools.
_WHY = {
    "neurons_fired": "the neuron dynamics disagree (model, reset, refractoriness, step order)",
    "neurons_updated": "which neurons changed: non-zero potential, input, bias or spike",
    "synaptic_events": "spikes x synapses: follows the spikes",
    "packets": "one per destination core, own core included (messages_to_own_core)",
    "hops": "tile positions on the mesh (SANA-FE numbers tiles column by column)",
    "energy_soma_j": "access x neurons x steps + update x neurons updated + spike_out x spikes",
    "energy_synapse_j": "energy_process_spike (dense unit) x synaptic events",
    "energy_network_j": "message_out x packets + hops by direction + message_in x packets",
    "energy_total_j": "the sum of the three categories (no static power in SANA-FE)",
    "time_s": "per step max(busiest send, busiest receive) + barrier by tiles in use",
}


# What the reference file leaves out: the trains (their digest is kept) and this machine's speed.
_NOT_KEPT = ("spikes", "wall_s", "process_s", "peak_rss_mb")


def _worker(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    if args.worker == "sanafe":
        out = run_sanafe(args.case, args.steps, args.scale)
    else:
        # A process that runs one job and exits, as the neuroemu command is: it starts and ends
        # the way the command does (neuroemu.cli.startup: Brian2 imported without pylab, the
        # collector paused while modules import and their objects then frozen, no freeing of
        # every object at exit)
        from neuroemu.cli import startup

        startup.begin()
        with startup.command_import():
            _import_neuroemu()
        out = run_neuroemu(args.case, args.steps, args.device, args.scale)
    np.savez(args.spikes, **out.pop("spikes"))  # binary, for the parent to compare
    out["wall_s"] = time.perf_counter() - started
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    if args.worker == "neuroemu":
        from neuroemu.cli import startup

        startup.exit_now(0)


def _import_neuroemu() -> None:
    """The modules :func:`run_neuroemu` uses, as the command imports its own module's."""
    import neuroemu.accounting.counting
    import neuroemu.accounting.pricing
    import neuroemu.engine.runner
    import neuroemu.mapping.mapping
    import neuroemu.spec.chip  # noqa: F401


def _spawn(tool: str, case: str, steps: int, device: str, scale: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vs_sanafe_") as scratch:
        spikes = Path(scratch) / "spikes.npz"
        command = [sys.executable, __file__, "--worker", tool, "--case", case]
        command += ["--steps", str(steps), "--device", device, "--scale", str(scale)]
        command += ["--spikes", str(spikes)]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{tool} worker failed on {case}:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        with np.load(spikes) as saved:
            result["spikes"] = {name: saved[name] for name in saved.files}
    result["process_s"] = wall
    return result


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3g} [{min(values):.3g}-{max(values):.3g}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--reps", type=int, default=2, help="ABBA pairs per case")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument(
        "--scale", type=int, default=1, help="network size factor (1: the recorded cases)"
    )
    parser.add_argument("--device", default="runtime")
    parser.add_argument(
        "--cold", action="store_true", help="no untimed neuroemu warm-up (first run compiles)"
    )
    parser.add_argument("--record", action="store_true", help=f"write {REFERENCE.name}")
    parser.add_argument("--worker", choices=("sanafe", "neuroemu"), help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--spikes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    if args.record and args.scale != 1:
        raise SystemExit("--record keeps the cases at scale 1 (the test rebuilds those)")
    failed = False
    reference: dict[str, Any] = {"steps": args.steps, "chip": CHIP, "cases": {}}
    try:
        reference["sanafe_version"] = importlib.metadata.version("sanafe")
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit("SANA-FE is not installed: pip install sanafe") from None
    if not args.cold:
        # Python's bytecode of neuroemu, as a first import writes it (pip compiles it at
        # install): where PYTHONDONTWRITEBYTECODE is set, every worker would compile the
        # sources again, about 0.2 s each
        compileall.compile_dir(ROOT / "neuroemu", quiet=1)
    for case in args.cases.split(","):
        runs: dict[str, list[dict[str, Any]]] = {"sanafe": [], "neuroemu": []}
        if not args.cold:  # compile once, untimed, as a user's second run finds it
            _spawn("neuroemu", case, args.steps, args.device, args.scale)
        for rep in range(max(args.reps, 1)):
            order = ("sanafe", "neuroemu") if rep % 2 == 0 else ("neuroemu", "sanafe")
            for tool in order:
                runs[tool].append(_spawn(tool, case, args.steps, args.device, args.scale))
        ours, theirs = runs["neuroemu"][0], runs["sanafe"][0]
        print(f"\n== {case} (scale {args.scale}): {args.steps} steps ==")
        mismatch = spike_difference(ours, theirs)
        print(
            "spikes: identical"
            if mismatch is None
            else f"spikes DIFFER: {mismatch} (every count below follows the spikes)"
        )
        failed |= mismatch is not None
        print(f"{'quantity':<20} {'neuroemu':>14} {'SANA-FE':>14} {'rel. diff':>10}")
        for name, a, b, rel in compare(ours, theirs):
            flag = "" if rel <= RTOL else f"  DIFFERS: {_WHY[name]}"
            print(f"{name:<20} {a:>14.6g} {b:>14.6g} {rel:>10.1e}{flag}")
            failed |= rel > RTOL
        wall = {tool: [r["process_s"] for r in rs] for tool, rs in runs.items()}
        rss = {tool: [r["peak_rss_mb"] for r in rs] for tool, rs in runs.items()}
        speedup = [a / b for a, b in zip(wall["sanafe"], wall["neuroemu"], strict=True)]
        memory = [a / b for a, b in zip(rss["neuroemu"], rss["sanafe"], strict=True)]
        for label, values in (("process wall s", wall), ("peak RSS MB", rss)):
            ours_s, theirs_s = _spread(values["neuroemu"]), _spread(values["sanafe"])
            print(f"{label}: neuroemu {ours_s}, SANA-FE {theirs_s}")
        fast, small = statistics.median(speedup) >= 10, statistics.median(memory) < 1
        print(
            f"neuroemu speed-up (SANA-FE / neuroemu wall): {_spread(speedup)}; target >= 10: "
            f"{'met' if fast else 'MISSED'}"
        )
        print(
            f"neuroemu memory ratio (neuroemu / SANA-FE peak RSS): {_spread(memory)}; target "
            f"< 1: {'met' if small else 'MISSED'}"
        )
        kept = {k: v for k, v in theirs.items() if k not in _NOT_KEPT}
        reference["cases"][case] = {**kept, "spike_digest": spike_digest(theirs["spikes"])}
    if args.record:
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        REFERENCE.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")
        print(f"\nwrote {REFERENCE.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
