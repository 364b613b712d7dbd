"""Measured mode (neuroemu.gpu.measure) with a fake NVML counter and a fake clock; the PyTorch
simulation on the CPU where torch is installed; the real thing only on a GPU (marked ``gpu``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from neuroemu.activity import Activity, Spikes
from neuroemu.errors import NeuroEmuError
from neuroemu.gpu.measure import NoGpuError, NvmlCounter, TorchSimulation, measure_gpu
from neuroemu.gpu.model import count_gpu_events
from neuroemu.network.network import Network, PoissonInput, Population, Projection, SpikeTimesInput
from neuroemu.spec.gpu import GpuSpec, load_gpu, parse_gpu


class Bench:
    """A fake clock, energy counter and simulation sharing one notion of time.

    The board draws ``idle_w`` while sleeping and ``run_w`` while a run of ``run_s`` executes.
    """

    def __init__(self, idle_w: float = 60.0, run_w: float = 180.0, run_s: float = 0.25) -> None:
        self.now_s, self.mj = 1000.0, 5.0e6
        self.idle_w, self.run_w, self.run_s = idle_w, run_w, run_s
        self.runs = self.syncs = 0
        self.closed = False

    def clock(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.now_s += seconds
        self.mj += self.idle_w * seconds * 1e3

    def energy_mj(self) -> float:
        return self.mj

    def describe(self) -> dict[str, str]:
        return {"name": "Fake GPU", "sm_clock_mhz": "1980", "power_limit_w": "700.0"}

    def close(self) -> None:
        self.closed = True

    def run(self) -> None:
        self.runs += 1
        self.now_s += self.run_s
        self.mj += self.run_w * self.run_s * 1e3

    def synchronize(self) -> None:
        self.syncs += 1

    def activity(self) -> Activity:
        return Activity(1.0, 10, {"a": Spikes([0, 1], [2, 3])}, seed=0, device="fake")


def small_network() -> Network:
    rng = np.random.default_rng(0)
    pops = (
        Population("a", 20, "lif", parameters={"v_bias_mV": 20.0}),
        Population("b", 10, "cuba_lif"),
    )
    i, j = rng.integers(0, 20, 60), rng.integers(0, 10, 60)
    return Network(pops, (Projection("a", "b", i, j, 2.0, delay_ms=1.0),))


def test_fake_counter_gives_run_energy_minus_idle_baseline() -> None:
    bench = Bench(idle_w=60.0, run_w=180.0, run_s=0.25)
    act = Activity(1.0, 50, {"a": Spikes([0, 3, 5], [1, 2, 4])}, seed=0, device="test")
    report = measure_gpu(
        small_network(),
        act,
        load_gpu("h200"),
        counter=bench,
        simulation=bench,
        clock=bench.clock,
        sleep=bench.sleep,
        idle_s=10.0,
        min_window_s=3.0,
        n_windows=2,
    )
    assert report.time_s == pytest.approx(0.25)
    assert report.static_pj == pytest.approx(60.0 * 0.25 * 1e12)
    assert report.dynamic_pj["measured_above_idle"] == pytest.approx((180.0 - 60.0) * 0.25 * 1e12)
    assert report.total_j == pytest.approx(180.0 * 0.25)
    assert (report.method, report.scope, report.device, report.device_kind) == (
        "measured",
        "board",
        "h200",
        "gpu",
    )
    assert report.counts == count_gpu_events(small_network(), act)
    assert report.simulated_ms == 50.0
    # one warm-up run, then two windows of >= 3 s made of 0.25 s runs
    assert bench.runs == 1 + 2 * 12
    assert any("idle with the CUDA context open: 60.0 W" in note for note in report.notes)
    assert any("sm_clock_mhz 1980" in note for note in report.notes)
    assert not bench.closed  # a counter passed in belongs to the caller


def test_duration_mode_needs_a_timestep_and_counts_the_simulated_spikes() -> None:
    bench = Bench()
    with pytest.raises(NeuroEmuError, match="needs dt_ms"):
        measure_gpu(small_network(), 10.0, load_gpu("h200"), counter=bench, simulation=bench)
    report = measure_gpu(
        small_network(),
        10.0,
        load_gpu("h200"),
        dt_ms=1.0,
        counter=bench,
        simulation=bench,
        clock=bench.clock,
        sleep=bench.sleep,
        idle_s=1.0,
        min_window_s=1.0,
        n_windows=1,
    )
    assert report.counts["spike_out"] == 2 and report.simulated_ms == 10.0


def test_a_counter_that_does_not_advance_is_an_error() -> None:
    bench = Bench(idle_w=0.0)
    with pytest.raises(NeuroEmuError, match="did not advance"):
        measure_gpu(
            small_network(),
            10.0,
            load_gpu("h200"),
            dt_ms=1.0,
            counter=bench,
            simulation=bench,
            clock=bench.clock,
            sleep=bench.sleep,
        )


def test_jetson_has_no_energy_counter() -> None:
    with pytest.raises(NoGpuError, match="no NVML energy counter"):
        measure_gpu(small_network(), 10.0, load_gpu("jetson-orin"), dt_ms=1.0)


# ---- NvmlCounter against a fake pynvml ----------------------------------------------------


class FakeNvmlError(Exception):
    pass


def fake_nvml(fail_on: str = "", energy_mj: int = 123_456) -> SimpleNamespace:
    calls: list[str] = []

    def call(name: str, value: object = None) -> object:
        def function(*args: object) -> object:
            calls.append(name)
            if name == fail_on:
                raise FakeNvmlError(f"{name} not supported")
            return value

        return function

    return SimpleNamespace(
        NVMLError=FakeNvmlError,
        NVML_CLOCK_SM=1,
        NVML_CLOCK_MEM=2,
        calls=calls,
        nvmlInit=call("init"),
        nvmlShutdown=call("shutdown"),
        nvmlDeviceGetHandleByIndex=call("handle", "h0"),
        nvmlDeviceGetTotalEnergyConsumption=call("energy", energy_mj),
        nvmlDeviceGetName=call("name", b"NVIDIA H200"),
        nvmlSystemGetDriverVersion=call("driver", "570.1"),
        nvmlDeviceGetClockInfo=call("clock", 1980),
        nvmlDeviceGetEnforcedPowerLimit=call("limit", 700_000),
        nvmlDeviceGetPerformanceState=call("pstate"),
    )


def test_nvml_counter_reads_energy_and_settings_without_changing_them() -> None:
    nvml = fake_nvml(fail_on="pstate")
    counter = NvmlCounter(0, nvml=nvml)
    assert counter.energy_mj() == 123_456.0
    info = counter.describe()
    assert info["name"] == "NVIDIA H200" and info["power_limit_w"] == "700.0"
    assert info["sm_clock_mhz"] == "1980" and info["performance_state"] == "unavailable"
    counter.close()
    assert nvml.calls[-1] == "shutdown"
    assert not any(name.startswith("set") for name in nvml.calls)


def test_nvml_counter_without_energy_support_is_no_gpu() -> None:
    nvml = fake_nvml(fail_on="energy")
    with pytest.raises(NoGpuError, match="no NVML energy counter on GPU 0"):
        NvmlCounter(0, nvml=nvml)
    assert nvml.calls[-1] == "shutdown"


def test_nvml_counter_without_pynvml_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(NoGpuError, match="nvidia-ml-py"):
        NvmlCounter(0)


# ---- the PyTorch simulation on the CPU (skipped where torch is not installed) --------------


def lif_chain(delay_ms: float) -> tuple[Network, Activity]:
    """An input spike at step 3 kicks a LIF neuron over threshold after ``delay_ms``."""
    source = SpikeTimesInput("kick", 1, np.array([0]), np.array([3.0]))
    pop = Population("out", 1, "lif")
    net = Network(
        (pop,), (Projection("kick", "out", [0], [0], 20.0, delay_ms=delay_ms),), (source,)
    )
    return net, Activity(1.0, 20, {"kick": Spikes([0], [3])}, seed=0, device="test")


@pytest.mark.parametrize("delay_ms", [0.0, 1.0, 4.0])
def test_torch_delivers_after_the_delay_and_fires_the_next_step(delay_ms: float) -> None:
    pytest.importorskip("torch")
    net, act = lif_chain(delay_ms)
    for replay in (act.spikes, None):  # the recorded input, or the network's own spike times
        sim = TorchSimulation(net, 20, 1.0, device="cpu", input_spikes=replay)
        sim.run()
        spikes = sim.activity().spikes["out"]
        assert list(spikes.step) == [3 + int(delay_ms) + 1]


def test_torch_lif_with_bias_fires_at_the_analytic_time() -> None:
    pytest.importorskip("torch")
    net = Network((Population("pop", 3, "lif", parameters={"v_bias_mV": 20.0}),))
    sim = TorchSimulation(net, 600, 0.1, device="cpu")
    sim.run()
    spikes = sim.activity().spikes["pop"]
    # v relaxes from -65 towards -45 mV (tau 20 ms) and crosses -50 mV after 20 ln 4 = 27.7 ms;
    # after a spike it is reset to -65 mV and held for the 2 ms refractory period
    crossing_ms = 20 * np.log(4)
    assert np.bincount(spikes.neuron).tolist() == [2, 2, 2]
    first, second = np.unique(spikes.step)
    assert abs(first * 0.1 - crossing_ms) <= 0.2
    assert abs((second - first) * 0.1 - (crossing_ms + 2.0)) <= 0.2


def test_torch_propagation_sums_weights_through_delays() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    n_syn, n_steps = 200, 8
    i, j = rng.integers(0, 6, n_syn), rng.integers(0, 5, n_syn)
    w, delay = rng.uniform(0.1, 1.0, n_syn), rng.integers(0, 5, n_syn).astype(float)
    pop = Population("b", 5, "cuba_lif", parameters={"v_th_mV": 1e9})
    net = Network(
        (pop,),
        (Projection("src", "b", i, j, w, delay_ms=delay),),
        (SpikeTimesInput("src", 6, np.arange(6), np.zeros(6)),),
    )
    sim = TorchSimulation(net, n_steps, 1.0, device="cpu")
    sim.run()
    decay = np.exp(-1.0 / 5.0)  # tau_e = 5 ms, one factor per step after delivery
    expected = np.zeros(5)
    np.add.at(expected, j, w * decay ** (n_steps - 1 - delay))
    got = sim.pops["b"]["state"]["ge"].numpy()
    assert np.allclose(got, expected, rtol=1e-5)
    events = count_gpu_events(net, sim.activity())["synaptic_event"]
    assert events == n_syn  # every input spike delivered before the end of the run


def test_torch_runs_every_measurable_model_and_poisson_input() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    pops = tuple(Population(m, 30, m) for m in ("lif", "cuba_lif", "coba_lif"))
    noise = PoissonInput("noise", 40, 800.0)
    projections = tuple(
        Projection(
            "noise",
            p.name,
            rng.integers(0, 40, 300),
            rng.integers(0, 30, 300),
            0.3 if p.name == "coba_lif" else 6.0,
            delay_ms=rng.uniform(0, 3, 300),
        )
        for p in pops
    )
    net = Network(pops, projections, (noise,))
    sim = TorchSimulation(net, 300, 0.1, device="cpu", seed=3)
    sim.run()
    act = sim.activity()
    assert len(act.spikes["noise"]) > 0
    assert all(len(act.spikes[p.name]) > 0 for p in pops)
    with pytest.raises(NeuroEmuError, match="measured mode runs lif, cuba_lif, coba_lif"):
        TorchSimulation(Network((Population("x", 2, "adex"),)), 5, 0.1, device="cpu")


class WallCounter:
    """A board drawing a constant 75 W, read against the real clock."""

    def energy_mj(self) -> float:
        import time

        return 75.0 * time.perf_counter() * 1e3

    def describe(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        pass


def test_measure_runs_the_cpu_simulation_end_to_end() -> None:
    pytest.importorskip("torch")
    net, act = lif_chain(1.0)
    sim = TorchSimulation(net, act.n_steps, act.dt_ms, device="cpu", input_spikes=act.spikes)
    report = measure_gpu(
        net,
        act,
        load_gpu("h200"),
        counter=WallCounter(),
        simulation=sim,
        idle_s=0.02,
        min_window_s=0.02,
        n_windows=2,
    )
    assert report.power_w == pytest.approx(75.0, rel=0.05)
    assert abs(report.dynamic_pj["measured_above_idle"]) < 0.05 * report.total_pj
    assert report.counts["synaptic_event"] == 1


# ---- on a real GPU -------------------------------------------------------------------------


@pytest.mark.gpu
def test_measure_on_a_real_gpu() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("pynvml")
    try:
        counter = NvmlCounter(0)
    except NoGpuError as exc:
        pytest.skip(str(exc))
    if not torch.cuda.is_available():
        counter.close()
        pytest.skip("PyTorch sees no CUDA device")
    rng = np.random.default_rng(0)
    pops = (Population("exc", 4000, "cuba_lif", initial={"v_mV": -60 + 10 * rng.random(4000)}),)
    i, j = rng.integers(0, 4000, 80_000), rng.integers(0, 4000, 80_000)
    net = Network(pops, (Projection("exc", "exc", i, j, 1.62, delay_ms=1.0),))
    try:
        report = measure_gpu(
            net,
            100.0,
            load_gpu("h200"),
            dt_ms=0.1,
            counter=counter,
            idle_s=3.0,
            min_window_s=2.0,
            n_windows=2,
        )
    finally:
        counter.close()
    assert report.method == "measured" and report.time_s > 0
    assert 5.0 < report.power_w < 1000.0
    assert report.counts["synaptic_event"] > 0


# ---- benchmarks/gpu_calibrate.py (its arithmetic and its refusal without a GPU) ------------


def calibrate_module() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_calibrate.py"
    spec = importlib.util.spec_from_file_location("gpu_calibrate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_calibration_turns_windows_into_constants_and_a_valid_descriptor() -> None:
    cal = calibrate_module()
    base = load_gpu("h200")
    idle_w = 100.0
    windows = {  # (energy_j, time_s, work): each 10 s long, so 1000 J of it is idle
        "gemm_fp32": (1000 + 400.0, 10.0, 4e14),  # 1 pJ/FLOP, 40 TFLOP/s
        "gemm_bf16": (1000 + 200.0, 10.0, 4e15),  # 0.05 pJ/FLOP
        "copy": (1000 + 600.0, 10.0, 3e13),  # 20 pJ/B, 3 TB/s
        "launch": (1000 + 20.0, 10.0, 4e6),  # 5 uJ and 2.5 us per launch
        "atomic": (1000 + 300.0 + 2e12 * 12 * 20e-12, 10.0, 2e12),  # 150 pJ + its operands
        "host_copy": (1000.0, 10.0, 1e6),  # 10 us per copy
    }
    constants = cal.fit_constants(idle_w, windows, base)
    expected = {
        "power.idle_ctx_power_w": 100.0,
        "energy.per_op_pj.fp32": 1.0,
        "timing.compute_fraction": 40 / 66.9,
        "energy.per_op_pj.bf16_tensor": 0.05,
        "energy.per_dram_byte_pj": 20.0,
        "timing.memory_fraction": 3000 / 4800,
        "energy.per_launch_nj": 5000.0,
        "timing.launch_latency_us": 2.5,
        "energy.per_atomic_pj": 150.0,
        "timing.atomic_throughput_gops": 200.0,
        "timing.host_copy_latency_us": 10.0,
    }
    assert constants == pytest.approx(expected)
    text = cal.write_descriptor(base, constants, "h200-measured", "test run")
    measured = load_gpu_text(text)
    assert measured.name == "h200-measured" and measured.sources["calibration"] == "test run"
    assert measured.energy.per_atomic_pj.require() == 150.0
    assert measured.energy.per_atomic_pj.source == "calibration"
    assert measured.memory.bandwidth_gb_s.require() == 4800  # the rest comes from the base


def load_gpu_text(text: str) -> GpuSpec:
    return parse_gpu(text, "measured.yaml")


def test_calibration_measure_repeats_until_the_window_is_full() -> None:
    cal = calibrate_module()
    bench = Bench(idle_w=0.0, run_w=200.0, run_s=0.25)

    def body() -> float:
        bench.run()
        return 10.0

    energy_j, time_s, work = cal.measure(bench, body, bench.synchronize, 1.0, clock=bench.clock)
    assert (energy_j, time_s, work) == pytest.approx((200.0, 1.0, 40.0))


def test_calibration_without_a_gpu_exits_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    cal = calibrate_module()

    def no_gpu(index: int) -> None:
        raise NoGpuError("no NVML energy counter on GPU 0: NVML Shared Library Not Found")

    monkeypatch.setattr(cal, "NvmlCounter", no_gpu)
    assert cal.main(["--base", "h200"]) == 2
    assert "Run it on a machine with an NVIDIA GPU" in capsys.readouterr().err
