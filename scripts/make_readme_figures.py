"""Regenerate the README's figures (one PNG per plot kind) into ``docs/figures/``.

A real run of the bundled CUBA model (a quarter of its size, 1,000 neurons) for 500 ms on Loihi,
mapped with the ``balanced`` strategy so the per-core heat map shows the load spread over the
chip's mesh; the same model on SpiNNaker and, where :mod:`neuroemu.gpu.model` is available, the
same activity priced on an RTX 2070 give the energy comparison. Everything goes through traces
(write, read back), as a user's figures would.

    python scripts/make_readme_figures.py [--device numpy] [--duration-ms 500]
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from pathlib import Path

from neuroemu.pipeline import run_pipeline
from neuroemu.plots import plot_cores, plot_energy, plot_raster, plot_rates
from neuroemu.traces.file import read_trace, write_trace

ROOT = Path(__file__).resolve().parent.parent


def gpu_names() -> tuple[str, ...]:
    """The GPU to compare with, if this checkout has the GPU model."""
    try:
        module = importlib.import_module("neuroemu.gpu.model")
    except ImportError:
        return ()
    return ("rtx2070",) if hasattr(module, "gpu_baseline") else ()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="runtime", help="Brian2 device (default runtime)")
    parser.add_argument("--duration-ms", type=float, default=500.0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    common = {"duration_ms": args.duration_ms, "seed": 1, "params": {"scale": 0.25},
              "strategy": "balanced", "device": args.device}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        traces = {}
        for chip, gpus in (("loihi", gpu_names()), ("spinnaker", ())):
            started = time.perf_counter()
            result = run_pipeline("cuba", chip, gpus=gpus, **common)
            path = write_trace(Path(folder) / f"cuba_{chip}.h5", result, command=" ".join(
                ["scripts/make_readme_figures.py", f"--device={args.device}"]))  # fmt: skip
            traces[chip] = read_trace(path)
            print(f"{chip}: {result.activity.n_spikes:,} spikes, "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        loihi = traces["loihi"]
        written = [
            plot_raster(loihi, args.out / "raster.png"),
            plot_rates(loihi, args.out / "rates.png"),
            plot_cores(loihi, args.out / "cores.png", quantity="energy"),
            plot_energy([loihi, traces["spinnaker"].report], args.out / "energy.png"),
        ]
    for path in written:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
