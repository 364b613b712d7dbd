"""Convolutions on chips that store kernels: core counts checked against hand arithmetic.

Each test writes out, from the chip descriptor's documented memory sizes, the cores a
convolutional layer must take, and checks map_network against it: Loihi (nengo-loihi's
population weights, one copy per border case), Loihi 2 (one kernel per output channel held,
estimated), Speck (each layer whole on one core, memories padded to powers of two), and
TrueNorth, which shares nothing (every synapse stored explicitly).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from neuroemu.cli.main import cli
from neuroemu.errors import CapacityError
from neuroemu.mapping.encodings import border_taps, layer_memory, next_power_of_two
from neuroemu.mapping.given import Placement
from neuroemu.mapping.mapping import map_network
from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput
from neuroemu.network.structure import ConvStructure, conv_output_size
from neuroemu.spec.chip import load_chip, parse_chip


def conv_synapses(conv: ConvStructure) -> tuple[np.ndarray, np.ndarray]:
    """Every synapse of ``conv`` (pre, post), neurons numbered channel-major: one pass per
    kernel tap, over all channel pairs and output positions at once."""
    c_in, h_in, w_in = conv.in_shape
    c_out, h_out, w_out = conv.out_shape
    per_group_in, per_group_out = c_in // conv.groups, c_out // conv.groups
    co = np.repeat(np.arange(c_out), per_group_in)
    ci = (co // per_group_out) * per_group_in + np.tile(np.arange(per_group_in), c_out)
    yo, xo = np.meshgrid(np.arange(h_out), np.arange(w_out), indexing="ij")
    pre, post = [], []
    for ky in range(conv.kernel[0]):
        for kx in range(conv.kernel[1]):
            yi = yo * conv.stride[0] + ky * conv.dilation[0] - conv.padding[0]
            xi = xo * conv.stride[1] + kx * conv.dilation[1] - conv.padding[1]
            ok = (yi >= 0) & (yi < h_in) & (xi >= 0) & (xi < w_in)
            pixel_in = (yi[ok] * w_in + xi[ok])[None, :]
            pixel_out = (yo[ok] * w_out + xo[ok])[None, :]
            pre.append((ci[:, None] * h_in * w_in + pixel_in).ravel())
            post.append((co[:, None] * h_out * w_out + pixel_out).ravel())
    return np.concatenate(pre), np.concatenate(post)


def conv_layer(
    name: str,
    in_shape: tuple[int, int, int],
    c_out: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    structure: bool = True,
) -> tuple[SpikeTimesInput, Population, Projection]:
    """An input map feeding one convolutional population through ``kernel x kernel`` weights."""
    h = conv_output_size(in_shape[1], kernel, stride, padding, 1)
    w = conv_output_size(in_shape[2], kernel, stride, padding, 1)
    conv = ConvStructure(
        in_shape, (c_out, h, w), (kernel, kernel), (stride, stride), (padding,) * 2
    )
    i, j = conv_synapses(conv)
    source = SpikeTimesInput(f"{name}_in", conv.n_in, np.zeros(0, dtype=np.int64), np.zeros(0))
    pop = Population(name, conv.n_out, "lif")
    proj = Projection(
        source.name, name, i, j, 1.0, name=f"{name}_conv", structure=conv if structure else None
    )
    return source, pop, proj


def one_layer(*args: object, **kwargs: object) -> Network:
    source, pop, proj = conv_layer(*args, **kwargs)  # type: ignore[arg-type]
    return Network([pop], [proj], [source])


def test_border_taps_by_hand() -> None:
    # 3 taps over 6 input rows, 4 output rows, stride 1: rows 0..5 see 1, 2, 3, 3, 2, 1 taps,
    # and rows 2 and 3 share a mask, so the distinct masks hold 1 + 2 + 3 + 2 + 1 = 9 taps.
    assert border_taps(6, 4, 3, 1, 0, 1) == 9
    # Stride 2, 7 rows to 3 outputs: even rows reach taps 0/2, odd rows tap 1: masks
    # (1,0,0) (0,1,0) (1,0,1) (0,0,1) -> 1 + 1 + 2 + 1 = 5 taps.
    assert border_taps(7, 3, 3, 2, 0, 1) == 5
    assert next_power_of_two(9) == 16 and next_power_of_two(16) == 16
    assert next_power_of_two(1) == 1


def test_loihi_conv_layer_cores_by_hand() -> None:
    """Loihi: 64 x 6 x 6 input, 3 x 3 kernel, 32 output channels of 4 x 4 (512 neurons).

    nengo-loihi stores, per output channel a core holds, the valid taps of every distinct
    border mask: 64 input channels x 9 row taps x 9 column taps = 5,184 weights x 19 bits =
    98,496 bits. A core has 1,048,576 bits: floor(1,048,576 / 98,496) = 10 channels (160
    neurons, 984,960 bits; an 11th would need 1,083,456). 32 channels -> 10, 10, 10, 2: 4 cores.
    Explicitly, each neuron's 64 x 9 = 576 synapses take 10,944 bits: 95 neurons per core,
    ceil(512 / 95) = 6 cores.
    """
    chip = load_chip("loihi")
    network = one_layer("conv", (64, 6, 6), 32, 3)
    mapping = map_network(network, chip)
    assert mapping.n_cores_used == 4
    bits = mapping.usage["synapse_memory_bits"][mapping.used_cores]
    assert bits.tolist() == [10 * 98_496] * 3 + [2 * 98_496]
    assert mapping.usage["neurons"][mapping.used_cores].tolist() == [160, 160, 160, 32]
    assert mapping.summary()["projection_encodings"] == [
        {
            "projection": "conv_conv",
            "encoding": "conv",
            "reason": "conv: chip stores kernels per core (a copy per border case); one "
            "input axon per input pixel",
        }
    ]
    explicit = map_network(one_layer("conv", (64, 6, 6), 32, 3, structure=False), chip)
    assert explicit.n_cores_used == 6
    assert explicit.summary()["projection_encodings"][0]["reason"] == (
        "explicit: projection has no structure"
    )


def test_loihi_segment_starting_mid_channel_pays_its_kernel() -> None:
    """Loihi: 8 x 16 x 16 input, 3 x 3 kernel, 16 channels of 14 x 14 = 196 neurons.

    Per channel: 8 x 9 x 9 = 648 weights x 19 bits = 12,312 bits; neurons bind (1,024 per
    core): 3,136 neurons -> 4 cores. Core 1 holds neurons 1,024..2,047, channels 1,024 // 196
    = 5 to 2,047 // 196 = 10: 6 kernels = 73,872 bits, channel 5 counted on cores 0 and 1.
    """
    mapping = map_network(one_layer("conv", (8, 16, 16), 16, 3), load_chip("loihi"))
    assert mapping.n_cores_used == 4
    bits = mapping.usage["synapse_memory_bits"][:4].tolist()
    # core 0: channels 0-5 (6), core 1: 5-10 (6), core 2: 10-15 (6), core 3: 15 (1)
    assert bits == [6 * 12_312, 6 * 12_312, 6 * 12_312, 1 * 12_312]
    assert mapping.closed_by == {"end": 1, "neurons": 3}


def test_loihi2_conv_layer_cores_by_hand() -> None:
    """Loihi 2 (estimated: one kernel per output channel held, 8 bits per weight).

    64 x 6 x 6 input, 5 x 5 kernel, 256 channels of 2 x 2 (1,024 neurons). Per channel
    64 x 25 x 8 = 12,800 bits; 1,572,864 bits per core: floor(1,572,864 / 12,800) = 122
    channels (1,561,600 bits; 123 would need 1,574,400). 256 channels -> 122, 122, 12: 3 cores.
    Explicitly (sparse, 19 bits): 1,600 synapses x 19 = 30,400 bits per neuron, 51 neurons per
    core, ceil(1,024 / 51) = 21 cores.
    """
    chip = load_chip("loihi2")
    mapping = map_network(one_layer("conv", (64, 6, 6), 256, 5), chip)
    assert mapping.n_cores_used == 3
    assert mapping.usage["neurons"][:3].tolist() == [488, 488, 48]
    assert mapping.usage["synapse_memory_bits"][:3].tolist() == [1_561_600, 1_561_600, 153_600]
    assert mapping.closed_by == {"end": 1, "synapse_memory_bits": 2}
    explicit = map_network(one_layer("conv", (64, 6, 6), 256, 5, structure=False), chip)
    assert explicit.n_cores_used == 21


@pytest.mark.parametrize("strategy", ["balanced", "min-traffic"])
def test_other_strategies_respect_kernel_memory(strategy: str) -> None:
    chip = load_chip("loihi2")
    mapping = map_network(one_layer("conv", (64, 6, 6), 256, 5), chip, strategy=strategy)
    assert mapping.usage["synapse_memory_bits"].max() <= 1_572_864
    assert mapping.n_cores_used >= 3


def test_truenorth_stores_every_synapse() -> None:
    """TrueNorth shares no weights: 2 x 6 x 6 input, 3 x 3 kernel, 4 channels of 4 x 4 = 64
    neurons, each with 2 x 9 = 18 synapses of 1 crossbar bit: 1,152 bits on one core."""
    mapping = map_network(one_layer("conv", (2, 6, 6), 4, 3), load_chip("truenorth"))
    assert mapping.n_cores_used == 1
    assert mapping.usage["synapse_memory_bits"][0] == 64 * 18
    assert mapping.summary()["projection_encodings"][0] == {
        "projection": "conv_conv",
        "encoding": "crossbar",
        "reason": "explicit: chip has no shared encoding",
    }


def test_speck_layer_memory_by_hand() -> None:
    """sinabs memory_summary: kernel C_in x 2^ceil(log2(kh kw)) x 2^ceil(log2 C_out), neurons
    C_out x 2^ceil(log2 H) x 2^ceil(log2 W) (docs/speck/overview.md's example: 16 -> 32
    channels, 3 x 3, 64 x 64 map: 16 x 16 x 32 = 8Ki kernel entries, 32 x 64 x 64 = 128Ki
    neurons, too many for any core)."""
    shared = load_chip("speck").core.conv_encoding
    assert shared is not None
    conv = ConvStructure((16, 64, 64), (32, 64, 64), (3, 3), padding=(1, 1))
    assert layer_memory(conv, shared) == (8 * 1024, 128 * 1024)


def test_speck_layers_on_their_cores_by_hand() -> None:
    """Three layers on Speck's cores (neuron memory 64Ki x 3, 32Ki x 2, 16Ki x 4; kernel
    memory 16Ki x 3, 32Ki x 2, 64Ki x 2, 16Ki x 2 entries of 8 bits).

    big: 8 -> 64 channels, 3 x 3, 3 x 3 map to 1 x 1: kernel 8 x 16 x 64 = 8,192 entries;
    wide: 64 -> 64 channels, 3 x 3, 1 x 1 output: kernel 64 x 16 x 64 = 65,536 entries, only
    cores 5 and 6 hold it; padded: 1 -> 10 channels, 3 x 3 over 35 x 35 to 33 x 33: 10,890
    neurons, padded 10 x 64 x 64 = 40,960 entries, only cores 0-2 hold it.
    Layers in order take the first core that fits: big -> 0, wide -> 5, padded -> 1.
    """
    layers = [
        conv_layer("big", (8, 3, 3), 64, 3),
        conv_layer("wide", (64, 3, 3), 64, 3),
        conv_layer("padded", (1, 35, 35), 10, 3),
    ]
    network = Network(
        [layer[1] for layer in layers],
        [layer[2] for layer in layers],
        [layer[0] for layer in layers],
    )
    mapping = map_network(network, load_chip("speck"))
    core_of = {
        pop.name: int(mapping.core_of_neuron[network.offsets[pop.name]])
        for pop in network.populations
    }
    assert core_of == {"big": 0, "wide": 5, "padded": 1}
    assert mapping.usage["synapse_memory_bits"].tolist() == [
        8 * 16 * 64 * 8, 1 * 16 * 16 * 8, 0, 0, 0, 64 * 16 * 64 * 8, 0, 0, 0
    ]  # fmt: skip
    assert mapping.usage["neurons"][1] == 10_890
    utilisation = mapping.summary()["utilisation"]["synapse_memory_bits"]
    assert utilisation["max_percent"] == 100.0  # wide fills core 5's 64Ki entries
    assert "layer by layer" in " ".join(mapping.warnings)


def test_speck_refuses_a_fourth_64ki_layer() -> None:
    """Four layers of 16 channels x 33 x 33 (padded 16 x 64 x 64 = 64Ki neuron entries):
    only cores 0-2 hold 64Ki neurons, so a fourth has no core."""
    layers = [conv_layer(f"l{k}", (1, 33, 33), 16, 1) for k in range(4)]
    network = Network([x[1] for x in layers], [x[2] for x in layers], [x[0] for x in layers])
    with pytest.raises(CapacityError, match="no assignment of the network's 4 layers"):
        map_network(network, load_chip("speck"))
    three = Network(
        [x[1] for x in layers[:3]], [x[2] for x in layers[:3]], [x[0] for x in layers[:3]]
    )
    assert map_network(three, load_chip("speck")).n_cores_used == 3


def test_speck_refuses_kernels_it_cannot_hold() -> None:
    with pytest.raises(CapacityError, match=r"kernel side of 17.*max_kernel"):
        map_network(one_layer("big", (1, 17, 17), 2, 17), load_chip("speck"))
    with pytest.raises(CapacityError, match="stride"):
        map_network(one_layer("odd", (1, 9, 9), 2, 3, stride=3), load_chip("speck"))


def test_per_core_list_must_match_the_chip() -> None:
    text = (load_chip("speck").text).replace(
        "  per_core:\n",
        "  per_core:\n    - {neurons: {value: 1, source: sinabs}, "
        "synapse_memory_bits: {value: 1, source: sinabs}}\n",
        1,
    )
    with pytest.raises(Exception, match="10 cores listed"):
        parse_chip(text, "speck.yaml")


def test_loihi_conv_takes_one_input_axon_per_pixel() -> None:
    """Loihi: 16 x 22 x 22 input (7,744 neurons), 3 x 3 kernel, 16 channels of 20 x 20.

    Each output channel sees all 7,744 input neurons, over the 4,096 input axons of a core if
    every neuron had its own axon. A population axon carries all 16 channels of one pixel
    (nengo-loihi: one axon per input pixel), so a core takes at most 22 x 22 = 484 axons.
    Neurons bind: 6,400 / 1,024 -> 7 cores. Memory: per channel 16 x 9 x 9 taps x 19 bits =
    24,624 bits; core 0 holds channels 0-2 (1,024 = 2 x 400 + 224): 73,872 bits.
    Core 6 holds neurons 6,144-6,399: channel 15 from position 144 (output row 7, column 4) to
    the end, reached by input rows 8-21 in full (14 x 22 = 308 pixels) and row 7 from column 4
    (18 pixels): 326 axons.
    """
    mapping = map_network(one_layer("conv", (16, 22, 22), 16, 3), load_chip("loihi"))
    assert mapping.n_cores_used == 7
    fan_in = mapping.usage["fan_in"][:7].tolist()
    assert fan_in == [484] * 6 + [326]
    assert mapping.usage["synapse_memory_bits"][0] == 3 * 24_624
    assert "one input axon per input pixel" in mapping.encodings[0].reason
    # Without structure, every input neuron is an axon: 7,744 > 4,096, and fan-in closes cores.
    explicit = map_network(
        one_layer("conv", (16, 22, 22), 16, 3, structure=False), load_chip("loihi")
    )
    assert explicit.usage["fan_in"].max() <= 4096
    assert explicit.n_cores_used > 7


def test_loihi_pixel_axons_on_the_sending_core() -> None:
    """Loihi: a (1, 10, 10) input -> A: 4 channels of 8 x 8 (256 neurons) -> B: 64 channels of
    6 x 6 (2,304 neurons), 3 x 3 kernels. Neurons bind: core 0 holds A and B's first 768
    neurons, cores 1 and 2 the rest of B, every position of channels 21-63. Each of A's
    8 x 8 = 64 pixels reaches both other cores through one pop32 axon (2 slots) per core:
    64 x 2 x 2 = 256 output-axon slots on core 0, where one axon per neuron and core would
    take 256 x 2 = 512.
    """
    source, a, to_a = conv_layer("a", (1, 10, 10), 4, 3)
    conv = ConvStructure((4, 8, 8), (64, 6, 6), (3, 3))
    i, j = conv_synapses(conv)
    b = Population("b", conv.n_out, "lif")
    network = Network([a, b], [to_a, Projection("a", "b", i, j, 1.0, structure=conv)], [source])
    mapping = map_network(network, load_chip("loihi"))
    assert mapping.usage["neurons"][:3].tolist() == [1024, 1024, 512]
    assert mapping.usage["output_axons"][0] == 64 * 2 * 2
    flat = Projection("a", "b", i, j, 1.0)
    explicit = map_network(Network([a, b], [to_a, flat], [source]), load_chip("loihi"))
    assert explicit.usage["output_axons"][0] == 256 * 2


def test_recount_of_a_scattered_placement_matches_brute_force() -> None:
    """Any placement, not only runs in order: kernel memory, fan-in (pixel axons) and output
    axon slots of every core recounted by plain Python over every synapse."""
    rng = np.random.default_rng(3)
    source, a, to_a = conv_layer("a", (2, 9, 9), 3, 3)
    conv = ConvStructure((3, 7, 7), (5, 5, 5), (3, 3))
    i, j = conv_synapses(conv)
    b = Population("b", conv.n_out, "lif")
    network = Network([a, b], [to_a, Projection("a", "b", i, j, 1.0, structure=conv)], [source])
    core = rng.integers(0, 6, network.n_neurons)
    chip = load_chip("loihi")
    mapping = map_network(network, chip, placement=Placement.per_neuron(core))
    bits_per_channel = {"a_conv": 2 * 9 * 9 * 19, "a_to_b": 3 * 9 * 9 * 19}
    kernels: dict[int, set[tuple[str, int]]] = {c: set() for c in range(6)}
    fan_in: dict[int, set[tuple[str, int]]] = {c: set() for c in range(6)}
    sends: dict[int, set[tuple[int, int]]] = {c: set() for c in range(6)}
    for proj in network.projections:
        assert proj.structure is not None
        _, h_out, w_out = proj.structure.out_shape
        _, h_in, w_in = proj.structure.in_shape
        pre_offset = 0 if proj.pre == "a_in" else network.offsets[proj.pre]
        for pre, post in zip(proj.i.tolist(), proj.j.tolist(), strict=True):
            target = int(core[network.offsets[proj.post] + post])
            kernels[target].add((proj.name, post // (h_out * w_out)))
            fan_in[target].add((proj.name, pre % (h_in * w_in)))
            if proj.pre != "a_in":
                home = int(core[pre_offset + pre])
                if home != target:
                    sends[home].add((pre % (h_in * w_in), target))
    for c in range(6):
        bits = sum(bits_per_channel[name] for name, _ in kernels[c])
        assert mapping.usage["synapse_memory_bits"][c] == bits
        assert mapping.usage["fan_in"][c] == len(fan_in[c])
        assert mapping.usage["output_axons"][c] == 2 * len(sends[c])


def test_speck_stores_layers_without_structure_as_sinabs_converts_them() -> None:
    """A (1, 8, 8) input relayed one-to-one, a 1 -> 4 channel 3 x 3 convolution to 4 x 6 x 6,
    and an all-to-all readout of 10 neurons, on Speck:

    relay: a 1x1 kernel on the one channel of its 8 x 8 map: 1 x 1 x 1 = 1 entry (8 bits);
    conv: 1 x 2^ceil(log2 9) x 2^ceil(log2 4) = 1 x 16 x 4 = 64 entries (512 bits), neurons
    4 x 8 x 8 = 256 (padded from 4 x 6 x 6 = 144);
    readout: a Linear layer after flattening, a 6 x 6 kernel over 4 channels:
    4 x 2^ceil(log2 36) x 2^ceil(log2 10) = 4 x 64 x 16 = 4,096 entries (32,768 bits).
    """
    source = SpikeTimesInput("pixels", 64, np.zeros(0, dtype=np.int64), np.zeros(0))
    conv = ConvStructure((1, 8, 8), (4, 6, 6), (3, 3))
    i, j = conv_synapses(conv)
    pops = [Population("relay", 64, "lif"), Population("c", 144, "lif")]
    pops.append(Population("out", 10, "lif"))
    every = np.arange(64)
    projections = [
        Projection("pixels", "relay", every, every, 1.0),
        Projection("relay", "c", i, j, 1.0, structure=conv),
        Projection("c", "out", np.repeat(np.arange(144), 10), np.tile(np.arange(10), 144), 1.0),
    ]
    mapping = map_network(Network(pops, projections, [source]), load_chip("speck"))
    assert mapping.usage["synapse_memory_bits"][:3].tolist() == [8, 512, 32_768]
    reasons = [e.reason for e in mapping.encodings]
    assert reasons[0].endswith("one-to-one: a 1x1 kernel")
    assert reasons[2].endswith("as a dense layer: a 6x6 kernel over 4 channels")


def test_map_command_says_how_projections_are_stored() -> None:
    result = CliRunner().invoke(cli, ["map", "gesture", "--chip", "speck"])
    assert result.exit_code == 0, result.output
    assert "cores used: 6 of 9" in result.output
    assert (
        "stored as conv: input_to_conv1, conv1_to_conv2, conv2_to_conv3, conv3_to_conv4 "
        "(conv: chip stores each layer's kernel on one core)"
    ) in result.output
    as_json = CliRunner().invoke(cli, ["map", "gesture", "--chip", "truenorth", "--json"])
    assert as_json.exit_code == 1  # TrueNorth: 288 sources onto one conv3 neuron, 256 axons
    assert "288 distinct sources" in as_json.output


def test_speck_given_placement_keeps_layers_whole() -> None:
    network = one_layer("conv", (1, 8, 8), 2, 3)
    split = np.zeros(network.n_neurons, dtype=np.int64)
    split[:10] = 1
    with pytest.raises(CapacityError, match="placed on 2 cores; a layer chip holds"):
        map_network(network, load_chip("speck"), placement=Placement.per_neuron(split))
    # the 2 x 6 x 6 layer needs 2 x 8 x 8 = 128 neuron entries; core 7 holds 16Ki
    whole = map_network(network, load_chip("speck"), placement=Placement.per_neuron(np.full(72, 7)))
    assert whole.usage["neurons"][7] == 72
    assert whole.core_limits["neurons"][7] == 16_384


def test_speck_mapping_keeps_its_per_core_limits_in_a_trace(tmp_path: Path) -> None:
    """Speck's cores differ, so utilisation divides by each core's own limit; a mapping read
    back from a trace must keep those limits (and how each projection is stored)."""
    import h5py

    from neuroemu.traces.codec import read_mapping, write_mapping

    chip = load_chip("speck")
    layers = [conv_layer("big", (8, 3, 3), 64, 3), conv_layer("wide", (64, 3, 3), 64, 3)]
    network = Network(
        [layer[1] for layer in layers],
        [layer[2] for layer in layers],
        [layer[0] for layer in layers],
    )
    mapping = map_network(network, chip)
    with h5py.File(tmp_path / "m.h5", "w") as f:
        write_mapping(f.create_group("mapping"), mapping)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        back = read_mapping(f["mapping"], chip)
    assert set(back.core_limits) == set(mapping.core_limits)
    for name, values in mapping.core_limits.items():
        assert back.core_limits[name].tolist() == values.tolist()
    assert back.summary()["utilisation"] == mapping.summary()["utilisation"]
    assert back.summary()["projection_encodings"] == mapping.summary()["projection_encodings"]
