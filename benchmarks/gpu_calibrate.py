"""Measure a GPU descriptor's constants with NVML's energy counter and write a calibrated YAML.

How the counter is read, and why: ``nvmlDeviceGetTotalEnergyConsumption`` gives the board's
energy in mJ since the driver was loaded, on Volta and newer (NVML API reference,
https://docs.nvidia.com/deploy/nvml-api/group__nvmlDeviceQueries.html); it is updated only every
20-100 ms (PETSc manual, https://petsc.org/main/manualpages/Log/PetscLogGpuEnergyMeter), and on
A100 and H100 the power sensor samples about a quarter of the runtime (Yang et al., "Part-time
power measurements: nvidia-smi's lack of attention", arXiv:2312.02741; SC24), so a window must
last seconds and be repeated; the device is synchronised before each read so that the window holds
exactly the work dispatched, as Zeus does (https://github.com/ml-energy/zeus,
``zeus/monitor/energy.py``); idle power is measured with a CUDA context open, which raises it by
tens of watts over bare idle (arXiv:2605.23918, "The Model Parking Tax"). The constants are those
of the GPU model in :mod:`neuroemu.gpu.model`, one window each, in the manner of Arafa et al.'s
NVML-based instruction energies (arXiv:2002.07795).

With a CUDA context open, each window below repeats its body until it lasts ``--window-s``
seconds, synchronising the device before every counter read, three times (``--repeats``); the
median is kept. Energies are what remains after idle-with-context power x time is subtracted,
divided by the work done:

1. idle with the context open (``--idle-s``) -> ``power.idle_ctx_power_w``;
2. large fp32 GEMMs (TF32 off) and bf16 GEMMs -> ``energy.per_op_pj`` and
   ``timing.compute_fraction``;
3. device-to-device copies of 1 GiB -> ``energy.per_dram_byte_pj`` and ``timing.memory_fraction``;
4. 1-element in-place adds, 1,000 per sync -> ``energy.per_launch_nj`` and
   ``timing.launch_latency_us``;
5. ``index_add_`` of 2^26 values at random indices into an L2-sized buffer -> ``energy.
   per_atomic_pj`` (after the bytes of its operands) and ``timing.atomic_throughput_gops``;
6. 4 kB device-to-host copies -> ``timing.host_copy_latency_us``.

Clocks and the power limit are read and recorded, never changed. Everything else of the
descriptor comes from ``--base``. Run on the device machine, for instance::

    python benchmarks/gpu_calibrate.py --base h200 --out chips/gpu/h200-measured.yaml

Without an NVIDIA GPU, driver, NVML (``pip install 'neuroemu[gpu]'``) or CUDA-enabled PyTorch it
says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from neuroemu.gpu.measure import EnergyCounter, NoGpuError, NvmlCounter
from neuroemu.spec.gpu import GpuSpec, load_gpu, parse_gpu

Window = tuple[float, float, float]  # (energy_j, time_s, work) of one measured window


def measure(
    counter: EnergyCounter,
    body: Callable[[], float],
    sync: Callable[[], None],
    window_s: float,
    clock: Callable[[], float] = time.perf_counter,
) -> Window:
    """Repeat ``body`` (which returns the work it did) until ``window_s`` has passed."""
    sync()
    start_s, start_mj, work = clock(), counter.energy_mj(), 0.0
    while work == 0 or clock() - start_s < window_s:
        work += body()
        sync()
    return (counter.energy_mj() - start_mj) * 1e-3, clock() - start_s, work


def fit_constants(idle_w: float, windows: dict[str, Window], base: GpuSpec) -> dict[str, float]:
    """Descriptor fields (dotted) from the idle power and the medians of each benchmark window.

    ``windows`` keys: ``gemm_fp32`` and ``gemm_bf16`` (work in FLOP), ``copy`` (bytes moved),
    ``launch`` (launches), ``atomic`` (atomic adds; each also reads ``ATOMIC_BYTES`` of operands),
    ``host_copy`` (copies).
    """

    def above_idle(name: str) -> float:  # never negative: noise must not price work below zero
        energy_j, time_s, _ = windows[name]
        return max(0.0, energy_j - idle_w * time_s)

    out = {"power.idle_ctx_power_w": idle_w}
    for name, precision in (("gemm_fp32", "fp32"), ("gemm_bf16", "bf16_tensor")):
        if name in windows and precision in base.compute.peak_tflops:
            _, time_s, flops = windows[name]
            out[f"energy.per_op_pj.{precision}"] = above_idle(name) / flops * 1e12
            if precision == "fp32":
                peak = base.peak_ops("fp32")
                out["timing.compute_fraction"] = min(1.0, flops / time_s / peak)
    _, time_s, moved = windows["copy"]
    per_byte_pj = above_idle("copy") / moved * 1e12
    out["energy.per_dram_byte_pj"] = per_byte_pj
    peak_bw = base.memory.bandwidth_gb_s.require() * 1e9
    out["timing.memory_fraction"] = min(1.0, moved / time_s / peak_bw)
    _, time_s, launches = windows["launch"]
    out["energy.per_launch_nj"] = above_idle("launch") / launches * 1e9
    out["timing.launch_latency_us"] = time_s / launches * 1e6
    _, time_s, atomics = windows["atomic"]
    operands_pj = atomics * ATOMIC_BYTES * per_byte_pj
    out["energy.per_atomic_pj"] = max(0.0, (above_idle("atomic") * 1e12 - operands_pj) / atomics)
    out["timing.atomic_throughput_gops"] = atomics / time_s * 1e-9
    _, time_s, copies = windows["host_copy"]
    out["timing.host_copy_latency_us"] = time_s / copies * 1e6
    return out


ATOMIC_BYTES = 12  # an int64 index and an fp32 value read per atomic add


def write_descriptor(base: GpuSpec, constants: dict[str, float], name: str, provenance: str) -> str:
    """The base descriptor's YAML with ``constants`` replaced by measured, sourced values."""
    data: dict[str, Any] = yaml.safe_load(base.text)
    data["name"] = name
    data["sources"]["calibration"] = provenance
    for field, value in constants.items():
        *parents, key = field.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[key] = {
            "value": round(float(value), 4),
            "source": "calibration",
            "note": "measured by benchmarks/gpu_calibrate.py",
        }
    power = data["power"]
    if power["idle_power_w"]["value"] > power["idle_ctx_power_w"]["value"]:
        power["idle_power_w"] = {
            "value": power["idle_ctx_power_w"]["value"],
            "estimated": True,
            "note": "bare idle not measured; lowered to the measured "
            "idle with a context, which cannot be below it",
        }
    text = yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True)
    parse_gpu(text, f"{name}.yaml")  # refuse to write what would not load
    return text


