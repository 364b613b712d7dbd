"""neuroemu: would this spiking network fit on neuromorphic chip X, how fast, at what energy?

The public API: load descriptors, build or load networks, map, simulate, count, price.
"""

from .accounting import EventCounts, count_events, estimate_energy
from .activity import Activity
from .chip import ChipSpec, load_chip
from .engine import simulate
from .errors import CapacityError, DescriptorError, NeuroEmuError
from .gpu import gpu_baseline
from .gpu_spec import GpuSpec, load_gpu
from .mapping import Mapping, map_network
from .model_files import load_model
from .network import STDP, Network, PoissonInput, Population, Projection, SpikeTimesInput
from .pipeline import RunResult, run_pipeline
from .report import EnergyReport

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
