"""PilotNet on Loihi 2: neuroemu's cores per layer against the Loihi 2 compiler's placement.

Maps ``models/pilotnet.py`` (lava-dl's PilotNet LIF: 158,509 neurons, 10.7 M non-zero synapses)
onto ``chips/loihi2.yaml`` with :func:`neuroemu.mapping.mapping.map_network` and prints, per
layer, the cores neuroemu uses next to the cores the Loihi 2 compiler used, their ratio and the
cause of each difference.

The published placement is the compiler's "Per core distribution" table printed in the stored
output of cell 15 of lava-nc/lava-dl ``tutorials/lava/lib/dl/netx/pilotnet_snn/benchmark.ipynb``
at commit d825ac506eb9bb91ea2b945116fb45a40e775451 (a run on an Oheo Gulch board, one Loihi 2
chip): 74 cores. Its columns are per core of a layer (input axons, neuron groups, neurons,
synapses, axon map and axon memory entries), its last column the layer's cores; the compiler
labels a convolution layer's core by the tile of the output it holds, ``Conv(x, y, c)``: x
columns of all y rows and all c channels. The same output shows the compiler splitting fc1:
``Violation core_id=3 reg_name='SynMem' allocation=61440 ... registers=12000``,
``Final max_ratio=6``.

The causes are read from the two tables: the compiler's neurons per core (its tile) against
neuroemu's, which neuroemu resource filled the layer's cores (the one at the highest
utilisation on the cores the layer holds most of) and how the mapping stores the layer's
synapses (``Mapping.encodings``: a kernel or every synapse), each with a note printed below
the table. A core neuroemu's ``fill`` shares between two layers is counted in both (marked
``*``); lava's compiler gives every layer its own cores.

Measured (this machine, 2 shared cores): with every synapse stored explicitly (main before
d55af65) neuroemu used 134 cores on 2 chips (conv2-conv5 closed by synapse memory at 240-529
neurons per core); with kernels stored (d55af65) 21 cores on one chip, against the compiler's
74. Build about 2 s, mapping about 3 s.

Run: ``python benchmarks/pilotnet_loihi2.py [--strategy fill] [--chip loihi2]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from neuroemu.mapping.mapping import Mapping, map_network
from neuroemu.network.model_files import load_model
from neuroemu.network.network import Network
from neuroemu.spec.chip import load_chip

SOURCE = (
    "lava-nc/lava-dl tutorials/lava/lib/dl/netx/pilotnet_snn/benchmark.ipynb, cell 15 output, "
    "commit d825ac506eb9bb91ea2b945116fb45a40e775451"
)


@dataclass(frozen=True)
class PublishedLayer:
    """One row of the compiler's per-core table: per core of the layer, and its cores."""

    layer: str
    label: str  # the compiler's tile label
    axon_in: int
    neurons_per_core: int
    synapses_per_core: int
    axon_map: int
    axon_mem: int
    cores: int
    limit: str  # what sets the compiler's count, read from its output


#: The compiler's table, rows in the notebook's order reversed to the network's (input first).
PUBLISHED = (
    PublishedLayer(
        "input",
        "Conv(16, 66, 3)",
        1,
        3168,
        0,
        1015,
        731,
        13,
        "tiles of 16 columns x 66 rows x 3 channels; 1,015 axon-map entries per core",
    ),
    PublishedLayer(
        "conv1",
        "Conv(4, 32, 24)",
        2,
        3072,
        81,
        253,
        93,
        25,
        "tiles of 4 columns x 32 rows x 24 channels (3,072 neurons of 8,192)",
    ),
    PublishedLayer(
        "conv2",
        "Conv(4, 15, 36)",
        2,
        2160,
        864,
        113,
        32,
        13,
        "tiles of 4 columns x 15 rows x 36 channels (2,160 neurons)",
    ),
    PublishedLayer(
        "conv3",
        "Conv(8, 7, 48)",
        2,
        2688,
        1620,
        112,
        46,
        3,
        "tiles of 8 columns x 7 rows x 48 channels (2,688 neurons)",
    ),
    PublishedLayer(
        "conv4",
        "Conv(8, 4, 64)",
        1,
        2048,
        2160,
        29,
        9,
        3,
        "tiles of 8 columns x 4 rows x 64 channels (2,048 neurons)",
    ),
    PublishedLayer(
        "conv5",
        "Conv(16, 2, 64)",
        1,
        2048,
        2880,
        1280,
        0,
        2,
        "tiles of 16 columns x 2 rows x 64 channels (2,048 neurons)",
    ),
    PublishedLayer(
        "fc1",
        "dense",
        2560,
        8,
        7253,
        8,
        0,
        12,
        "SynMem: 2,560 inputs need 61,440 of a register's 12,000 (max_ratio 6): 8 neurons/core",
    ),
    PublishedLayer("fc2", "dense", 100, 50, 1300, 50, 0, 1, "one core"),
    PublishedLayer("fc3", "dense", 50, 10, 150, 10, 0, 1, "one core"),
    PublishedLayer("fc4", "dense", 10, 1, 10, 1, 0, 1, "one core"),
)
PUBLISHED_TOTAL = 74


