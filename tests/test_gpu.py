"""The GPU time and energy model (neuroemu.gpu.model) against hand-computed kernels, exact event
counts, and the SNABSuite measurements on an RTX 2070 that the rtx2070 descriptor is fitted to."""

from __future__ import annotations

import numpy as np
import pytest

from neuroemu.activity import Activity, Spikes
from neuroemu.errors import GpuMemoryError, NeuroEmuError
from neuroemu.gpu.model import (
    device_memory_bytes,
    estimate_gpu_time,
    gpu_baseline,
    step_activity,
)
from neuroemu.network.network import STDP, Network, PoissonInput, Population, Projection
from neuroemu.spec.gpu import GpuSpec, load_gpu, parse_gpu
from neuroemu.timesteps import delay_steps

# A GPU with round numbers so every kernel can be computed by hand: 1e12 FLOP/s, 1e11 B/s DRAM,
# 1e12 B/s L2 (1 MB), 1e12 atomics/s, 10 us launches; 1 pJ/op, 10 pJ/B, 1 pJ/L2 B, 100 pJ/atomic,
# 1 uJ/launch; 50 W idle with a context, 300 W board limit.
ROUND_GPU = """\
format_version: 1
kind: gpu
name: round
sources: {t: "made up for the tests"}
identity: {full_name: Round test GPU, vendor: tests}
compute:
  peak_tflops: {fp32: {value: 1.0, source: t}, bf16_tensor: {value: 10.0, source: t}}
memory:
  size_gb: {value: 16, source: t}
  bandwidth_gb_s: {value: 100, source: t}
  l2_mb: {value: 1, source: t}
  l2_bandwidth_gb_s: {value: 1000, source: t}
power:
  board_power_w: {value: BOARD, source: t}
  idle_power_w: {value: 10, source: t}
  idle_ctx_power_w: {value: 50, source: t}
  host_power_w: {value: 100, source: t}
energy:
  per_op_pj: {fp32: {value: 1, source: t}, bf16_tensor: {value: 0.5, source: t}}
  per_dram_byte_pj: {value: 10, source: t}
  per_l2_byte_pj: {value: 1, source: t}
  per_atomic_pj: {value: ATOMIC, source: t}
  per_launch_nj: {value: 1000, source: t}
timing:
  compute_fraction: {value: 1.0, source: t}
  memory_fraction: {value: 1.0, source: t}
  launch_latency_us: {value: 10, source: t}
  sync_us: {value: 5, source: t}
  host_copy_latency_us: {value: 15, source: t}
  host_copy_gb_s: {value: 1, source: t}
  atomic_throughput_gops: {value: 1000, source: t}
"""


def round_gpu(board_w: float = 300, atomic_pj: float = 100) -> GpuSpec:
    text = ROUND_GPU.replace("BOARD", str(board_w)).replace("ATOMIC", str(atomic_pj))
    return parse_gpu(text, "round.yaml")


def quiet(n_steps: int, dt_ms: float = 1.0, **spikes: Spikes) -> Activity:
    return Activity(dt_ms=dt_ms, n_steps=n_steps, spikes=dict(spikes), seed=0, device="test")


def every_step(neurons: np.ndarray, n_steps: int) -> Spikes:
    """Every neuron in ``neurons`` fires at every step."""
    return Spikes(np.tile(neurons, n_steps), np.repeat(np.arange(n_steps), len(neurons)))


def lone(n: int) -> Network:
    return Network((Population("pop", n, "lif"),), name="lone")


# ---- hand-computed kernels ----------------------------------------------------------------


