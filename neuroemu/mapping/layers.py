"""Layer-by-layer placement, for chips whose toolchain puts each layer whole on one core.

Speck and DYNAP-CNN have nine convolutional cores of different sizes; sinabs assigns every layer
(a population with the convolution that feeds it) to exactly one core whose kernel memory and
neuron memory hold it, by a bipartite matching of layers to cores (``get_valid_mapping``,
Edmonds' max-flow). :func:`layer_needs` sizes each layer with the chip's shared encoding
(:func:`neuroemu.mapping.encodings.layer_memory`), :func:`match_layers` finds the matching, and
:func:`layer_usage` recounts the memory of any population-to-core assignment exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroemu.errors import CapacityError
from neuroemu.mapping.encodings import ProjectionEncoding, layer_memory
from neuroemu.network.network import Network
from neuroemu.spec.chip import ChipSpec


@dataclass(frozen=True)
class LayerNeed:
    """What one population needs of the core that holds it whole.

    ``neurons``: neuron-memory entries (padded as the chip's addresses are); ``bits``: kernel
    memory of all projections into it, in bits.
    """

    population: str
    neurons: int
    bits: int


def layer_needs(
    network: Network, chip: ChipSpec, encodings: dict[str, ProjectionEncoding]
) -> list[LayerNeed]:
    """Each population's neuron and kernel memory on a layer chip (``per: layer``).

    Projections into one population are summed (a layer fed by two sources stores both
    kernels); its neuron memory is the largest that its projections' shapes give, and at least
    its size.
    """
    shared = chip.core.conv_encoding
    assert shared is not None and shared.per == "layer"
    bits_per_weight = shared.bits_per_weight.require()
    neurons = {pop.name: pop.size for pop in network.populations}
    bits = dict.fromkeys(neurons, 0)
    for proj in network.projections:
        conv = encodings[proj.name].conv
        assert conv is not None
        kernel, entries = layer_memory(conv, shared)
        bits[proj.post] += kernel * bits_per_weight
        neurons[proj.post] = max(neurons[proj.post], entries)
    return [LayerNeed(name, neurons[name], bits[name]) for name in neurons]


def match_layers(
    needs: list[LayerNeed], core_neurons: list[int], core_bits: list[int]
) -> list[int] | None:
    """A core for every layer, no core holding two, each layer within its core's memories.

    Kuhn's augmenting paths, layers in network order, each taking the first free core that
    fits and displacing an earlier layer only when none is free (sinabs' max-flow mapping
    finds some such assignment; this one is predictable). None when no assignment exists.
    """
    fits = [
        [
            c
            for c in range(len(core_neurons))
            if n.neurons <= core_neurons[c] and n.bits <= core_bits[c]
        ]
        for n in needs
    ]
    owner: dict[int, int] = {}

    def augment(layer: int, seen: set[int]) -> bool:
        # Free cores first, so a layer takes the first free core that fits and moves another
        # layer only when none is free.
        for c in sorted(fits[layer], key=lambda c: c in owner):
            if c in seen:
                continue
            seen.add(c)
            if c not in owner or augment(owner[c], seen):
                owner[c] = layer
                return True
        return False

    for layer in range(len(needs)):
        if not augment(layer, set()):
            return None
    assigned = [0] * len(needs)
    for c, layer in owner.items():
        assigned[layer] = c
    return assigned


def layer_usage(
    network: Network, needs: list[LayerNeed], core: np.ndarray, n_cores: int
) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Population -> its core, and per core its neuron and kernel memory (padded entries).

    Raises
    ------
    CapacityError
        A population spread over several cores, or two on one core: a layer chip holds each
        layer whole, one per core.
    """
    cores: dict[str, int] = {}
    neurons = np.zeros(n_cores, dtype=np.int64)
    bits = np.zeros(n_cores, dtype=np.int64)
    for pop, need in zip(network.populations, needs, strict=True):
        start = network.offsets[pop.name]
        used = np.unique(core[start : start + pop.size])
        if len(used) != 1:
            raise CapacityError(
                "neurons", f"population {pop.name!r}", len(used), 1,
                f"population {pop.name!r} is placed on {len(used)} cores; a layer chip holds "
                f"each layer whole on one core.",
                "Place every population on a single core.",
            )  # fmt: skip
        c = int(used[0])
        other = next((name for name, k in cores.items() if k == c), None)
        if other is not None:
            raise CapacityError(
                "neurons", f"population {pop.name!r}", 2, 1,
                f"populations {other!r} and {pop.name!r} are placed on core {c}; a layer chip's "
                f"core holds one layer.",
                "Place each population on its own core.",
            )  # fmt: skip
        cores[pop.name] = c
        neurons[c] += need.neurons
        bits[c] += need.bits
    return cores, neurons, bits