def _benchmarks(torch: Any) -> dict[str, Callable[[], float]]:
    """The bodies of the windows, each returning the work it did."""
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False  # a PyTorch setting, not a GPU one
    n = 8192
    a32, b32 = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    a16, b16 = a32.bfloat16(), b32.bfloat16()
    src, dst = torch.empty(2**28, device=dev), torch.empty(2**28, device=dev)
    one = torch.zeros(1, device=dev)
    target = torch.zeros(2**20, device=dev)  # 4 MB: the adds land in L2
    index = torch.randint(0, 2**20, (2**26,), device=dev)
    values = torch.ones(2**26, device=dev)
    small = torch.zeros(1024, device=dev)

    def gemm(a: Any, b: Any) -> float:
        for _ in range(10):
            torch.mm(a, b)
        return 10 * 2.0 * n**3

    def launches() -> float:
        for _ in range(1000):
            one.add_(1.0)
        return 1000.0

    def atomics() -> float:
        target.index_add_(0, index, values)
        return float(2**26)

    def host_copies() -> float:
        for _ in range(100):
            small.cpu()  # blocking: synchronises and copies 4 kB
        return 100.0

    return {
        "gemm_fp32": lambda: gemm(a32, b32),
        "gemm_bf16": lambda: gemm(a16, b16),
        "copy": lambda: float(dst.copy_(src).numel() * 4 * 2),
        "launch": launches,
        "atomic": atomics,
        "host_copy": host_copies,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="h200", help="bundled GPU name or descriptor path")
    parser.add_argument("--out", type=Path, help="where to write the calibrated YAML")
    parser.add_argument("--index", type=int, default=0, help="GPU index (nvidia-smi numbering)")
    parser.add_argument("--idle-s", type=float, default=60.0)
    parser.add_argument("--window-s", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    base = load_gpu(args.base)
    try:
        counter = NvmlCounter(args.index)
    except NoGpuError as exc:
        print(f"gpu_calibrate: {exc}. Run it on a machine with an NVIDIA GPU.", file=sys.stderr)
        return 2
    try:
        import torch
    except ImportError:
        torch = None
    if torch is None or not torch.cuda.is_available():
        counter.close()
        print("gpu_calibrate: needs PyTorch with CUDA (pip install torch).", file=sys.stderr)
        return 2
    try:
        bodies = _benchmarks(torch)
        sync = torch.cuda.synchronize
        for body in bodies.values():  # warm up: allocations, cuBLAS heuristics, clocks
            body()
        sync()
        start_s, start_mj = time.perf_counter(), counter.energy_mj()
        time.sleep(args.idle_s)
        idle_w = (counter.energy_mj() - start_mj) * 1e-3 / (time.perf_counter() - start_s)
        windows = {}
        for name, body in bodies.items():
            runs = [measure(counter, body, sync, args.window_s) for _ in range(args.repeats)]
            windows[name] = tuple(statistics.median(r[k] for r in runs) for k in range(3))
            energy_j, time_s, work = windows[name]
            print(f"{name}: {energy_j:.1f} J in {time_s:.1f} s for {work:.3g} units", flush=True)
        info = counter.describe()
    finally:
        counter.close()
    constants = fit_constants(idle_w, windows, base)
    for field, value in constants.items():
        print(f"{field} = {value:.4g}")
    when = datetime.date.today().isoformat()
    settings = ", ".join(f"{k} {v}" for k, v in info.items())
    provenance = (
        f"benchmarks/gpu_calibrate.py on {when}, GPU {args.index} ({settings}); "
        f"idle {args.idle_s:g} s, windows {args.window_s:g} s x {args.repeats}"
    )
    out = args.out or Path(f"{base.name}-measured.yaml")
    out.write_text(write_descriptor(base, constants, out.stem, provenance))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