def test_small_network_is_launch_bound_with_hand_computed_energy() -> None:
    # 100 LIF neurons, 2 state words (v, refractory counter) read and written: 1600 B and 500 FLOP
    # per step, i.e. 16 ns and 0.5 ns, far below the 10 us launch floor.
    report = gpu_baseline(lone(100), quiet(10), round_gpu(), record_spikes=False)
    assert report.time_s == pytest.approx(10 * 10e-6)
    assert report.dynamic_pj["neuron_kernel"] == pytest.approx(10 * (500 * 1 + 1600 * 10))
    assert report.dynamic_pj["launch"] == pytest.approx(10 * 1e6)
    assert report.static_pj == pytest.approx(50 * 100e-6 * 1e12)
    time = estimate_gpu_time(lone(100), quiet(10), round_gpu(), record_spikes=False)
    assert time.kernel("neuron_kernel").bound == "launch"
    bundled = estimate_gpu_time(lone(100), quiet(10), load_gpu("h200"), record_spikes=False)
    assert bundled.kernel("neuron_kernel").bound == "launch"


def test_large_neuron_kernel_is_memory_bound() -> None:
    time = estimate_gpu_time(lone(100_000), quiet(4), round_gpu(), record_spikes=False)
    kernel = time.kernel("neuron_kernel")
    assert kernel.bound == "memory"
    assert time.time_s == pytest.approx(4 * 1.6e6 / 1e11)  # 16 us per step
    assert kernel.ops == pytest.approx(4 * 5e5)


def test_batched_dense_matmul_is_compute_bound() -> None:
    i, j = np.meshgrid(np.arange(1000), np.arange(1000), indexing="ij")
    net = Network(
        (Population("a", 1000, "lif"), Population("b", 1000, "lif")),
        (Projection("a", "b", i.ravel(), j.ravel(), 0.1),),
    )
    time = estimate_gpu_time(net, quiet(2), round_gpu(), style="dense", batch=64)
    matmul = time.kernel("matmul:a_to_b")
    assert matmul.bound == "compute"
    assert matmul.time_s == pytest.approx(2 * 2 * 64 * 1000 * 1000 / 1e12)  # 128 us per step
    # 4 MB of weights do not fit the 1 MB L2: they stream from DRAM with the activations
    assert matmul.dram_bytes == pytest.approx(2 * (4e6 + 4 * 64 * 2000))
    assert matmul.l2_bytes == 0


def all_to_all(n_pre: int, n_post: int, weight: float | np.ndarray = 0.1, **kw) -> Network:
    i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    pops = (Population("pre", n_pre, "lif"), Population("post", n_post, "lif"))
    return Network(pops, (Projection("pre", "post", i.ravel(), j.ravel(), weight, **kw),))


def test_1e8_synaptic_events_per_step_is_memory_bound() -> None:
    # 1000 x 1000 synapses with individual weights (index + weight = 8 B per event); every pre
    # neuron fires every step and 100 copies run in parallel: 1e8 events per step.
    rng = np.random.default_rng(0)
    net = all_to_all(1000, 1000, weight=rng.random(1_000_000))
    act = quiet(3, pre=every_step(np.arange(1000), 3))
    time = estimate_gpu_time(net, act, round_gpu(), batch=100, record_spikes=False)
    synapse = time.kernel("synapse_kernel")
    assert synapse.atomics == 3 * 1e8
    assert synapse.bound == "memory"
    per_step_bytes = 100 * (1e6 * 8 + 1000 * 8)  # events x 8 B + one row header per spike
    assert synapse.time_s == pytest.approx(3 * per_step_bytes / 1e11)


def test_doubling_spikes_doubles_propagation_work() -> None:
    rng = np.random.default_rng(1)
    net = all_to_all(1000, 1000, weight=rng.random(1_000_000))
    half = quiet(5, pre=every_step(np.arange(0, 1000, 2), 5))
    full = quiet(5, pre=every_step(np.arange(1000), 5))
    one, two = (
        estimate_gpu_time(net, a, round_gpu(), batch=100, record_spikes=False) for a in (half, full)
    )
    a, b = one.kernel("synapse_kernel"), two.kernel("synapse_kernel")
    assert b.atomics == 2 * a.atomics and b.ops == 2 * a.ops
    assert b.dram_bytes == pytest.approx(2 * a.dram_bytes)
    assert b.time_s == pytest.approx(2 * a.time_s)  # memory-bound: time follows the work