@dataclass(frozen=True)
class LayerCores:
    """neuroemu's placement of one layer."""

    layer: str
    neurons: int
    cores: int
    shared: bool  # a core of this layer holds neurons of another layer too
    neurons_per_core: int  # most neurons of this layer on one core
    binding: str  # the resource most used on the layer's cores
    binding_use: float  # its utilisation there (0-1)


def layer_cores(network: Network, mapping: Mapping) -> list[LayerCores]:
    """Cores per population, the most neurons one holds, and the resource that filled them."""
    owner = np.full(mapping.n_cores, -1)
    rows = []
    for k, pop in enumerate(network.populations):
        start = network.offsets[pop.name]
        cores_of = mapping.core_of_neuron[start : start + pop.size]
        cores, counts = np.unique(cores_of, return_counts=True)
        shared = bool(np.any((owner[cores] >= 0) & (owner[cores] != k)))
        owner[cores] = k
        # the resource that filled the cores this layer holds most of (not a neighbour's)
        own = cores[counts >= 0.5 * mapping.usage["neurons"][cores]]
        own = own if len(own) else cores
        use = {
            name: float(np.max(usage[own]) / limit)
            for name, usage in mapping.usage.items()
            if (limit := mapping.limits.get(name))
        }
        binding = max(use, key=lambda name: use[name])
        rows.append(
            LayerCores(
                pop.name, pop.size, len(cores), shared, int(counts.max()), binding, use[binding]
            )
        )
    # a core that an earlier layer also holds is shared by both
    for k, row in enumerate(rows[:-1]):
        if rows[k + 1].shared and not row.shared:
            rows[k] = LayerCores(**{**row.__dict__, "shared": True})
    return rows


def cause(mine: LayerCores, published: PublishedLayer, encoding: str) -> str:
    """Why neuroemu's cores differ from the compiler's, with the key of the note that explains
    it (:data:`NOTES`); ``encoding``: how neuroemu stores the layer's incoming synapses."""
    if mine.cores == published.cores:
        return "same"
    ours = f"neuroemu {mine.neurons_per_core:,}/core ({mine.binding} {mine.binding_use:.0%})"
    if published.label == "dense":
        return f"compiler {published.neurons_per_core}/core (SynMem) vs {ours} [c]"
    tile = published.label[5:-1].replace(", ", "x")
    theirs = f"compiler tile {tile} = {published.neurons_per_core:,}"
    if mine.neurons_per_core > published.neurons_per_core:
        return f"{theirs} vs {ours} [a]"
    if mine.binding == "synapse_memory_bits":
        key = "b" if encoding == "conv" else "e"
        return f"{theirs} vs {ours}, synapses stored as {encoding} [{key}]"
    return f"{theirs} vs {ours}"


