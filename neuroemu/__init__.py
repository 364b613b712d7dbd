"""neuroemu: would this spiking network fit on neuromorphic chip X, how fast, at what energy?"""

from .chip import ChipSpec, load_chip
from .errors import CapacityError, DescriptorError, NeuroEmuError
from .network import Network, PoissonInput, Population, Projection, SpikeTimesInput

__version__ = "0.1.0"

__all__ = [
    "CapacityError",
    "ChipSpec",
    "DescriptorError",
    "Network",
    "NeuroEmuError",
    "PoissonInput",
    "Population",
    "Projection",
    "SpikeTimesInput",
    "__version__",
    "load_chip",
]