def test_power_cap_stretches_time() -> None:
    # 1e8 events per step at 10 nJ per atomic: 1 J per 8 ms step, far above the 10 W of headroom
    rng = np.random.default_rng(0)
    net = all_to_all(1000, 1000, weight=rng.random(1_000_000))
    act = quiet(2, pre=every_step(np.arange(1000), 2))
    spec = round_gpu(board_w=60, atomic_pj=10_000)
    report = gpu_baseline(net, act, spec, batch=100, record_spikes=False)
    uncapped = estimate_gpu_time(net, act, spec, batch=100, record_spikes=False).time_s
    dynamic_j = report.dynamic_total_pj * 1e-12
    assert report.time_s == pytest.approx(dynamic_j / (60 - 50))
    assert report.time_s > uncapped
    assert report.power_w == pytest.approx(60)
    assert any("power-capped" in note for note in report.notes)
    assert not any("power-capped" in n for n in gpu_baseline(lone(100), quiet(3), spec).notes)


def test_total_is_the_sum_of_the_parts_and_wall_adds_the_host() -> None:
    rng = np.random.default_rng(2)
    net = all_to_all(50, 40, weight=rng.random(2000), delay_ms=rng.integers(0, 3, 2000) * 1.0)
    act = quiet(20, pre=Spikes(rng.integers(0, 50, 100), np.sort(rng.integers(0, 20, 100))))
    board = gpu_baseline(net, act, round_gpu())
    wall = gpu_baseline(net, act, round_gpu(), scope="wall")
    for report in (board, wall):
        parts = report.static_pj + sum(report.dynamic_pj.values())
        assert report.total_pj == pytest.approx(parts)
        assert all(v > 0 for v in report.dynamic_pj.values())
    assert set(board.dynamic_pj) == {
        "neuron_kernel",
        "synapse_kernel",
        "atomic",
        "launch",
        "spike_copy",
    }
    assert wall.dynamic_pj["host"] == pytest.approx(100 * wall.time_s * 1e12)
    assert wall.total_pj - board.total_pj == pytest.approx(wall.dynamic_pj["host"])
    assert (board.scope, wall.scope, board.device_kind, board.method) == (
        "board",
        "wall",
        "gpu",
        "model",
    )


def test_recording_spikes_adds_a_sync_and_a_copy_per_step() -> None:
    act = quiet(10, pop=every_step(np.arange(25), 10))
    silent = estimate_gpu_time(lone(100), act, round_gpu(), record_spikes=False)
    loud = estimate_gpu_time(lone(100), act, round_gpu(), record_spikes=True)
    copy = 10 * ((5 + 15) * 1e-6 + 4 * (25 + 1) / 1e9)
    assert loud.time_s - silent.time_s == pytest.approx(copy)
    assert loud.copy_bytes == 10 * 4 * 26 and loud.n_copies == 10


# ---- exact counting ------------------------------------------------------------------------


def brute_force_events(net: Network, act: Activity) -> np.ndarray:
    """Per-step deliveries by looping over every spike and every synapse."""
    out = np.zeros(act.n_steps, dtype=np.int64)
    for proj in net.projections:
        spikes = act.spikes.get(proj.pre)
        delays = np.broadcast_to(delay_steps(proj.delay_ms, act.dt_ms), proj.i.shape)
        for neuron, step in zip(spikes.neuron, spikes.step, strict=True):
            for syn in np.flatnonzero(proj.i == neuron):
                if step + delays[syn] < act.n_steps:
                    out[step + delays[syn]] += 1
    return out


