"""neuroemu: would this spiking network fit on neuromorphic chip X, how fast, at what energy?

The public API: load descriptors, build or load networks, map, simulate, count, price.
"""

from neuroemu.accounting import EventCounts, count_events, estimate_energy
from neuroemu.activity import Activity
from neuroemu.engine.runner import simulate
from neuroemu.errors import CapacityError, DescriptorError, NeuroEmuError
from neuroemu.gpu.model import gpu_baseline
from neuroemu.mapping.mapping import Mapping, map_network
from neuroemu.network.model_files import load_model
from neuroemu.network.network import (
    STDP,
    Network,
    PoissonInput,
    Population,
    Projection,
    SpikeTimesInput,
)
from neuroemu.pipeline import RunResult, run_pipeline
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec, load_chip
from neuroemu.spec.gpu import GpuSpec, load_gpu

__version__ = "0.1.0"

__all__ = [
    "STDP",
    "Activity",
    "CapacityError",
    "ChipSpec",
    "DescriptorError",
    "EnergyReport",
    "EventCounts",
    "GpuSpec",
    "Mapping",
    "Network",
    "NeuroEmuError",
    "PoissonInput",
    "Population",
    "Projection",
    "RunResult",
    "SpikeTimesInput",
    "__version__",
    "count_events",
    "estimate_energy",
    "gpu_baseline",
    "load_chip",
    "load_gpu",
    "load_model",
    "map_network",
    "run_pipeline",
    "simulate",
]
