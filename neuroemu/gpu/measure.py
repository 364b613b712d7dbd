"""The same network on a GPU, measured: NVML's energy counter around a PyTorch run of it.

:func:`measure_gpu` runs the network with :class:`TorchSimulation` (event-driven, LIF family) and
reads ``nvmlDeviceGetTotalEnergyConsumption`` around it (NVML API reference,
docs.nvidia.com/deploy/nvml-api; sources in ``benchmarks/gpu_calibrate.py``): the counter updates
every 20-100 ms (PETSc manual, ``PetscLogGpuEnergyMeter``), so the run is repeated until a window
lasts several seconds; the device is synchronised before every read; idle power is measured with the
CUDA context open (a context alone raises idle power by tens of watts); clocks and the power limit
are read, never changed. Both ends are injectable (``counter``, ``simulation``, ``clock``,
``sleep``) so tests run without a GPU; ``torch`` and ``pynvml`` (extra ``gpu``) are imported lazily.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from neuroemu.activity import Activity
from neuroemu.errors import NeuroEmuError, NoGpuError
from neuroemu.gpu.model import count_gpu_events
from neuroemu.gpu.nvml import EnergyCounter, NvmlCounter
from neuroemu.gpu.torch_sim import MEASURABLE_MODELS, TorchSimulation
from neuroemu.network.network import Network
from neuroemu.report import EnergyReport
from neuroemu.spec.gpu import GpuSpec
from neuroemu.timesteps import whole_steps


class Simulation(Protocol):
    """A network that can be run again and again on the device."""

    def run(self) -> None: ...
    def synchronize(self) -> None: ...
    def activity(self) -> Activity: ...


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
    given: Activity | None
    if isinstance(activity_or_duration, Activity):
        given = activity_or_duration
        dt, n_steps = given.dt_ms, given.n_steps
        replay = {s.name: given.spikes[s.name] for s in network.inputs if s.name in given.spikes}
    else:
        if dt_ms is None:
            raise NeuroEmuError("measure_gpu with a duration needs dt_ms (the timestep)")
        given, dt, replay = None, dt_ms, {}
        n_steps = whole_steps(float(activity_or_duration), dt_ms, "duration_ms")
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


__all__ = [
    "MEASURABLE_MODELS",
    "EnergyCounter",
    "NoGpuError",
    "NvmlCounter",
    "Simulation",
    "TorchSimulation",
    "measure_gpu",
]
