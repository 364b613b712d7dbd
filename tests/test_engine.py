"""The engine against Brian2's own per-synapse counters, and its determinism across devices."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from conftest import TINY_CHIP_YAML, manual_mapping

from neuroemu.accounting import count_events, estimate_energy
from neuroemu.engine.run_values import quantise_weights
from neuroemu.engine.runner import simulate
from neuroemu.errors import SimulationError
from neuroemu.events import EVENT_KINDS
from neuroemu.network.connectivity import fixed_probability
from neuroemu.network.network import STDP, Network, PoissonInput, Population, Projection
from neuroemu.network.neuron_models import NeuronModel, SynapticTarget
from neuroemu.spec.chip import parse_chip

pytestmark = pytest.mark.brian2


def active_network(seed: int = 0) -> Network:
    """Poisson-driven LIF populations with heterogeneous delays, several projections and STDP."""
    rng = np.random.default_rng(seed)
    exc = Population(
        "exc",
        24,
        "lif",
        parameters={"v_bias_mV": 12.0},
        initial={"v_mV": -65 + 15 * rng.random(24)},
    )
    inh = Population("inh", 8, "cuba_lif")
    drive = PoissonInput("drive", 6, rate_hz=80.0)
    projections = []
    specs = [
        ("exc", "exc", 24, 24, "exc", 1.0, rng.integers(0, 5, 10**3) * 1.0, STDP(w_max=2.0)),
        ("exc", "inh", 24, 8, "exc", 4.0, 2.0, None),
        ("inh", "exc", 8, 24, "inh", 2.0, rng.uniform(0, 3, 10**3), None),
        ("drive", "exc", 6, 24, "exc", 6.0, 0.0, None),
        ("drive", "inh", 6, 8, "exc", 8.0, 1.0, None),
    ]
    for pre, post, n_pre, n_post, target, w, delay, rule in specs:
        i, j = fixed_probability(n_pre, n_post, 0.4, rng)
        d = delay[: len(i)] if np.ndim(delay) else delay
        projections.append(
            Projection(
                pre, post, i, j, w * rng.random(len(i)), delay_ms=d, target=target, plasticity=rule
            )
        )
    return Network((exc, inh), tuple(projections), (drive,), name="active")


@pytest.fixture(scope="module")
def chip():
    return parse_chip(TINY_CHIP_YAML, "tiny.yaml")


def test_counts_equal_brian2_per_synapse_counters(chip):
    network = active_network(0)
    mapping = manual_mapping(network, chip, np.arange(network.n_neurons) % 4)
    activity = simulate(network, chip, 120.0, seed=5, device="numpy", count_synapse_events=True)
    assert activity.n_spikes > 100
    counts = count_events(network, activity, mapping)
    core = mapping.core_of_neuron
    delivered = np.zeros(mapping.n_cores, dtype=np.int64)
    learning = np.zeros(mapping.n_cores, dtype=np.int64)
    for proj in network.projections:
        counters = activity.synapse_counters[proj.name]
        post_core = core[network.offsets[proj.post] + counters["j"]]
        delivered += np.bincount(
            post_core, weights=counters["n_delivered"], minlength=mapping.n_cores
        ).astype(np.int64)
        if proj.plasticity is not None:
            both = counters["n_delivered"] + counters["n_post_events"]
            learning += np.bincount(post_core, weights=both, minlength=mapping.n_cores).astype(
                np.int64
            )
    np.testing.assert_array_equal(counts.per_core["synaptic_event"], delivered)
    np.testing.assert_array_equal(counts.per_core["learning_update"], learning)
    assert learning.sum() > 0
    # some spikes were still in flight at the end: count x out-degree would overcount
    naive = sum(
        int(np.bincount(p.i, minlength=64)[activity.spikes[p.pre].neuron].sum())
        for p in network.projections
    )
    assert naive > delivered.sum()


def test_same_seed_same_spikes_counts_and_energy(chip):
    network = active_network(1)
    mapping = manual_mapping(network, chip, np.arange(network.n_neurons) // 8)
    runs = [simulate(network, chip, 80.0, seed=s, device="numpy") for s in (7, 7, 8)]
    for name in runs[0].spikes:
        assert runs[0].spikes[name].neuron.tobytes() == runs[1].spikes[name].neuron.tobytes()
        assert runs[0].spikes[name].step.tobytes() == runs[1].spikes[name].step.tobytes()
    reports = [estimate_energy(count_events(network, a, mapping), chip) for a in runs[:2]]
    assert reports[0].total_pj == reports[1].total_pj
    assert runs[2].spikes["drive"].step.tobytes() != runs[0].spikes["drive"].step.tobytes()


def small_network(seed: int) -> Network:
    """Few Brian2 objects (each costs a compile on cython and cpp): input, delays, recurrence.

    ``p`` and ``q`` share one NeuronGroup and their two projections one Synapses (see
    neuroemu.engine.group_plan), so the standalone run also checks merged objects.
    """
    rng = np.random.default_rng(seed)
    pops = (
        Population("p", 20, "lif", parameters={"v_bias_mV": 10.0}),
        Population("q", 10, "lif", parameters={"v_bias_mV": 10.0}),
    )
    drive = PoissonInput("drive", 5, rate_hz=100.0)
    i, j = fixed_probability(20, 10, 0.3, rng)
    k, m = fixed_probability(10, 20, 0.6, rng)
    a, b = fixed_probability(5, 20, 0.8, rng)
    projections = (
        Projection("p", "q", i, j, rng.random(len(i)), delay_ms=rng.uniform(0, 4, len(i))),
        Projection("q", "p", k, m, rng.random(len(k)), delay_ms=rng.uniform(0, 4, len(k))),
        Projection("drive", "p", a, b, 8.0),
    )
    return Network(pops, projections, (drive,), name="small")


def shuffled(network: Network, seed: int) -> Network:
    """``network`` with each projection's synapses listed in a random order: not sorted by
    source, as a network read from a file may be (Brian2 creates them source by source)."""
    rng = np.random.default_rng(seed)
    projections = []
    for proj in network.projections:
        order = rng.permutation(proj.n_synapses)
        delay = proj.delay_ms[order] if np.ndim(proj.delay_ms) else proj.delay_ms
        projections.append(
            Projection(proj.pre, proj.post, proj.i[order], proj.j[order], proj.weight[order],
                       delay_ms=delay, target=proj.target, name=proj.name)
        )  # fmt: skip
    pops = tuple(
        Population(pop.name, pop.size, pop.model, parameters={"v_bias_mV": 10.0},
                   initial={"v_mV": -70 + 10 * rng.random(pop.size)})
        for pop in network.populations
    )  # fmt: skip
    return Network(pops, tuple(projections), network.inputs, name=network.name)


def files_and_times(directory) -> dict[str, int]:
    return {str(path): path.stat().st_mtime_ns for path in directory.rglob("*") if path.is_file()}


@pytest.fixture
def generated(monkeypatch):
    """Every code object Brian2's cpp_standalone device generates from now on (a list)."""
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    calls: list[object] = []
    original = CPPStandaloneDevice.code_object

    def code_object(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CPPStandaloneDevice, "code_object", code_object)
    return calls