NOTES = {
    "a": """The compiler places a convolution layer by output tiles (a few columns x all rows x
    all channels), 2,048-3,168 neurons per core, far below Loihi 2's 8,192: a core's memory
    also holds neuron state and axon tables (the table's AxonMap and AxonMem columns), which
    the compiler sizes tiles for. chips/loihi2.yaml gives 8,192 neurons per core and one
    synapse memory pool, with no neuron-state or axon-table memory, so neuroemu packs cores up
    to 8,192 neurons (or until the synapse pool is full).""",
    "b": """neuroemu stores the layer's kernel (the chip's convolution encoding), and the
    kernel copies it charges per core still fill synapse memory before the compiler's tile
    size; the compiler's Synapses column is 81-2,880 entries per core.""",
    "c": """fc1: the compiler's SynMem register holds 12,000 entries and the 2,560-input layer
    needed 61,440 ('Final max_ratio=6'), so it spread 100 neurons over 12 cores of 8 (7,253
    synapses each at most, non-zero ones); neuroemu stores the 68,084 non-zero synapses
    explicitly at 19 bits (sparse), 1.29 Mbit, in its 1.5 Mbit pool: 1-2 cores.""",
    "e": """neuroemu stores this convolution's synapses one by one (no kernel encoding in this
    mapping), so synapse memory closes its cores at fewer neurons than the compiler's tile;
    Loihi 2's compiler stores the kernel once per core (its Synapses column: 81-2,880 entries
    per core, kernel-sized).""",
}
SHARED = """* neuroemu's fill shares a core between consecutive layers, which the compiler never
  does; a shared core is counted in both layers, so the rows can sum to more than the total."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strategy", default="fill", help="mapping strategy (default fill)")
    parser.add_argument("--chip", default="loihi2", help="chip descriptor (default loihi2)")
    args = parser.parse_args()
    start = time.perf_counter()
    network = load_model("pilotnet")
    built = time.perf_counter()
    mapping = map_network(network, load_chip(args.chip), strategy=args.strategy)
    mapped = time.perf_counter()
    print(
        f"pilotnet: {network.n_neurons:,} neurons, {network.n_synapses:,} synapses "
        f"(built in {built - start:.1f} s); {mapping!r} (mapped in {mapped - built:.1f} s)"
    )
    for encoding in getattr(mapping, "encodings", []):
        print(f"  {encoding.projection}: {encoding.encoding} ({encoding.reason})")
    if not hasattr(mapping, "encodings"):
        print("  (this mapping stores every synapse explicitly: no kernel encodings)")
    print(f"published: {SOURCE}\n")
    header = (
        f"{'layer':<6} {'neurons':>8} {'neuroemu':>9} {'n/core':>7} {'Loihi 2':>8} "
        f"{'n/core':>7} {'ratio':>6}  cause"
    )
    print(header)
    print("-" * len(header))
    mine = layer_cores(network, mapping)
    encodings = {e.projection: e.encoding for e in getattr(mapping, "encodings", [])}
    incoming = {p.post: encodings.get(p.name, "explicit") for p in network.projections}
    causes = []
    for row, pub in zip(mine, PUBLISHED, strict=True):
        mark = "*" if row.shared else " "
        causes.append(cause(row, pub, incoming.get(row.layer, "none")))
        print(
            f"{row.layer:<6} {row.neurons:>8,} {row.cores:>8}{mark} {row.neurons_per_core:>7,} "
            f"{pub.cores:>8} {pub.neurons_per_core:>7,} {row.cores / pub.cores:>6.2f}  "
            f"{causes[-1]}"
        )
    print("-" * len(header))
    print(
        f"{'total':<6} {network.n_neurons:>8,} {mapping.n_cores_used:>9} {'':>7} "
        f"{PUBLISHED_TOTAL:>8} {'':>7} {mapping.n_cores_used / PUBLISHED_TOTAL:>6.2f}  "
        f"cores used"
    )
    closed = getattr(mapping, "closed_by", {})
    if closed:
        print(f"neuroemu closed its cores on: {closed}")
    print()
    for key, note in NOTES.items():
        if any(f"[{key}]" in text for text in causes):
            print(f"[{key}] {note}")
    if any(row.shared for row in mine):
        print(SHARED)


if __name__ == "__main__":
    main()
