"""neuroemu: would this spiking network fit on neuromorphic chip X, how fast, at what energy?

The public API: load descriptors, build or load networks, map, simulate, count, price. Names are
imported on first use (PEP 562), so ``import neuroemu`` and ``neuroemu --help`` stay fast: the
mapping pulls in scipy, the engine Brian2, and a user asking for a chip list needs neither.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> module that defines it.
_EXPORTS = {
    "EventCounts": "neuroemu.accounting.counting",
    "count_events": "neuroemu.accounting.counting",
    "estimate_energy": "neuroemu.accounting.pricing",
    "Activity": "neuroemu.activity",
    "simulate": "neuroemu.engine.runner",
    "CapacityError": "neuroemu.errors",
    "DescriptorError": "neuroemu.errors",
    "NeuroEmuError": "neuroemu.errors",
    "gpu_baseline": "neuroemu.gpu.model",
    "Mapping": "neuroemu.mapping.mapping",
    "map_network": "neuroemu.mapping.mapping",
    "load_model": "neuroemu.network.model_files",
    "NeuronModel": "neuroemu.network.neuron_models",
    "SynapticTarget": "neuroemu.network.neuron_models",
    "load_placement": "neuroemu.mapping.given",
    "Placement": "neuroemu.mapping.given",
    "STDP": "neuroemu.network.network",
    "Network": "neuroemu.network.network",
    "PoissonInput": "neuroemu.network.network",
    "Population": "neuroemu.network.network",
    "Projection": "neuroemu.network.network",
    "SpikeTimesInput": "neuroemu.network.network",
    "RunResult": "neuroemu.pipeline",
    "run_pipeline": "neuroemu.pipeline",
    "EnergyReport": "neuroemu.report",
    "ChipSpec": "neuroemu.spec.chip",
    "load_chip": "neuroemu.spec.chip",
    "GpuSpec": "neuroemu.spec.gpu",
    "load_gpu": "neuroemu.spec.gpu",
}

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
    "NeuronModel",
    "Placement",
    "PoissonInput",
    "Population",
    "Projection",
    "RunResult",
    "SpikeTimesInput",
    "SynapticTarget",
    "__version__",
    "count_events",
    "estimate_energy",
    "gpu_baseline",
    "load_chip",
    "load_gpu",
    "load_model",
    "load_placement",
    "map_network",
    "run_pipeline",
    "simulate",
]

if TYPE_CHECKING:
    from neuroemu.accounting.counting import EventCounts, count_events
    from neuroemu.accounting.pricing import estimate_energy
    from neuroemu.activity import Activity
    from neuroemu.engine.runner import simulate
    from neuroemu.errors import CapacityError, DescriptorError, NeuroEmuError
    from neuroemu.gpu.model import gpu_baseline
    from neuroemu.mapping.given import Placement, load_placement
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
    from neuroemu.network.neuron_models import NeuronModel, SynapticTarget
    from neuroemu.pipeline import RunResult, run_pipeline
    from neuroemu.report import EnergyReport
    from neuroemu.spec.chip import ChipSpec, load_chip
    from neuroemu.spec.gpu import GpuSpec, load_gpu


def _version() -> str:
    """The installed distribution's version (read on first use: importlib.metadata costs 0.07 s
    of every command's start-up)."""
    from importlib import metadata

    try:
        return metadata.version("neuroemu")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = version = _version()
        return version
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'neuroemu' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