def test_synaptic_events_are_exact_and_stop_at_the_end_of_the_run() -> None:
    rng = np.random.default_rng(3)
    pops = (Population("a", 30, "lif"), Population("b", 20, "cuba_lif"))
    noise = PoissonInput("noise", 10, 100.0)
    projections = (
        Projection(
            "a",
            "b",
            rng.integers(0, 30, 200),
            rng.integers(0, 20, 200),
            0.5,
            delay_ms=rng.uniform(0, 2.0, 200),
        ),
        Projection(
            "noise", "a", rng.integers(0, 10, 50), rng.integers(0, 30, 50), 1.0, delay_ms=1.0
        ),
    )
    net = Network(pops, projections, (noise,))
    act = quiet(
        40,
        dt_ms=0.5,
        a=Spikes(rng.integers(0, 30, 120), np.sort(rng.integers(0, 40, 120))),
        noise=Spikes(rng.integers(0, 10, 60), np.sort(rng.integers(0, 40, 60))),
    )
    steps = step_activity(net, act)
    expected = brute_force_events(net, act)
    assert np.array_equal(steps.events, expected)
    assert steps.spikes_out.sum() == 120 and steps.input_spikes.sum() == 60
    report = gpu_baseline(net, act, round_gpu(), batch=3)
    assert report.counts == {
        "neuron_update": 3 * 50 * 40,
        "synaptic_event": 3 * expected.sum(),
        "spike_out": 3 * 120,
    }


def test_stdp_adds_a_learning_kernel_and_learning_updates() -> None:
    net = all_to_all(4, 3, plasticity=STDP())
    act = quiet(6, pre=every_step(np.arange(4), 6), post=Spikes([0, 2], [1, 3]))
    report = gpu_baseline(net, act, round_gpu())
    assert report.counts["learning_update"] == 6 * 12 + 2 * 4  # pre events + post x in-degree
    assert report.dynamic_pj["learning_kernel"] > 0
    dense = gpu_baseline(net, act, round_gpu(), style="dense")
    assert dense.dynamic_pj["learning_kernel"] > 0


# ---- the dense style -----------------------------------------------------------------------


def test_dense_weights_stay_in_l2_when_they_fit() -> None:
    small = all_to_all(100, 100)  # 40 kB of weights
    time = estimate_gpu_time(small, quiet(3), round_gpu(), style="dense")
    matmul = time.kernel("matmul:pre_to_post")
    assert matmul.l2_bytes == 3 * 4 * 100 * 100
    assert matmul.dram_bytes == 3 * 4 * (100 + 100)
    # bf16 halves the bytes and uses the tensor peak
    half = estimate_gpu_time(small, quiet(3), round_gpu(), style="dense", precision="bf16_tensor")
    assert half.kernel("matmul:pre_to_post").l2_bytes == 3 * 2 * 100 * 100
    # one launch per operator of the neuron model, plus threshold, reset and refractoriness
    neurons = time.kernel("neurons:post")
    assert neurons.launches == 5 + 2 + 2 and neurons.bound == "launch"


def test_dense_work_does_not_follow_the_spikes() -> None:
    net = all_to_all(200, 200)
    quiet_run = gpu_baseline(net, quiet(5), round_gpu(), style="dense", record_spikes=False)
    busy = quiet(5, pre=every_step(np.arange(200), 5))
    busy_run = gpu_baseline(net, busy, round_gpu(), style="dense", record_spikes=False)
    assert busy_run.time_s == pytest.approx(quiet_run.time_s)
    assert busy_run.dynamic_pj["matmul"] == pytest.approx(quiet_run.dynamic_pj["matmul"])
    assert busy_run.synaptic_events == 5 * 200 * 200 and quiet_run.synaptic_events == 0


