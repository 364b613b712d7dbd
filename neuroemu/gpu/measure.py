"""The same network on a GPU, measured: NVML's energy counter around a PyTorch run of it.

:func:`measure_gpu` runs the network with :class:`TorchSimulation` (event-driven, LIF family) and
reads ``nvmlDeviceGetTotalEnergyConsumption`` around it (reference ``shared/reference/gpus.md``
A4): the counter updates every 20-100 ms, so the run is repeated until a window lasts several
seconds; the device is synchronised before every read; idle power is measured with the CUDA
context open (a context alone raises idle power by tens of watts); clocks and the power limit are
read, never changed. Both ends are injectable (``counter``, ``simulation``, ``clock``, ``sleep``)
so tests run without a GPU; ``torch`` and ``pynvml`` (extra ``gpu``) are imported lazily.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from neuroemu.activity import Activity, Spikes
from neuroemu.errors import NeuroEmuError
from neuroemu.gpu.model import count_gpu_events
from neuroemu.network.network import Network, PoissonInput
from neuroemu.network.neuron_models import split_unit
from neuroemu.report import EnergyReport
from neuroemu.spec.gpu import GpuSpec
from neuroemu.timesteps import delay_steps, n_steps_for

MEASURABLE_MODELS = ("lif", "cuba_lif", "coba_lif")
_UNIT_TO_MV = {"mV": 1.0, "V": 1e3, "1": 1.0}


class NoGpuError(NeuroEmuError):
    """No usable NVIDIA GPU, driver, NVML energy counter or CUDA-enabled PyTorch here."""


class EnergyCounter(Protocol):
    """A cumulative board energy counter."""

    def energy_mj(self) -> float: ...
    def describe(self) -> dict[str, str]: ...
    def close(self) -> None: ...


class Simulation(Protocol):
    """A network that can be run again and again on the device."""

    def run(self) -> None: ...
    def synchronize(self) -> None: ...
    def activity(self) -> Activity: ...


class NvmlCounter:
    """NVML's total-energy counter (mJ since the driver loaded; Volta or newer) of GPU ``index``
    as ``nvidia-smi`` numbers them. ``nvml`` is the ``pynvml`` module (a fake in tests)."""

    def __init__(self, index: int = 0, nvml: Any = None) -> None:
        if nvml is None:
            try:
                import pynvml as nvml
            except ImportError:
                raise NoGpuError(
                    "measuring needs NVML: pip install 'neuroemu[gpu]' (package nvidia-ml-py)"
                ) from None
        self.nvml = nvml
        try:
            nvml.nvmlInit()
            self.handle = nvml.nvmlDeviceGetHandleByIndex(index)
            nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle)
        except nvml.NVMLError as exc:
            with contextlib.suppress(nvml.NVMLError):
                nvml.nvmlShutdown()
            raise NoGpuError(f"no NVML energy counter on GPU {index}: {exc}") from None

    def energy_mj(self) -> float:
        return float(self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))

    def describe(self) -> dict[str, str]:
        """Name, driver, clocks and power limit, as read (nothing is changed)."""
        nvml, h = self.nvml, self.handle
        reads = {
            "name": lambda: nvml.nvmlDeviceGetName(h),
            "driver": lambda: nvml.nvmlSystemGetDriverVersion(),
            "sm_clock_mhz": lambda: nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_SM),
            "memory_clock_mhz": lambda: nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_MEM),
            "power_limit_w": lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0,
            "performance_state": lambda: f"P{nvml.nvmlDeviceGetPerformanceState(h)}",
        }
        out = {}
        for key, read in reads.items():
            try:
                value = read()
                out[key] = value.decode() if isinstance(value, bytes) else str(value)
            except nvml.NVMLError:
                out[key] = "unavailable"
        return out

    def close(self) -> None:
        self.nvml.nvmlShutdown()


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise NoGpuError("measuring runs the network in PyTorch: install torch") from None
    return torch


class TorchSimulation:
    """An event-driven PyTorch simulation of a LIF-family network built from the same Network.

    Per step, in Brian2's order: integrate (``lif`` exactly, ``cuba_lif`` and ``coba_lif`` by
    forward Euler; ``v`` frozen while refractory), threshold, propagate (CSR rows of the neurons
    and inputs that spiked, ``index_add_`` into ring-buffer slot ``(t + delay) % depth`` of the
    target variable), apply this step's slot, reset. Inputs replay ``input_spikes`` (the recorded
    input of an Activity) or are drawn on the device.
    """

    def __init__(
        self,
        network: Network,
        n_steps: int,
        dt_ms: float,
        device: str = "cuda",
        seed: int = 0,
        input_spikes: dict[str, Spikes] | None = None,
        record_spikes: bool = False,
    ) -> None:
        self.torch = torch = _import_torch()
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise NoGpuError("PyTorch sees no CUDA device")
        self.network, self.n_steps, self.dt_ms = network, n_steps, dt_ms
        self.device, self.record = torch.device(device), record_spikes
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.pops = {p.name: self._population(p) for p in network.populations}
        replay = input_spikes or {}
        self.inputs = {s.name: self._input(s, replay.get(s.name)) for s in network.inputs}
        self.buffers: dict[tuple[str, str], Any] = {}
        self.projections = [self._projection(p) for p in network.projections]
        self.recorded: dict[str, list] = {}

    def _dev(self, array: np.ndarray, dtype: Any) -> Any:
        return self.torch.tensor(np.ascontiguousarray(array), dtype=dtype, device=self.device)

    def _population(self, pop: Any) -> dict[str, Any]:
        model = pop.neuron_model
        if model.name not in MEASURABLE_MODELS:
            raise NeuroEmuError(
                f"population {pop.name!r}: measured mode runs {', '.join(MEASURABLE_MODELS)}, "
                f"not {model.name!r}"
            )
        par = {split_unit(k)[0]: float(v) for k, v in model.parameters.items()}
        rest = par.get("v_rest", par.get("E_l", par["v_reset"]))
        initial = {"v": np.full(pop.size, rest)}
        initial |= {var: np.zeros(pop.size) for var in ("ge", "gi") if var in model.state_units}
        for name, value in pop.initial.items():
            base, unit = split_unit(name)
            if unit not in _UNIT_TO_MV:
                raise NeuroEmuError(f"population {pop.name!r}: initial {name!r}: unit not handled")
            initial[base] = np.broadcast_to(np.asarray(value, float) * _UNIT_TO_MV[unit], pop.size)
        tensors = {k: self._dev(v, self.torch.float32) for k, v in initial.items()}
        ref_steps = round(par.get("refractory", 0.0) / self.dt_ms)
        return {"model": model.name, "par": par, "initial": tensors, "ref_steps": ref_steps}

    def _input(self, source: Any, replay: Spikes | None) -> dict[str, Any]:
        t = self.torch
        if replay is None and isinstance(source, PoissonInput):
            p = np.broadcast_to(np.asarray(source.rate_hz, float) * self.dt_ms * 1e-3, source.size)
            return {"p": t.tensor(p, dtype=t.float32, device=self.device)}
        if replay is None:
            step = delay_steps(source.times_ms, self.dt_ms)
            replay = Spikes(source.indices[step < self.n_steps], step[step < self.n_steps])
        order = np.argsort(replay.step, kind="stable")
        indptr = np.searchsorted(replay.step[order], np.arange(self.n_steps + 1))
        neurons = t.tensor(replay.neuron[order].astype(np.int64), device=self.device)
        return {"indptr": indptr, "neurons": neurons}

    def _projection(self, proj: Any) -> dict[str, Any]:
        t, post = self.torch, self.pops[proj.post]
        size = {g.name: g.size for g in (*self.network.populations, *self.network.inputs)}[proj.pre]
        var = "v" if post["model"] == "lif" else ("ge" if proj.target == "exc" else "gi")
        sign = -1.0 if post["model"] == "lif" and proj.target == "inh" else 1.0
        delays = np.broadcast_to(delay_steps(proj.delay_ms, self.dt_ms), proj.i.shape)
        key = (proj.post, var)
        depth = max(int(delays.max(initial=0)) + 1, self.buffers.get(key, (0, None))[0])
        self.buffers[key] = (depth, None)
        order = np.argsort(proj.i, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(proj.i, minlength=size))])
        return {
            "pre": proj.pre,
            "key": key,
            "indptr": self._dev(indptr, t.int64),
            "post": self._dev(proj.j[order], t.int64),
            "delay": self._dev(delays[order], t.int64),
            "weight": self._dev(sign * proj.weight[order], t.float32),
        }

    def _reset(self) -> None:
        t = self.torch
        for pop in self.pops.values():
            pop["state"] = {k: v.clone() for k, v in pop["initial"].items()}
            pop["ref"] = t.zeros(len(pop["initial"]["v"]), dtype=t.int32, device=self.device)
        for key, (depth, _) in list(self.buffers.items()):
            n_post = len(self.pops[key[0]]["initial"]["v"])
            self.buffers[key] = (depth, t.zeros((depth, n_post), device=self.device))
        self.recorded = {name: [] for name in (*self.pops, *self.inputs)}

    def _integrate(self, pop: dict[str, Any]) -> Any:
        """Advance one population by one step; return the boolean spike mask."""
        t, s, p, dt = self.torch, pop["state"], pop["par"], self.dt_ms
        pop["ref"] = (pop["ref"] - 1).clamp_(min=0)
        active = pop["ref"] == 0
        v = s["v"]
        if pop["model"] == "lif":
            v_inf = p["v_rest"] + p["v_bias"]
            new_v = v_inf + (v - v_inf) * float(np.exp(-dt / p["tau_m"]))
        elif pop["model"] == "cuba_lif":
            new_v = v + dt * (p["v_rest"] - v + s["ge"] - s["gi"]) / p["tau_m"]
        else:
            drive = s["ge"] * (p["E_e"] - v) + s["gi"] * (p["E_i"] - v) - (v - p["E_l"])
            new_v = v + dt * drive / p["tau_m"]
        if "ge" in s:
            euler = pop["model"] == "coba_lif"
            for var, tau in (("ge", p["tau_e"]), ("gi", p["tau_i"])):
                s[var] = s[var] * ((1 - dt / tau) if euler else float(np.exp(-dt / tau)))
        s["v"] = t.where(active, new_v, v)
        return (s["v"] > p["v_th"]) & active

    def _step(self, step: int) -> None:
        t = self.torch
        fired, spiked = {}, {}
        for name, pop in self.pops.items():
            fired[name] = self._integrate(pop)
            spiked[name] = t.nonzero(fired[name]).flatten()
        for name, src in self.inputs.items():
            if "p" in src:
                draw = t.rand(len(src["p"]), generator=self.generator, device=self.device)
                spiked[name] = t.nonzero(draw < src["p"]).flatten()
            else:
                spiked[name] = src["neurons"][src["indptr"][step] : src["indptr"][step + 1]]
        for proj in self.projections:
            if len(spiked[proj["pre"]]):
                self._propagate(proj, spiked[proj["pre"]], step)
        for (post, var), (depth, buffer) in self.buffers.items():
            state = self.pops[post]["state"]
            state[var] = state[var] + buffer[step % depth]
            buffer[step % depth].zero_()
        for name, pop in self.pops.items():
            pop["state"]["v"] = t.where(fired[name], pop["par"]["v_reset"], pop["state"]["v"])
            pop["ref"] = t.where(fired[name], pop["ref_steps"], pop["ref"])
        for name, index in spiked.items():
            self.recorded[name].append((index.cpu() if self.record else index, step))

    def _propagate(self, proj: dict[str, Any], index: Any, step: int) -> None:
        t = self.torch
        starts, counts = proj["indptr"][index], proj["indptr"][index + 1] - proj["indptr"][index]
        total = int(counts.sum())
        if total == 0:
            return
        # position k of the gathered rows belongs to spike owner[k] (no repeat_interleave: slow)
        ends, position = t.cumsum(counts, 0), t.arange(total, device=self.device)
        owner = t.searchsorted(ends, position, right=True)
        synapse = starts[owner] + position - (ends - counts)[owner]
        depth, buffer = self.buffers[proj["key"]]
        slot = (step + proj["delay"][synapse]) % depth
        flat = slot * buffer.shape[1] + proj["post"][synapse]
        buffer.view(-1).index_add_(0, flat, proj["weight"][synapse])

    def run(self) -> None:
        """One full run from the initial state (asynchronous on a GPU: call synchronize())."""
        self._reset()
        for step in range(self.n_steps):
            self._step(step)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def activity(self) -> Activity:
        """The spikes of the last run (copied to the host now if they were not each step)."""
        spikes = {}
        for name, steps in self.recorded.items():
            neuron = [np.asarray(i.cpu()) for i, _ in steps]
            step = [np.full(len(i), s) for i, s in zip(neuron, (s for _, s in steps), strict=True)]
            spikes[name] = Spikes(
                np.concatenate(neuron or [np.zeros(0)]), np.concatenate(step or [np.zeros(0)])
            )
        device = f"torch-{self.device}"
        return Activity(self.dt_ms, self.n_steps, spikes, seed=0, device=device)


def measure_gpu(
    network: Network,
    activity_or_duration: Activity | float,
    gpu: GpuSpec,
    *,
    dt_ms: float | None = None,
    device_index: int = 0,
    seed: int = 0,
    idle_s: float = 10.0,
    min_window_s: float = 5.0,
    n_windows: int = 3,
    record_spikes: bool = False,
    counter: EnergyCounter | None = None,
    simulation: Simulation | None = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> EnergyReport:
    """Measure the board energy and time of running ``network`` on a real NVIDIA GPU.

    Parameters
    ----------
    network : Network
        LIF-family populations only (see :class:`TorchSimulation`).
    activity_or_duration : Activity or float
        An Activity (its ``dt_ms``, ``n_steps`` and input spikes are replayed; its events are the
        counts) or a duration in ms (then ``dt_ms`` is needed and inputs are drawn on the GPU).
    gpu : GpuSpec
        The descriptor of the GPU measured (it names the report; Jetson has no counter).
    idle_s, min_window_s, n_windows : float, float, int
        Seconds of idle-with-context baseline; runs are repeated until a window lasts
        ``min_window_s``, and the medians of ``n_windows`` windows are reported.
    record_spikes : bool
        Copy each step's spikes to the host, as the model's ``record_spikes`` does.

    Returns
    -------
    EnergyReport
        ``method="measured"``, ``scope="board"``; ``static_pj`` = measured idle-with-context
        power x time per run, ``dynamic_pj["measured_above_idle"]`` the rest of a run's energy.
    """
    if not gpu.nvml_energy_counter:
        raise NoGpuError(f"gpu {gpu.name!r} has no NVML energy counter; measure it at the wall")
    if isinstance(activity_or_duration, Activity):
        given: Activity | None = activity_or_duration
        dt, n_steps = given.dt_ms, given.n_steps
        replay = {s.name: given.spikes[s.name] for s in network.inputs if s.name in given.spikes}
    else:
        if dt_ms is None:
            raise NeuroEmuError("measure_gpu with a duration needs dt_ms (the timestep)")
        given, dt, replay = None, dt_ms, {}
        n_steps = n_steps_for(float(activity_or_duration), dt_ms)
    own_counter = counter is None
    counter = counter or NvmlCounter(device_index)
    try:
        if simulation is None:
            simulation = TorchSimulation(
                network, n_steps, dt, f"cuda:{device_index}", seed, replay, record_spikes
            )
        simulation.run()  # warm-up: allocations, kernel caches, clocks up
        simulation.synchronize()
        start_s, start_mj = clock(), counter.energy_mj()
        sleep(idle_s)  # nothing running, the context open
        idle_span, idle_j = clock() - start_s, (counter.energy_mj() - start_mj) * 1e-3
        if idle_span <= 0 or idle_j <= 0:
            raise NeuroEmuError(
                f"the energy counter did not advance over {idle_span:.3g} s of "
                f"idle: expected a longer idle_s (it updates every 20-100 ms)"
            )
        idle_w = idle_j / idle_span
        energies, times, runs = [], [], []
        for _ in range(n_windows):
            simulation.synchronize()
            start_s, start_mj, n_runs = clock(), counter.energy_mj(), 0
            while n_runs == 0 or clock() - start_s < min_window_s:
                simulation.run()
                simulation.synchronize()
                n_runs += 1
            energies.append((counter.energy_mj() - start_mj) * 1e-3 / n_runs)
            times.append((clock() - start_s) / n_runs)
            runs.append(n_runs)
        info = counter.describe()
    finally:
        if own_counter:
            counter.close()
    energy_j, time_s = float(np.median(energies)), float(np.median(times))
    counts = count_gpu_events(network, given if given is not None else simulation.activity())
    notes = (
        f"NVML energy counter, board scope: {n_windows} windows of >= {min_window_s:g} s "
        f"({min(runs)}-{max(runs)} runs each); energy per run {min(energies):.4g}-"
        f"{max(energies):.4g} J across windows",
        f"idle with the CUDA context open: {idle_w:.1f} W over {idle_span:.1f} s (subtracted "
        f"as static energy)",
        "read, not changed: " + ", ".join(f"{k} {v}" for k, v in info.items()),
    )
    return EnergyReport(
        device=gpu.name,
        device_kind="gpu",
        style="event-driven",
        method="measured",
        scope="board",
        simulated_ms=n_steps * dt,
        time_s=time_s,
        static_pj=idle_w * time_s * 1e12,
        dynamic_pj={"measured_above_idle": (energy_j - idle_w * time_s) * 1e12},
        counts=counts,
        notes=notes,
    )
