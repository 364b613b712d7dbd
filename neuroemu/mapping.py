"""Placement of a network's neurons and synapses onto the cores of a virtual chip.

:func:`map_network` places every neuron on exactly one core under the chip's per-core limits
(neurons, synapse memory, fan-in, output axons, fan-out per neuron, delay slots, weight sign) and
returns a :class:`Mapping`; a network that does not fit raises
:class:`~neuroemu.errors.CapacityError` naming the resource, the core or neuron, the need and the
limit.

Cores are numbered globally: core ``c`` is local core ``c % cores_per_chip`` of chip
``c // cores_per_chip``. Synapses are stored at the postsynaptic core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from .chip import ChipSpec

RESOURCES = ("neurons", "synapse_memory_bits", "fan_in", "output_axons")


@dataclass(frozen=True, eq=False)
class Mapping:
    """Where every neuron lives, and how full each core is.

    Attributes
    ----------
    chip : ChipSpec
        The chip mapped onto.
    strategy : str
        ``fill``, ``balanced`` or ``min-traffic``.
    n_chips : int
        Chips used; cores are numbered over all of them (``n_chips * cores_per_chip``).
    core_of_neuron : ndarray of int32
        Global neuron index -> global core index.
    usage : dict
        Resource name (:data:`RESOURCES`) -> per-core usage array of length ``n_cores``.
    limits : dict
        Resource name -> per-core limit, or ``None`` where the chip has no cap.
    dest_synapses : scipy.sparse.csr_matrix
        ``(n_neurons, n_cores)``: number of synapses from each neuron onto each core.
    input_dest_synapses : scipy.sparse.csr_matrix
        ``(n_input_sources, n_cores)``: the same for external input sources.
    warnings : list of str
        Things the user should know that do not stop the mapping (neuron model not native to the
        chip, weights rounded to zero...).
    """

    chip: ChipSpec
    strategy: str
    n_chips: int
    core_of_neuron: np.ndarray
    usage: dict[str, np.ndarray]
    limits: dict[str, float | None]
    dest_synapses: sp.csr_matrix
    input_dest_synapses: sp.csr_matrix
    warnings: list[str] = field(default_factory=list)

    @property
    def cores_per_chip(self) -> int:
        return self.chip.cores_per_chip

    @property
    def n_cores(self) -> int:
        """Cores of all chips used (used or not)."""
        return self.n_chips * self.cores_per_chip

    @cached_property
    def used_cores(self) -> np.ndarray:
        """Indices of cores holding at least one neuron."""
        return np.flatnonzero(self.usage["neurons"] > 0)

    @property
    def n_cores_used(self) -> int:
        return len(self.used_cores)

    @cached_property
    def chip_of_core(self) -> np.ndarray:
        return np.arange(self.n_cores) // self.cores_per_chip

    @cached_property
    def core_xy(self) -> np.ndarray:
        """``(n_cores, 2)`` global mesh coordinates (in tiles) of every core."""
        return core_coordinates(self.chip, self.n_chips)

    @cached_property
    def chip_xy(self) -> np.ndarray:
        """``(n_cores, 2)`` coordinates of each core's chip on the chip grid."""
        width, _ = self.chip.chip_grid(self.n_chips)
        chip = self.chip_of_core
        return np.stack([chip % width, chip // width], axis=1)

    def utilisation(self) -> dict[str, np.ndarray]:
        """Resource -> usage / limit over the used cores (resources without a cap are omitted)."""
        out = {}
        for name, limit in self.limits.items():
            if limit:
                out[name] = self.usage[name][self.used_cores] / float(limit)
        return out

    @cached_property
    def dest_cores(self) -> sp.csr_matrix:
        """``(n_neurons, n_cores)`` boolean pattern: which cores each neuron sends spikes to."""
        pattern = self.dest_synapses.copy()
        pattern.data = np.ones_like(pattern.data, dtype=bool)
        return pattern.astype(bool)

    def inter_core_synapses(self) -> int:
        """Synapses whose pre and post neurons sit on different cores (input synapses excluded)."""
        coo = self.dest_synapses.tocoo()
        remote = self.core_of_neuron[coo.row] != coo.col
        return int(coo.data[remote].sum())


def core_coordinates(chip: ChipSpec, n_chips: int) -> np.ndarray:
    """Global mesh coordinates (in tiles) of every core of ``n_chips`` chips on a chip grid."""
    topo = chip.topology
    per_chip = chip.cores_per_chip
    per_tile = int(topo.cores_per_tile.value)
    width_tiles = int(topo.mesh_width_tiles.value)
    height_tiles = int(topo.mesh_height_tiles.value)
    grid_width, _ = chip.chip_grid(n_chips)
    core = np.arange(n_chips * per_chip)
    chip_index = core // per_chip
    tile = (core % per_chip) // per_tile
    x = (chip_index % grid_width) * width_tiles + tile % width_tiles
    y = (chip_index // grid_width) * height_tiles + tile // width_tiles
    return np.stack([x, y], axis=1)