def test_dense_keeps_one_weight_matrix_per_projection_whatever_the_delays() -> None:
    """A dense simulator stores each weight matrix once and a ring buffer of delayed inputs:
    doubling the delay slots must not double the weight traffic (it did: one matrix per slot)."""
    traffic = {}
    for n_slots in (3, 6):
        delays = np.tile(np.arange(n_slots, dtype=float), 100 * 100 // n_slots + 1)[: 100 * 100]
        net = all_to_all(100, 100, delay_ms=delays)
        time = estimate_gpu_time(net, quiet(2), round_gpu(), style="dense")
        matmul = time.kernel("matmul:pre_to_post")
        assert matmul.launches == 1 and time.kernel("history:pre").launches == 1
        traffic[n_slots] = matmul.dram_bytes + matmul.l2_bytes
    assert traffic[6] == pytest.approx(traffic[3])
    # 4-byte weights and a 1-byte delay per entry, plus the spike vectors, every step
    per_step = 100 * 100 * (4 + 1) + 4 * (100 + 100)
    assert traffic[3] == pytest.approx(2 * per_step)


def test_a_network_too_big_for_the_board_says_so() -> None:
    net = all_to_all(100, 100)
    needed = device_memory_bytes(net, "dense", dt_ms=1.0)
    assert 100 * 100 * 4 < needed < 100 * 100 * 4 + 200 * 4 * 10  # weights, then the state
    text = ROUND_GPU.replace("BOARD", "300").replace("ATOMIC", "100")
    tiny = parse_gpu(text.replace("size_gb: {value: 16", f"size_gb: {{value: {needed / 2e9}"))
    with pytest.raises(GpuMemoryError, match=r"does not fit on round in the dense style: needs"):
        gpu_baseline(net, quiet(2), tiny, style="dense")
    assert gpu_baseline(net, quiet(2), round_gpu(), style="dense").total_j > 0


# ---- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"style": "sparse"}, "unknown GPU style 'sparse'"),
        ({"scope": "socket"}, "unknown scope 'socket'"),
        ({"batch": 0}, "batch must be a positive integer"),
        ({"style": "dense", "precision": "fp16_tensor"}, "no peak and energy for 'fp16_tensor'"),
    ],
)
def test_bad_arguments_say_what_is_expected(kwargs: dict, message: str) -> None:
    with pytest.raises(NeuroEmuError, match=message):
        gpu_baseline(lone(10), quiet(2), round_gpu(), **kwargs)


def test_wall_scope_needs_a_host_power() -> None:
    text = ROUND_GPU.replace("BOARD", "300").replace("ATOMIC", "100")
    text = text.replace("  host_power_w: {value: 100, source: t}\n", "")
    with pytest.raises(NeuroEmuError, match=r"power\.host_power_w"):
        gpu_baseline(lone(10), quiet(2), parse_gpu(text), scope="wall")


# ---- SNABSuite on an RTX 2070 (config_energy/genn_gpu_energy.json) -------------------------
# GeNN ran, at 1 ms steps and without copying spikes each step: 100k non-spiking LIF neurons at
# 4.78 us and 96.07 W per step; 500 neurons firing at 91 Hz into 25k neurons with p = 0.5 at
# 22.17 us and 111.74 W per step; 100k neurons spiking 3,226 times per step at 4.77 us and
# 98.16 W; idle 20.06 W. SNABSuite's own extraction turns these into 3.63 nJ per neuron per step
# and 3.40 nJ per synaptic event; the same extraction is applied to the model here.

SNAB_IDLE_W = 20.06
SNAB_SPIKE_J = 4.707e-9  # SNABSuite's energy per recorded spike, subtracted as it does


def snab_non_spiking(n_steps: int = 200) -> tuple[Network, Activity]:
    return lone(100_000), quiet(n_steps)


def snab_inter_random(n_steps: int = 220) -> tuple[Network, Activity]:
    rng = np.random.default_rng(7)
    i, j = np.nonzero(rng.random((500, 25_000)) < 0.5)
    pops = (Population("source", 500, "lif"), Population("target", 25_000, "lif"))
    net = Network(pops, (Projection("source", "target", i, j, 0.1, delay_ms=1.0),))
    period = 11  # refractory-limited 91 Hz, phases spread evenly
    step = np.concatenate([np.arange(k % period, n_steps, period) for k in range(500)])
    neuron = np.repeat(
        np.arange(500), [len(range(k % period, n_steps, period)) for k in range(500)]
    )
    order = np.argsort(step, kind="stable")
    return net, quiet(n_steps, source=Spikes(neuron[order], step[order]))


@pytest.fixture(scope="module")
def rtx2070() -> GpuSpec:
    return load_gpu("rtx2070")


def per_neuron_step_j(spec: GpuSpec) -> float:
    net, act = snab_non_spiking()
    report = gpu_baseline(net, act, spec, record_spikes=False)
    return (report.total_j - SNAB_IDLE_W * report.time_s) / (net.n_neurons * act.n_steps)