def test_cpp_standalone_compiles_once_and_agrees_with_cython(chip, tmp_path, generated):
    """cpp_standalone gives cython's spikes and per-synapse counters, bit for bit; a run with
    another seed and another draw of the network (other synapse counts, weights, delays and
    initial values, synapses not sorted by source) generates no code and compiles nothing."""
    first, second = shuffled(small_network(2), 0), shuffled(small_network(5), 1)
    assert first.n_synapses != second.n_synapses
    assert any(np.any(np.diff(p.i) < 0) for p in first.projections)
    runs = {}
    build = tmp_path / "b"
    for key, network, seed in (("first", first, 3), ("second", second, 4)):
        generated.clear()
        before = files_and_times(build) if build.exists() else {}
        runs[key, "cpp"] = simulate(network, chip, 60.0, seed=seed, device="cpp", build_dir=build,
                                    count_synapse_events=True)  # fmt: skip
        if key == "second":  # run again as built: no code generated, no file rewritten
            assert generated == []
            changed = {k for k, t in files_and_times(build).items() if before.get(k) != t}
            assert changed
            assert all("neuroemu_inputs" in k or "results" in k or ".lock" in k for k in changed)
        else:
            assert generated
    # a binary that is not the one the layout describes (another process rebuilt it; here the
    # layout's digest is changed), or a damaged layout, is not run as kept: the code is
    # generated again, and make finds every object file up to date
    layout = build / "neuroemu_layout.json"
    text = layout.read_text()
    digest = json.loads(text)["binary"]
    for damaged in (text.replace(digest, "0" * len(digest)), text[: len(text) // 2]):
        layout.write_text(damaged)
        generated.clear()
        objects = {k: t for k, t in files_and_times(build).items() if k.endswith((".o", "main"))}
        again = simulate(second, chip, 60.0, seed=4, device="cpp", build_dir=build,
                         count_synapse_events=True)  # fmt: skip
        assert generated
        assert {k: t for k, t in files_and_times(build).items() if k in objects} == objects
        assert json.loads(layout.read_text())["binary"] == digest
    for key, network, seed in (("first", first, 3), ("second", second, 4)):
        runs[key, "cython"] = simulate(network, chip, 60.0, seed=seed, device="cython",
                                       count_synapse_events=True)  # fmt: skip
    mapping = manual_mapping(first, chip, np.arange(first.n_neurons) % 4)
    for key, network in (("first", first), ("second", second)):
        cython, cpp = runs[key, "cython"], runs[key, "cpp"]
        assert cython.spikes["q"].neuron.size > 10 and cython.spikes["p"].neuron.size > 10
        for other in (cpp, again) if key == "second" else (cpp,):
            assert other.device == "cpp_standalone"
            for name in cython.spikes:
                np.testing.assert_array_equal(cython.spikes[name].neuron, other.spikes[name].neuron)
                np.testing.assert_array_equal(cython.spikes[name].step, other.spikes[name].step)
            for proj in network.projections:
                for field, values in cython.synapse_counters[proj.name].items():
                    np.testing.assert_array_equal(values, other.synapse_counters[proj.name][field])
                np.testing.assert_array_equal(other.synapse_counters[proj.name]["i"], proj.i)
        a, b = count_events(network, cython, mapping), count_events(network, cpp, mapping)
        for kind in EVENT_KINDS:
            np.testing.assert_array_equal(a.per_core[kind], b.per_core[kind])
    assert (
        runs["first", "cpp"].spikes["p"].step.tobytes()
        != runs["second", "cpp"].spikes["p"].step.tobytes()
    )


def mergeable_network(seed: int) -> Network:
    """Two populations of one model, projections that share Synapses objects, one that learns."""
    rng = np.random.default_rng(seed)
    pops = tuple(
        Population(name, size, "lif", initial={"v_mV": -65 + 15 * rng.random(size)})
        for name, size in (("a", 16), ("b", 12))
    )
    drive = PoissonInput("drive", 6, rate_hz=150.0)
    specs = [
        ("a", "b", "exc", 3.0, rng.uniform(0, 3, 400), None),
        ("b", "a", "exc", 2.0, rng.uniform(0, 3, 400), None),
        ("a", "a", "exc", 2.0, 1.0, None),
        ("b", "b", "exc", 2.0, 1.0, None),
        ("b", "a", "inh", 1.0, 1.0, None),
        ("a", "a", "exc", 1.0, 0.0, STDP(w_max=2.0)),
        ("drive", "a", "exc", 9.0, 0.0, None),
        ("drive", "b", "exc", 9.0, 0.0, None),
    ]
    projections = []
    for k, (pre, post, target, w, delay, rule) in enumerate(specs):
        n_pre = 6 if pre == "drive" else dict(a=16, b=12)[pre]
        i, j = fixed_probability(n_pre, dict(a=16, b=12)[post], 0.5, rng)
        d = delay[: len(i)] if np.ndim(delay) else delay
        projections.append(
            Projection(pre, post, i, j, w * rng.random(len(i)), delay_ms=d, target=target,
                       plasticity=rule, name=f"proj{k}")
        )  # fmt: skip
    return Network(pops, tuple(projections), (drive,), name="mergeable")


def test_merged_objects_give_the_same_run_as_one_object_each(chip):
    network = mergeable_network(4)
    mapping = manual_mapping(network, chip, np.arange(network.n_neurons) % 3)
    kwargs = dict(seed=2, device="numpy", count_synapse_events=True)
    merged = simulate(network, chip, 100.0, **kwargs)
    separate = simulate(network, chip, 100.0, merge_objects=False, **kwargs)
    assert list(merged.spikes) == ["a", "b", "drive"]
    assert merged.spikes["a"].neuron.size > 50 and merged.spikes["b"].neuron.size > 50
    for name in merged.spikes:
        assert merged.spikes[name].neuron.tobytes() == separate.spikes[name].neuron.tobytes()
        assert merged.spikes[name].step.tobytes() == separate.spikes[name].step.tobytes()
    for proj in network.projections:
        for run in (merged, separate):
            counters = run.synapse_counters[proj.name]
            np.testing.assert_array_equal(counters["i"], proj.i)
            np.testing.assert_array_equal(counters["j"], proj.j)
        for key in ("n_delivered", "n_post_events"):
            np.testing.assert_array_equal(
                merged.synapse_counters[proj.name][key], separate.synapse_counters[proj.name][key]
            )
    assert merged.final_weights["proj5"].tobytes() == separate.final_weights["proj5"].tobytes()
    assert set(merged.quantisation) == {p.name for p in network.projections}
    counts = count_events(network, merged, mapping)
    delivered = sum(int(c["n_delivered"].sum()) for c in merged.synapse_counters.values())
    assert counts.totals()["synaptic_event"] == delivered


def test_weights_are_rounded_to_the_chip_precision(chip):
    weights = np.array([0.0, 0.1, 0.5, 1.27, 0.004])
    rounded, report = quantise_weights(weights, bits=8, signed=True, name="p")
    levels = rounded / report.scale
    np.testing.assert_allclose(levels, np.round(levels))
    assert report.scale == pytest.approx(1.27 / 127)
    assert report.max_abs_error <= report.scale / 2 + 1e-12
    assert report.n_zeroed == 1  # 0.004 < half a level
    rounded, report = quantise_weights(weights, bits=2, signed=False, name="p")
    assert set(np.round(rounded / report.scale).astype(int).tolist()) <= {0, 1, 2, 3}


def test_state_recording_and_plastic_weights(chip):
    network = active_network(3)
    activity = simulate(
        network,
        chip,
        20.0,
        seed=1,
        device="numpy",
        record_state={"exc": ["v"]},
        state_every_ms=2.0,
    )
    v = activity.state["exc"]["v_mV"]
    assert v.shape == (10, 24)
    assert np.all((v > -90) & (v < 0))
    assert activity.final_weights["exc_to_exc"].shape == (network.projections[0].n_synapses,)


def test_engine_errors_are_clear(chip):
    network = active_network(0)
    with pytest.raises(SimulationError, match="unknown device 'gpu'"):
        simulate(network, chip, 10.0, device="gpu")
    with pytest.raises(SimulationError, match="cannot record 'x' of 'exc'"):
        simulate(network, chip, 10.0, device="numpy", record_state={"exc": ["x"]})
    with pytest.raises(SimulationError, match="duration_ms must be > 0"):
        simulate(network, chip, 0.0)


def test_the_earlier_form_with_a_mapping_still_runs_with_a_deprecation(chip):
    network = active_network(0)
    mapping = manual_mapping(network, chip, np.arange(network.n_neurons) % 4)
    now = simulate(network, chip, 20.0, seed=2, device="numpy")
    with pytest.warns(DeprecationWarning, match=r"call simulate\(network, chip, duration_ms"):
        before = simulate(network, mapping, chip, 20.0, seed=2, device="numpy")
    assert np.array_equal(now.spikes["exc"].neuron, before.spikes["exc"].neuron)
    assert np.array_equal(now.spikes["exc"].step, before.spikes["exc"].step)
    with pytest.raises(TypeError, match=r"takes \(network, chip, duration_ms\)"):
        simulate(network, mapping, chip, 20.0, 3)


# ---- which neurons changed state (for chips that charge an update only then) ----------------


def integrate_and_fire() -> NeuronModel:
    """SANA-FE's Loihi LIF without leak: ``v += bias`` unless refractory, ``v_post += w``."""
    return NeuronModel(
        name="if_bias",
        equations="dv/dt = bias * int(not_refractory) / step : 1\nbias : 1 (constant)",
        threshold="v > v_th",
        reset="v = 0",
        refractory="refractory",
        method="euler",
        parameters={"v_th": 4.0, "step_ms": 1.0, "refractory_ms": 2.0},
        targets={"exc": SynapticTarget("v_post += w", "1")},
        flops_per_update=2,
        state_units={"v": "1", "bias": "1"},
    )


def numpy_reference(bias, weights, connected, threshold, n_steps):
    """Spikes and changed neurons by the definition, step by step: a neuron changed when its
    potential is non-zero, it received input (through any synapse, even of weight 0, and even
    input its refractory step drops), it has a bias, or it fired; a spike's input arrives in the
    next step; a neuron that fired skips its next step (bias and input)."""
    n = len(bias)
    v = np.zeros(n)
    pending = np.zeros(n)
    got = np.zeros(n, bool)
    refractory = np.zeros(n, bool)
    fired_at, changed_at = set(), set()
    for t in range(n_steps):
        changed = (v != 0) | got | (bias != 0)
        v = np.where(refractory, v, v + bias + pending)
        fired = ~refractory & (v > threshold)
        v[fired] = 0
        refractory = fired
        changed |= fired
        fired_at |= {(int(k), t) for k in np.flatnonzero(fired)}
        changed_at |= {(int(k), t) for k in np.flatnonzero(changed)}
        pending = weights.T @ fired
        got = connected.T @ fired > 0
    return fired_at, changed_at


@pytest.mark.parametrize("device", ["numpy", "cpp"])
def test_changed_neurons_equal_a_numpy_reference(device, tmp_path):
    """The engine's record of changed neurons (with the spikes) equals a NumPy loop over steps
    on a small recurrent network with inhibition, zero weights, biases and refractoriness, on
    the runtime and the cpp_standalone target, in step order."""
    rng = np.random.default_rng(5)
    n, n_steps = 40, 60
    pre, post = np.nonzero(rng.random((n, n)) < 0.15)
    weights = np.zeros((n, n))
    weights[pre, post] = rng.integers(-2, 4, len(pre))
    connected = np.zeros((n, n))
    connected[pre, post] = 1
    bias = np.where(rng.random(n) < 0.2, rng.integers(1, 3, n), 0).astype(float)
    pop = Population("p", n, integrate_and_fire(), initial={"bias": bias})
    proj = Projection("p", "p", pre, post, weights[pre, post])
    network = Network((pop,), (proj,), name="changes")
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    activity = simulate(
        network,
        chip,
        float(n_steps),
        device=device,
        quantise=False,
        record_changes=True,
        build_dir=tmp_path / "build",
    )
    fired, changed = numpy_reference(bias, weights, connected, 4.0, n_steps)
    spikes = activity.spikes["p"]
    record = activity.changed["p"]
    assert set(zip(spikes.neuron.tolist(), spikes.step.tolist(), strict=True)) == fired
    assert len(fired) > 20 and len(changed) > len(fired) and len(changed) < n * n_steps
    engine = set(zip(record.neuron.tolist(), record.step.tolist(), strict=True)) | fired
    assert engine == changed
    key = record.step.astype(np.int64) * n + record.neuron
    assert np.all(np.diff(key) > 0)  # step by step, neurons ascending, each once


def test_flagged_cells_in_step_order_block_by_block(monkeypatch):
    """The pairs read from a (step, neuron) flag record, a slice of a merged group's columns,
    are np.nonzero's, whatever the block size; ChangedCells lists them once, on first use, and
    counts without listing them."""
    from neuroemu import activity as activity_module
    from neuroemu.activity import ChangedCells, flagged_cells

    flags = np.random.default_rng(2).random((50, 30)) < 0.4
    part = flags[:, 7:19]
    steps, neurons = np.nonzero(part)
    for block_cells in (1, 25, 100, 2**20):
        monkeypatch.setattr(activity_module, "_FLAG_BLOCK_CELLS", block_cells)
        pairs = flagged_cells(part)
        assert pairs.neuron.dtype == np.int32 and pairs.step.dtype == np.int32
        assert np.array_equal(pairs.neuron, neurons) and np.array_equal(pairs.step, steps)
    empty = flagged_cells(np.zeros((4, 0), dtype=bool))
    assert len(empty.neuron) == 0 and len(empty.step) == 0
    cells = ChangedCells(part)
    assert len(cells) == len(neurons) and "pairs" not in vars(cells)  # counted, not listed
    assert cells.counts(12).tolist() == np.bincount(neurons, minlength=12).tolist()
    assert cells.counts(15).tolist() == cells.pairs.counts(15).tolist()  # padded as Spikes
    assert np.array_equal(cells.neuron, neurons) and np.array_equal(cells.step, steps)
    assert cells.pairs is cells.pairs  # listed once


def test_brian2_templates_are_compiled_once_on_disk(tmp_path, monkeypatch):
    """Brian2's Jinja2 environments get the on-disk bytecode cache; a store that cannot be
    created leaves them as they are."""
    from neuroemu.engine import template_cache
    from neuroemu.engine.brian2_import import import_brian2

    b2 = import_brian2()
    env = b2.devices.cpp_standalone.codeobject.CPPStandaloneCodeObject.templater.env
    assert env.bytecode_cache is not None
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert template_cache._cache(blocked / "templates") is None
    cache = template_cache._cache(tmp_path / "templates")
    assert cache is not None
    source = env.loader.get_source(env, "main.cpp")[0]
    bucket = cache.get_bucket(env, "main.cpp", None, source)  # an empty one: nothing compiled
    cache.dump_bytecode(bucket)  # Jinja2's own cache raises here; the run must go on


def test_a_kept_binary_whose_static_arrays_were_removed_is_built_again(chip, tmp_path, generated):
    """The change record's monitor indices are arrays Brian2 writes at build time only: a run
    after they were cleaned up builds again (instead of a binary failing to start), and gives
    the same spikes and changed cells."""
    import shutil

    network = small_network(3)
    build = tmp_path / "b"
    first = simulate(network, chip, 30.0, seed=2, device="cpp", build_dir=build,
                     record_changes=True)  # fmt: skip
    static = build / "static_arrays"
    assert any(static.iterdir())
    generated.clear()
    kept = simulate(network, chip, 30.0, seed=2, device="cpp", build_dir=build, record_changes=True)
    assert generated == []
    shutil.rmtree(static)
    again = simulate(
        network, chip, 30.0, seed=2, device="cpp", build_dir=build, record_changes=True
    )
    assert generated
    for other in (kept, again):
        for name in first.spikes:
            assert first.spikes[name].neuron.tobytes() == other.spikes[name].neuron.tobytes()
        for name in first.changed:
            assert np.array_equal(first.changed[name].neuron, other.changed[name].neuron)
            assert np.array_equal(first.changed[name].step, other.changed[name].step)
    assert sum(len(cells) for cells in first.changed.values()) > 0


def test_changed_neurons_with_units_rest_and_bias():
    """A LIF neuron at rest with no input never changes; one with a bias (in mV) changes every
    step, refractory or not; one started away from rest changes while it relaxes."""
    quiet = Population("quiet", 3, "lif")
    biased = Population("biased", 2, "lif", parameters={"v_bias_mV": 30.0})
    relaxing = Population("relaxing", 2, "lif", initial={"v_mV": -60.0})
    network = Network((quiet, biased, relaxing), name="rest")
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    activity = simulate(network, chip, 20.0, device="numpy", record_changes=True)
    assert len(activity.changed["quiet"]) == 0
    assert len(activity.spikes["biased"]) > 0
    assert len(activity.changed["biased"]) == 2 * 20
    assert 0 < len(activity.changed["relaxing"]) <= 2 * 20


def test_standalone_build_directory_follows_structure_not_values():
    """One cpp_standalone directory per network structure: two sizes of a model keep their own
    compiled code; new weights or delays of the same structure reuse the directory."""
    from dataclasses import replace

    from neuroemu.engine.runner import standalone_dir
    from neuroemu.network.network import Network, Population, Projection

    def network(size: int, weight: float, delay_ms: float | np.ndarray) -> Network:
        i = np.arange(size - 1)
        projection = Projection("a", "b", i, i + 1, weight, delay_ms=delay_ms)
        return Network((Population("a", size), Population("b", size)), (projection,))

    base = standalone_dir(network(10, 0.5, 1.0))
    assert base.name.startswith("network-")
    assert standalone_dir(network(10, 0.7, 2.0)) == base  # values only
    assert standalone_dir(network(20, 0.5, 1.0)) != base  # another size
    varied = network(10, 0.5, np.linspace(1.0, 2.0, 9))  # delays per synapse: other code
    assert standalone_dir(varied) != base
    renamed = replace(network(10, 0.5, 1.0), name="other")
    assert standalone_dir(renamed).name.startswith("other-")


def test_a_seed_sweep_of_coba_compiles_once(tmp_path, generated):
    """Ten seeds of COBA on cpp_standalone, each with its own draw of the connectivity: only the
    first run generates code; a binary run again gives the spikes of a fresh build."""
    from neuroemu.pipeline import build_network
    from neuroemu.spec.chip import load_chip

    chip = load_chip("spinnaker")
    build = tmp_path / "coba"
    per_run, synapses, spikes = [], set(), {}
    for seed in range(1, 11):
        network = build_network("coba", {}, seed)
        generated.clear()
        activity = simulate(network, chip, 20.0, seed=seed, device="cpp", build_dir=build)
        per_run.append(len(generated))
        synapses.add(network.n_synapses)
        spikes[seed] = activity.spikes
    assert per_run[0] > 0 and per_run[1:] == [0] * 9
    assert len(synapses) == 10  # each seed its own connectivity
    generated.clear()
    fresh = simulate(build_network("coba", {}, 7), chip, 20.0, seed=7, device="cpp",
                     build_dir=tmp_path / "fresh").spikes  # fmt: skip
    assert generated
    assert sum(s.neuron.size for s in fresh.values()) > 0
    for name, kept in spikes[7].items():
        assert kept.neuron.tobytes() == fresh[name].neuron.tobytes()
        assert kept.step.tobytes() == fresh[name].step.tobytes()


def test_a_new_process_runs_the_kept_binary_without_brian2(tmp_path):
    """A later process with another seed runs the binary built here without importing Brian2,
    and gets the spikes this process gets for that seed (a kept binary gives a fresh build's
    spikes: test_a_seed_sweep_of_coba_compiles_once)."""
    import subprocess
    import sys

    from neuroemu.pipeline import build_network
    from neuroemu.spec.chip import load_chip

    build = tmp_path / "coba"
    chip = load_chip("spinnaker")
    simulate(build_network("coba", {}, 1), chip, 20.0, seed=1, device="cpp", build_dir=build)
    script = f"""
import hashlib, json, sys
from neuroemu.engine.runner import simulate
from neuroemu.pipeline import build_network
from neuroemu.spec.chip import load_chip
activity = simulate(build_network("coba", {{}}, 2), load_chip("spinnaker"), 20.0, seed=2,
                    device="cpp", build_dir={str(build)!r})
digest = hashlib.sha256()
for name, spikes in activity.spikes.items():
    digest.update(spikes.neuron.tobytes() + spikes.step.tobytes())
print(json.dumps({{"brian2": "brian2" in sys.modules, "spikes": digest.hexdigest()}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    kept = json.loads(done.stdout.strip().splitlines()[-1])
    here = simulate(build_network("coba", {}, 2), chip, 20.0, seed=2, device="cpp", build_dir=build)
    digest = hashlib.sha256()
    for spikes in here.spikes.values():
        digest.update(spikes.neuron.tobytes() + spikes.step.tobytes())
    assert sum(len(spikes) for spikes in here.spikes.values()) > 0
    assert kept == {"brian2": False, "spikes": digest.hexdigest()}


def test_populations_differing_only_in_threshold_share_one_group():
    """Layers with their own thresholds (v_th read only by ``v > v_th``) share one NeuronGroup
    that holds v_th per neuron, and run exactly as one group each: spikes and changed
    neurons; a parameter the equations read (v_bias of LIF) still keeps groups apart."""
    from neuroemu.engine.group_plan import plan_objects, threshold_parameters

    model = integrate_and_fire()
    assert threshold_parameters(model) == ("v_th",)
    rng = np.random.default_rng(4)
    sizes, thresholds = (12, 20, 8), (2.0, 3.0, 1.0)
    pops = tuple(
        Population(
            name,
            size,
            model,
            parameters={"v_th": th},
            initial={"bias": rng.integers(0, 3, size).astype(float)},
        )
        for name, size, th in zip("abc", sizes, thresholds, strict=True)
    )
    projs = []
    for pre, post in (("a", "b"), ("b", "c"), ("c", "a")):
        n_pre, n_post = sizes["abc".index(pre)], sizes["abc".index(post)]
        i, j = np.nonzero(rng.random((n_pre, n_post)) < 0.3)
        projs.append(Projection(pre, post, i, j, rng.integers(-1, 3, len(i)).astype(float)))
    network = Network(pops, tuple(projs), name="layers")
    plan = plan_objects(network, 1.0)
    assert [g.populations for g in plan.groups] == [("a", "b", "c")]
    assert plan.groups[0].per_neuron == {"a": {"v_th": 2.0}, "b": {"v_th": 3.0}, "c": {"v_th": 1.0}}
    assert len(plan.synapses) == 1
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    options = {"device": "numpy", "quantise": False, "record_changes": True}
    runs = [simulate(network, chip, 40.0, merge_objects=m, **options) for m in (True, False)]
    for name in "abc":
        for record in ("spikes", "changed"):
            merged, alone = (getattr(run, record)[name] for run in runs)
            assert np.array_equal(merged.neuron, alone.neuron)
            assert np.array_equal(merged.step, alone.step)
    assert sum(len(runs[0].spikes[name]) for name in "abc") > 20
    lif = (Population("x", 3, "lif"), Population("y", 3, "lif", parameters={"v_bias_mV": 3.0}))
    assert len(plan_objects(Network(lif, name="lif"), 0.1).groups) == 2


def test_compiler_flags_found_are_remembered_for_the_same_compiler(tmp_path, monkeypatch):
    """Flags Brian2 tested inside one build are handed to the next process's Brian2 for the
    same compiler only; a damaged store is ignored."""
    from brian2.codegen import cpp_prefs

    from neuroemu.engine import compiler_flags

    monkeypatch.setenv("NEUROEMU_CACHE_DIR", str(tmp_path / "cache"))
    table: dict = {}
    monkeypatch.setattr(cpp_prefs, "_compiler_flag_compatibility", table)
    with compiler_flags.remembered_flags():
        table[("c++", "-march=native")] = True  # as Brian2's has_flag records a test
        table[("c++", "-bogus")] = False
    table.clear()  # a later process
    with compiler_flags.remembered_flags():
        assert table == {("c++", "-march=native"): True, ("c++", "-bogus"): False}
    table.clear()
    monkeypatch.setattr(compiler_flags, "fingerprint", lambda compiler: "another compiler")
    with compiler_flags.remembered_flags():
        assert table == {}
    compiler_flags.store_path().write_text("{not json")
    with compiler_flags.remembered_flags():
        assert table == {}
