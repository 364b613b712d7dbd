"""GPU descriptors: :class:`GpuSpec` and :func:`load_gpu` (``chips/gpu/NAME.yaml``).

Same rules as chip descriptors (:mod:`neuroemu.spec.descriptor`): every number has a source or says
it is an estimate; constants that only a measurement can give (per-op, per-byte, per-launch,
per-atomic energies, achievable fractions) are marked ``estimated: true`` with a note until
``benchmarks/gpu_calibrate.py`` replaces them with measured values.

These constants feed the roofline time model and the energy model of :mod:`neuroemu.gpu.model`. A
constant fitted to a published measurement (the RTX 2070's, to SNABSuite's GeNN runs) names that
source and says "fitted" in its note. ``nvml_energy_counter: false`` marks boards NVML cannot
measure (Jetson), which :func:`neuroemu.gpu.measure.measure_gpu` then refuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from neuroemu.errors import NeuroEmuError
from neuroemu.resources import BUNDLES, bundled_names, data_dir
from neuroemu.spec.chip import resolve_descriptor
from neuroemu.spec.descriptor import (
    Bound,
    Count,
    FractionQuantity,
    Identity,
    NonNegative,
    Positive,
    StrictModel,
    at_range_end,
    parse_descriptor,
    read_text,
)

# Fields whose larger values make a GPU faster (so a shorter run and less energy).
_RATE_SUFFIXES = ("_tflops", "_gb_s", "_gops", "_fraction")

PRECISIONS = ("fp64", "fp32", "fp16", "bf16", "fp16_tensor", "bf16_tensor", "int8_tensor")
# Bytes of one value stored in each precision (weights and activations of the dense style).
PRECISION_BYTES = dict(zip(PRECISIONS, (8, 4, 2, 2, 2, 2, 1), strict=True))


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
    """Device memory: size, DRAM bandwidth and the last-level (L2) cache.

    ``l2_bandwidth_gb_s`` is the rate at which data resident in L2 can be re-read; the dense style
    reads its weight matrices at that rate when they fit in L2.
    """

    technology: str | None = None
    size_gb: Positive
    bandwidth_gb_s: Positive
    l2_mb: Positive
    l2_bandwidth_gb_s: Positive


class Power(StrictModel):
    """Board power figures in W: the limit, bare idle and idle with a CUDA context open."""

    board_power_w: Positive
    idle_power_w: NonNegative
    idle_ctx_power_w: NonNegative
    host_power_w: NonNegative | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Power:
        limit = self.board_power_w.value
        if limit is None:  # read without require(): validation runs before fields are located
            raise ValueError(
                "board_power_w is marked unknown: expected a value (the power cap of the "
                "energy model needs it)"
            )
        for name in ("idle_power_w", "idle_ctx_power_w"):
            power = getattr(self, name)
            if power.value is not None and power.value >= limit:
                raise ValueError(f"{name} = {power.value} W is not below board_power_w = {limit} W")
        bare, ctx = self.idle_power_w.value, self.idle_ctx_power_w.value
        if bare is not None and ctx is not None and ctx < bare:
            raise ValueError(
                f"idle_ctx_power_w = {ctx} W is below idle_power_w = {bare} W: opening a CUDA "
                f"context never lowers idle power (expected idle_ctx_power_w >= idle_power_w)"
            )
        return self


class GpuEnergy(StrictModel):
    """Dynamic energy constants, charged on top of idle-with-context power x time.

    ``per_op_pj`` per arithmetic operation (per precision), ``per_dram_byte_pj`` per byte moved to
    or from device memory, ``per_l2_byte_pj`` per byte re-read from L2, ``per_atomic_pj`` per
    global atomic add (beyond its bytes), ``per_launch_nj`` per kernel launch or copy command.
    """

    per_op_pj: dict[Literal[PRECISIONS], NonNegative] = Field(min_length=1)  # type: ignore[valid-type]
    per_dram_byte_pj: NonNegative
    per_l2_byte_pj: NonNegative
    per_atomic_pj: NonNegative
    per_launch_nj: NonNegative

    @model_validator(mode="after")
    def _fp32_priced(self) -> GpuEnergy:
        if "fp32" not in self.per_op_pj:
            raise ValueError("per_op_pj needs at least 'fp32' (the neuron updates run in fp32)")
        return self


class GpuTiming(StrictModel):
    """Achievable fractions of the peaks and the fixed per-kernel and per-step costs.

    ``launch_latency_us`` is the shortest time a kernel occupies the stream when kernels are
    queued back to back (the floor of every kernel); ``sync_us`` the host waiting for the stream
    to drain; ``host_copy_latency_us`` and ``host_copy_gb_s`` the fixed cost and rate of a small
    device-to-host copy; ``atomic_throughput_gops`` the rate of scattered global atomic adds.

    ``row_latency_us`` (optional) is the serial cost of one synaptic row walked by the
    event-driven synapse kernel, per (spike, projection, delay slot): GeNN-like kernels spread a
    spike's row over threads but take the spikes of a step one after another, each paying a
    dependent load of the row's start and length before its atomics. Absent, it is zero (the
    model as it was before the term existed).
    """

    compute_fraction: FractionQuantity
    memory_fraction: FractionQuantity
    launch_latency_us: Positive
    sync_us: NonNegative
    host_copy_latency_us: NonNegative
    host_copy_gb_s: Positive
    atomic_throughput_gops: Positive
    row_latency_us: NonNegative | None = None

    def row_latency_s(self) -> float:
        """``row_latency_us`` in seconds, zero where the descriptor does not give it."""
        return 0.0 if self.row_latency_us is None else self.row_latency_us.require() * 1e-6


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
    nvml_energy_counter: bool = True
    path: str = ""
    text: str = ""

    @model_validator(mode="after")
    def _priced_precisions(self) -> GpuSpec:
        missing = sorted(set(self.energy.per_op_pj) - set(self.compute.peak_tflops))
        if missing:
            raise ValueError(
                f"energy.per_op_pj prices {missing} but compute.peak_tflops has no peak for them"
            )
        return self

    def peak_ops(self, precision: str) -> float:
        """Peak dense throughput at ``precision`` in operations per second."""
        self.check_precision(precision)
        return self.compute.peak_tflops[precision].require() * 1e12

    def op_energy_pj(self, precision: str) -> float:
        """Energy of one arithmetic operation at ``precision`` in pJ."""
        self.check_precision(precision)
        return self.energy.per_op_pj[precision].require()

    def host_power_w(self) -> float:
        """Power of the host beside the board (wall scope), in W.

        Raises
        ------
        NeuroEmuError
            When the descriptor gives none (an optional field): wall scope cannot be priced.
        """
        if self.power.host_power_w is None:
            raise NeuroEmuError(
                f"gpu {self.name!r} gives no power.host_power_w, which wall scope needs"
            )
        return self.power.host_power_w.require()

    def at_bound(self, bound: Bound) -> GpuSpec:
        """This GPU with every ranged constant at the end that gives the ``bound`` of energy and
        time: ``'high'`` takes high powers, energies and latencies but low rates, bandwidths
        and achievable fractions (a slower GPU runs longer at idle power); ``'low'`` the
        opposite; ``'value'`` is the descriptor as written."""
        if bound == "value":
            return self

        def pick(loc: tuple[str | int, ...]) -> str:
            rate = any(isinstance(part, str) and part.endswith(_RATE_SUFFIXES) for part in loc)
            return ("low" if bound == "high" else "high") if rate else bound

        return at_range_end(self, pick)

    def precisions(self) -> list[str]:
        """Precisions the descriptor gives both a peak and an energy for."""
        return [
            p for p in PRECISIONS if p in self.compute.peak_tflops and p in self.energy.per_op_pj
        ]

    def check_precision(self, precision: str) -> None:
        """Raise a clear error when ``precision`` has no peak or no energy in this descriptor."""
        if precision not in self.precisions():
            raise NeuroEmuError(
                f"gpu {self.name!r} has no peak and energy for {precision!r}; expected one of "
                f"{', '.join(self.precisions())}"
            )

    def achievable_rates(self, precision: str = "fp32") -> dict[str, float]:
        """Sustained rates the roofline uses: ops/s, DRAM and L2 bytes/s, atomics/s.

        Peaks times the achievable fractions (``timing.compute_fraction`` for ops,
        ``timing.memory_fraction`` for both memory levels); atomics at their own throughput.
        """
        memory = self.timing.memory_fraction.require() * 1e9
        return {
            "compute": self.timing.compute_fraction.require() * self.peak_ops(precision),
            "dram": memory * self.memory.bandwidth_gb_s.require(),
            "l2": memory * self.memory.l2_bandwidth_gb_s.require(),
            "atomic": self.timing.atomic_throughput_gops.require() * 1e9,
        }


def bundled_gpu_dir() -> Path:
    """Folder of the GPU descriptors shipped with neuroemu."""
    return data_dir(BUNDLES["gpu"].folder)


def bundled_gpu_names() -> list[str]:
    """Names of the bundled GPU descriptors (file stems)."""
    return bundled_names("gpu")


def parse_gpu(text: str, path: str = "<string>") -> GpuSpec:
    """Validate GPU descriptor text and return the :class:`GpuSpec`."""
    return parse_descriptor(GpuSpec, text, path, kind="gpu")


def load_gpu(name_or_path: str | Path) -> GpuSpec:
    """Load a GPU descriptor by bundled name (``h100``) or by path."""
    path = resolve_descriptor(name_or_path, "gpu")
    return parse_gpu(read_text(path), str(path))