def test_rtx2070_reproduces_snabsuite_idle_and_neuron_cost(rtx2070: GpuSpec) -> None:
    assert rtx2070.power.idle_power_w.require() == pytest.approx(20.0, rel=0.25)
    assert per_neuron_step_j(rtx2070) == pytest.approx(3.63e-9, rel=0.25)
    net, act = snab_non_spiking()
    report = gpu_baseline(net, act, rtx2070, record_spikes=False)
    assert report.time_s / act.n_steps == pytest.approx(4.78e-6, rel=0.25)
    assert report.power_w == pytest.approx(96.07, rel=0.25)


def test_rtx2070_reproduces_snabsuite_energy_per_synaptic_event(rtx2070: GpuSpec) -> None:
    net, act = snab_inter_random()
    report = gpu_baseline(net, act, rtx2070, record_spikes=False)
    neurons_j = per_neuron_step_j(rtx2070) * net.n_neurons * act.n_steps
    spikes_j = SNAB_SPIKE_J * report.counts["spike_out"]
    per_event = (report.total_j - SNAB_IDLE_W * report.time_s - neurons_j - spikes_j) / (
        report.synaptic_events
    )
    assert per_event == pytest.approx(3.40e-9, rel=0.25)
    assert report.synaptic_events / act.n_steps == pytest.approx(568_000, rel=0.01)
    assert report.time_s / act.n_steps == pytest.approx(22.17e-6, rel=0.25)
    assert report.power_w == pytest.approx(111.74, rel=0.25)


def test_rtx2070_predicts_a_run_it_was_not_fitted_to(rtx2070: GpuSpec) -> None:
    n_steps = 50
    neurons = np.random.default_rng(5).integers(0, 100_000, 3226 * n_steps)
    act = quiet(n_steps, pop=Spikes(neurons, np.repeat(np.arange(n_steps), 3226)))
    report = gpu_baseline(lone(100_000), act, rtx2070, record_spikes=False)
    assert report.time_s / n_steps == pytest.approx(4.77e-6, rel=0.25)
    assert report.power_w == pytest.approx(98.16, rel=0.25)


@pytest.mark.parametrize("name", ["rtx2070", "rtx4090", "v100", "a100", "h100", "h200"])
def test_dense_says_does_not_fit_exactly_when_the_board_is_too_small(name: str) -> None:
    """Dense memory grows with n_pre x n_post, not with synapses: two 50,000-neuron populations
    joined by 10 synapses with different delays need 12.5 GB of weights and delays."""
    rng = np.random.default_rng(1)
    pops = (Population("pre", 50_000, "lif"), Population("post", 50_000, "lif"))
    i, j = rng.integers(0, 50_000, 10), rng.integers(0, 50_000, 10)
    delays = np.arange(10, dtype=float)
    net = Network(pops, (Projection("pre", "post", i, j, 0.1, delay_ms=delays),))
    gpu = load_gpu(name)
    needed = device_memory_bytes(net, "dense", dt_ms=1.0)
    assert needed > 50_000**2 * 5
    fits = needed <= gpu.memory.size_gb.require() * 1e9
    if fits:
        assert gpu_baseline(net, quiet(2), gpu, style="dense").total_j > 0
    else:
        with pytest.raises(GpuMemoryError, match=f"does not fit on {name} in the dense style"):
            gpu_baseline(net, quiet(2), gpu, style="dense")
    # the event-driven style stores 10 synapses: it fits everywhere
    assert gpu_baseline(net, quiet(2), gpu).total_j > 0


