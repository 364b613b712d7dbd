"""NVML's board energy counter: the only module that imports ``pynvml`` (extra ``gpu``).

:class:`NvmlCounter` reads ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver loaded,
Volta or newer) and describes the board's clocks and power limit; it reads, never changes them.
:class:`EnergyCounter` is what :func:`neuroemu.gpu.measure.measure_gpu` needs of a counter, so
tests can pass a fake.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from neuroemu.errors import NoGpuError


class EnergyCounter(Protocol):
    """A cumulative board energy counter."""

    def energy_mj(self) -> float: ...
    def describe(self) -> dict[str, str]: ...
    def close(self) -> None: ...


class NvmlCounter:
    """NVML's total-energy counter (mJ since the driver loaded; Volta or newer) of GPU ``index``
    as ``nvidia-smi`` numbers them. ``nvml`` is the ``pynvml`` module (a fake in tests)."""

    def __init__(self, index: int = 0, nvml: Any = None) -> None:
        if nvml is None:
            try:
                import pynvml
            except ImportError:
                raise NoGpuError(
                    "measuring needs NVML: pip install 'neuroemu[gpu]' (package nvidia-ml-py)"
                ) from None
            nvml = pynvml
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
