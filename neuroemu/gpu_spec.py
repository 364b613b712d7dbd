"""GPU descriptors: :class:`GpuSpec` and :func:`load_gpu` (``chips/gpu/NAME.yaml``).

Same rules as chip descriptors (:mod:`neuroemu.descriptor`): every number has a source or says it
is an estimate; constants that only a measurement can give (per-op, per-byte, per-launch,
per-atomic energies, achievable fractions) are marked ``estimated: true`` with a note until
``benchmarks/gpu_calibrate.py`` replaces them with measured values.

These constants feed the roofline time model and the energy model of :mod:`neuroemu.gpu`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from .chip import data_dir, resolve_descriptor
from .descriptor import (
    Count,
    FractionQuantity,
    Identity,
    NonNegative,
    Positive,
    StrictModel,
    parse_yaml,
    read_text,
    validate_document,
)
from .errors import DescriptorError

PRECISIONS = ("fp64", "fp32", "fp16", "bf16", "fp16_tensor", "bf16_tensor", "int8_tensor")


class Compute(StrictModel):
    """Peak dense throughput per precision, in TFLOP/s (TOP/s for int8)."""

    peak_tflops: dict[Literal[PRECISIONS], Positive] = Field(min_length=1)  # type: ignore[valid-type]
    sm_count: Count | None = None

    @model_validator(mode="after")
    def _fp32_present(self) -> Compute:
        if "fp32" not in self.peak_tflops:
            raise ValueError("peak_tflops needs at least 'fp32' (the neuron updates run in fp32)")
        return self


class Memory(StrictModel):
    """Device memory: size, DRAM bandwidth and last-level cache."""

    size_gb: Positive
    bandwidth_gb_s: Positive
    l2_mb: Positive


class Power(StrictModel):
    """Board power figures in W: the limit, bare idle and idle with a CUDA context open."""

    board_power_w: Positive
    idle_power_w: NonNegative
    idle_ctx_power_w: NonNegative
    host_power_w: NonNegative | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Power:
        limit = self.board_power_w.value
        for name in ("idle_power_w", "idle_ctx_power_w"):
            power = getattr(self, name)
            if power.value is not None and power.value >= limit:
                raise ValueError(f"{name} = {power.value} W is not below board_power_w = {limit} W")
        return self


class GpuEnergy(StrictModel):
    """Dynamic energy constants above idle-with-context power."""

    per_op_pj: dict[Literal[PRECISIONS], NonNegative] = Field(min_length=1)  # type: ignore[valid-type]
    per_dram_byte_pj: NonNegative
    per_atomic_pj: NonNegative
    per_launch_nj: NonNegative


class GpuTiming(StrictModel):
    """Achievable fractions of the peaks and the fixed per-kernel and per-step costs."""

    compute_fraction: FractionQuantity
    memory_fraction: FractionQuantity
    launch_latency_us: Positive
    sync_us: NonNegative
    host_copy_gb_s: Positive
    atomic_throughput_gops: Positive


class GpuSpec(StrictModel):
    """A GPU as read from its descriptor file (board scope, as NVML measures it)."""

    format_version: Literal[1]
    kind: Literal["gpu"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str | None = None
    sources: dict[str, str] = Field(min_length=1)
    identity: Identity
    compute: Compute
    memory: Memory
    power: Power
    energy: GpuEnergy
    timing: GpuTiming
    path: str = ""
    text: str = ""


def bundled_gpu_dir() -> Path:
    """Folder of the GPU descriptors shipped with neuroemu."""
    return data_dir("chips") / "gpu"


def bundled_gpu_names() -> list[str]:
    return sorted(p.stem for p in bundled_gpu_dir().glob("*.yaml"))


def parse_gpu(text: str, path: str = "<string>") -> GpuSpec:
    """Validate GPU descriptor text and return the :class:`GpuSpec`."""
    data, lines = parse_yaml(text, path)
    if isinstance(data, dict):
        for reserved in ("path", "text"):
            if reserved in data:
                raise DescriptorError(path, lines.get((reserved,)), reserved, "unknown key")
        data = {**data, "path": path, "text": text}
    return validate_document(GpuSpec, data, lines, path, kind="gpu")


def load_gpu(name_or_path: str | Path) -> GpuSpec:
    """Load a GPU descriptor by bundled name (``h100``) or by path."""
    path = resolve_descriptor(name_or_path, bundled_gpu_dir(), "GPU")
    return parse_gpu(read_text(path), str(path))