def test_gpu_reports_carry_the_ranges_of_their_descriptor() -> None:
    spikes = Spikes(np.arange(100) % 100, np.arange(100))
    net, act = all_to_all(100, 100), quiet(100, pre=spikes)
    plain = gpu_baseline(net, act, round_gpu())
    assert plain.low is None and plain.high is None
    text = ROUND_GPU.replace("BOARD", "300").replace("ATOMIC", "100")
    for field in ("idle_ctx_power_w", "launch_latency_us", "bandwidth_gb_s"):
        line = next(line for line in text.splitlines() if line.strip().startswith(field + ":"))
        written = line.split("value:")[1].split(",")[0].strip()
        value = float(written)
        bounds = f"range: [{value / 2:g}, {value * 2:g}]"
        ranged = line.replace(f"value: {written},", f"value: {written}, {bounds},")
        text = text.replace(line, ranged)
    gpu = parse_gpu(text, "round.yaml")
    assert gpu.at_bound("high").memory.bandwidth_gb_s.value == gpu.memory.bandwidth_gb_s.value / 2
    assert (
        gpu.at_bound("high").timing.launch_latency_us.value
        == 2 * gpu.timing.launch_latency_us.value
    )
    report = gpu_baseline(net, act, gpu)
    for name in ("total_j", "time_s", "static_pj", "energy_per_synaptic_event_pj"):
        value, low, high = report.bounds(name)
        assert low < value < high, name


# ---- the synapse kernel's row latency ----------------------------------------------------


def two_sources() -> tuple[Network, Activity]:
    """``a`` (4 neurons) and ``b`` (2) each project one-to-one onto ``post``, no delay. Step 0: all
    of ``a`` and ``b`` fire; step 1: one of ``a``, both of ``b``; step 2: nothing."""
    pops = (Population("a", 4, "lif"), Population("b", 2, "lif"), Population("post", 4, "lif"))
    four, two = np.arange(4), np.arange(2)
    projections = (
        Projection("a", "post", four, four, 0.1, delay_ms=0.0),
        Projection("b", "post", two, two, 0.1, delay_ms=0.0),
    )
    act = quiet(3, a=Spikes(np.array([0, 1, 2, 3, 0]), np.array([0, 0, 0, 0, 1])),
                b=Spikes(np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])))  # fmt: skip
    return Network(pops, projections, name="two"), act


def with_row_latency(us: float) -> GpuSpec:
    text = ROUND_GPU.replace("BOARD", "300").replace("ATOMIC", "100")
    return parse_gpu(text + f"  row_latency_us: {{value: {us}, source: t}}\n", "round.yaml")


def test_serial_rows_are_the_busiest_projection_per_step() -> None:
    net, act = two_sources()
    steps = step_activity(net, act)
    # projections run in parallel blocks: per step the larger of 4 and 2, then of 1 and 2
    assert steps.serial_rows.tolist() == [4, 2, 0]
    assert steps.rows.tolist() == [6, 3, 0]  # every (spike, projection) row is still read


def test_row_latency_adds_serial_rows_to_the_synapse_kernel_by_hand() -> None:
    net, act = two_sources()
    base = estimate_gpu_time(net, act, round_gpu(), record_spikes=False)
    # every step's synapse kernel is launch-bound (10 us); 1 us per row adds 4 + 2 + 0 us
    assert base.kernel("synapse_kernel").time_s == pytest.approx(30e-6)
    timed = estimate_gpu_time(net, act, with_row_latency(1.0), record_spikes=False)
    synapse = timed.kernel("synapse_kernel")
    assert synapse.time_s == pytest.approx(36e-6)
    assert synapse.bound == "launch"
    assert timed.time_s == pytest.approx(base.time_s + 6e-6)
    # rows of batch copies are walked in parallel: the serial term does not grow with the batch
    batched = estimate_gpu_time(net, act, with_row_latency(1.0), batch=3, record_spikes=False)
    assert batched.kernel("synapse_kernel").time_s == pytest.approx(36e-6)


def test_long_row_latency_makes_the_synapse_kernel_row_bound() -> None:
    net, act = two_sources()
    synapse = estimate_gpu_time(net, act, with_row_latency(100.0), record_spikes=False).kernel(
        "synapse_kernel"
    )
    assert synapse.time_s == pytest.approx(30e-6 + 600e-6)
    assert synapse.bound == "row"


def test_a_descriptor_without_row_latency_keeps_the_model_without_it() -> None:
    net, act = two_sources()
    absent = gpu_baseline(net, act, round_gpu(), record_spikes=False)
    zero = gpu_baseline(net, act, with_row_latency(0.0), record_spikes=False)
    assert absent.time_s == zero.time_s
    assert absent.total_j == zero.total_j
