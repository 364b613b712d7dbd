"""NIR import and export without Brian2: the synapses a graph expands to, the round trip
(export then import gives the same Network), load_model on a .nir file, and bad graphs, each
with the message a user sees."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from click.testing import CliRunner  # noqa: E402
from nir_graphs import conv_graph, input_spikes, mixed_graph  # noqa: E402

from neuroemu.cli.export import export_command  # noqa: E402
from neuroemu.errors import ModelError, NirError  # noqa: E402
from neuroemu.network.model_files import load_model, model_parameters  # noqa: E402
from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput  # noqa: E402
from neuroemu.network.nir_export import export_nir, to_nir  # noqa: E402
from neuroemu.network.nir_import import import_nir, load_nir  # noqa: E402
from neuroemu.network.structure import ConvStructure  # noqa: E402


def assert_same_network(a: Network, b: Network) -> None:
    """Field by field: populations, parameter values (arrays too), projections, inputs."""
    assert a.population_names == b.population_names
    for p, q in zip(a.populations, b.populations, strict=True):
        assert (p.size, p.model.name) == (q.size, q.model.name)
        # every parameter's value, given or the model's default (an import states them all)
        for key, default in p.model.parameters.items():
            np.testing.assert_array_equal(
                p.parameters.get(key, default),
                q.parameters.get(key, default),
                err_msg=f"{p.name}.{key}",
            )
    assert [x.name for x in a.projections] == [x.name for x in b.projections]
    for x, y in zip(a.projections, b.projections, strict=True):
        assert (x.pre, x.post, x.target) == (y.pre, y.post, y.target)
        # an import lists synapses by pre, then post neuron; compare in that order
        ox, oy = np.lexsort((x.j, x.i)), np.lexsort((y.j, y.i))
        for field in ("i", "j", "weight"):
            np.testing.assert_array_equal(getattr(x, field)[ox], getattr(y, field)[oy], x.name)
        np.testing.assert_array_equal(x.delays_ms()[ox], y.delays_ms()[oy], err_msg=x.name)
        assert x.structure == y.structure, x.name
    assert [s.name for s in a.inputs] == [s.name for s in b.inputs]


def test_conv_expands_every_tap_with_stride_and_padding() -> None:
    network = import_nir(conv_graph())
    conv1 = network.projection("conv1")
    # 4 out x 2 in channels; per output axis (size 4, stride 2, pad 1, k 3): 2 + 3 + 3 + 3 = 11
    # taps land inside the 8-pixel input, so 4 * 2 * 11 * 11 synapses, the zero tap included
    assert conv1.n_synapses == 4 * 2 * 11 * 11
    assert np.count_nonzero(conv1.weight == 0) >= 1
    # the zero tap (0, 0, 1, 1) of output (0, 0, 0) reads input (0, 0, 0): stride 2, pad 1
    at = (conv1.j == 0) & (conv1.i == 0)
    assert conv1.weight[at].tolist() == [0.0]
    assert conv1.structure == ConvStructure((2, 8, 8), (4, 4, 4), (3, 3), (2, 2), (1, 1))
    conv2 = network.projection("conv2")  # pooled spikes of lif1 through SumPool2d, groups=2
    assert conv2.pre == "lif1" and conv2.post == "if1"
    assert conv2.structure is None  # a pooling then a convolution: no one kernel
    lif1 = network.population("lif1")
    assert lif1.size == 64 and lif1.parameters["tau_s"].shape == (64,)
    # the conv1 bias lands in lif1's bias, per channel
    np.testing.assert_array_equal(
        lif1.parameters["bias"], np.repeat(conv_graph().nodes["conv1"].bias, 16)
    )


def test_nested_graph_and_delay() -> None:
    network = import_nir(mixed_graph())
    assert "block_lif" in network.population_names
    np.testing.assert_allclose(network.population("block_lif").parameters["bias"], 0.05)
    delay = network.projection("scale")  # Linear -> Scale -> Delay: named by its last weights
    assert delay.post == "lif" and delay.delay_ms.shape == (delay.n_synapses,)
    np.testing.assert_allclose(np.unique(delay.delay_ms), [0.0, 1.0, 2.0, 3.0])


def test_delay_before_a_layer_delays_by_pre_neuron() -> None:
    graph = _chain(
        _inp(), nir.Delay(delay=np.array([0.0, 0.001])), nir.Linear(weight=np.ones((2, 2))), _lif()
    )
    (proj,) = import_nir(graph).projections
    assert proj.i.tolist() == [0, 0, 1, 1] and proj.delay_ms.tolist() == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("build", [conv_graph, mixed_graph], ids=["conv", "mixed"])
def test_export_reimports_to_identical_network(build, tmp_path) -> None:
    graph = build()
    spikes = input_spikes(graph, 20)
    first = import_nir(graph, spikes=spikes, dt_ms=1.0)
    export_nir(first, tmp_path / "graph.nir")
    again = load_nir(tmp_path / "graph.nir")
    assert_same_network(first, again)
    for x, y in zip(first.projections, again.projections, strict=True):  # same order too
        np.testing.assert_array_equal(x.i, y.i)
        np.testing.assert_array_equal(x.j, y.j)
    export_nir(again, tmp_path / "again.nir")
    assert_same_network(first, load_nir(tmp_path / "again.nir"))


def test_network_built_here_round_trips(tmp_path) -> None:
    rng = np.random.default_rng(3)
    pops = (
        Population("hidden", 5, "nir_lif", {"tau_s": rng.uniform(0.01, 0.02, 5), "bias": 0.1}),
        Population("out", 2, "nir_cuba_lif", {"w_in": np.array([1.0, 2.0])}),
    )
    i, j = np.array([0, 1, 2, 2]), np.array([0, 0, 1, 4])
    projections = (
        Projection("x", "hidden", i, j, np.array([0.5, 0.0, -1.0, 2.0]), 2.0, "in", name="w1"),
        Projection("hidden", "out", np.arange(5), np.array([0, 1, 0, 1, 0]), 1.0, target="in"),
        Projection("out", "hidden", np.array([0, 1]), np.array([3, 3]), -0.5, target="in"),
    )
    inputs = (SpikeTimesInput("x", 3, np.array([0, 2]), np.array([1.0, 3.0])),)
    network = Network(pops, projections, inputs, name="mine")
    export_nir(network, tmp_path / "mine.nir")
    back = load_nir(tmp_path / "mine.nir")
    assert_same_network(network, back)


def _conv_network(drop_zero: bool = False) -> Network:
    """Input (2, 9, 9) -> conv2d (s2, p1) -> lif (4, 5, 5) -> depthwise 3x3 -> lif2 -> Linear."""
    from neuroemu.network.connectivity import conv2d

    rng = np.random.default_rng(5)
    w1 = rng.normal(size=(4, 2, 3, 3))
    w1[1, 0, 2, 2] = 0.0
    i1, j1, v1, s1 = conv2d((2, 9, 9), 4, 3, w1, stride=2, padding=1)
    if drop_zero:
        i1, j1, v1 = i1[v1 != 0], j1[v1 != 0], v1[v1 != 0]
    i2, j2, v2, s2 = conv2d(s1.out_shape, 4, 3, rng.normal(size=(4, 1, 3, 3)), groups=4)
    bias = np.repeat(rng.normal(size=4), 25)  # one value per channel: rides on the Conv2d
    pops = (
        Population("lif", s1.n_out, "nir_lif", {"bias": bias}),
        Population("lif2", s2.n_out, "nir_lif"),
        Population("out", 3, "nir_lif"),
    )
    projections = (
        Projection("x", "lif", i1, j1, v1, 1.0, "in", name="conv1", structure=s1),
        Projection("lif", "lif2", i2, j2, v2, target="in", name="conv2", structure=s2),
        Projection("lif2", "out", np.arange(36), np.arange(36) % 3, 0.2, target="in"),
    )
    source = SpikeTimesInput("x", s1.n_in, np.array([0, 5]), np.array([1.0, 2.0]))
    return Network(pops, projections, (source,), name="convs")


@pytest.mark.parametrize("drop_zero", [False, True], ids=["every_tap", "zeros_dropped"])
def test_conv_projection_exports_as_conv2d_and_comes_back(drop_zero, tmp_path) -> None:
    network = _conv_network(drop_zero)
    graph = to_nir(network)
    assert type(graph.nodes["conv1"]).__name__ == "Conv2d"
    assert type(graph.nodes["conv2"]).__name__ == "Conv2d"
    assert graph.nodes["conv2"].groups == 4
    assert graph.nodes["x"].input_type["input"].tolist() == [2, 9, 9]
    assert ("neuroemu_i" in graph.nodes["conv1"].metadata) == drop_zero
    assert graph.nodes["conv1_delay"].delay.shape == (4, 5, 5)
    assert graph.nodes["lif"].tau.shape == (4, 5, 5)  # the shape Conv2d writes
    export_nir(network, tmp_path / "convs.nir")
    back = load_nir(tmp_path / "convs.nir")
    assert_same_network(network, back)
    assert back.projection("conv1").n_synapses == network.projection("conv1").n_synapses


def test_nirs_own_type_check_accepts_an_exported_conv_chain() -> None:
    """Conv2d nodes and the (C, H, W) nodes around them pass nir's type inference (a grouped
    Conv2d does not: nir 1.0.8 infers its input channels from the weight, ignoring groups)."""
    from neuroemu.network.connectivity import conv2d

    i1, j1, w1, s1 = conv2d((2, 9, 9), 4, 3, np.ones((4, 2, 3, 3)), stride=2, padding=1)
    i2, j2, w2, s2 = conv2d(s1.out_shape, 3, 3, np.ones((3, 4, 3, 3)))
    network = Network(
        (Population("a", s1.n_out, "nir_lif"), Population("b", s2.n_out, "nir_lif")),
        (
            Projection("x", "a", i1, j1, w1, target="in", structure=s1),
            Projection("a", "b", i2, j2, w2, target="in", structure=s2),
        ),
        (SpikeTimesInput("x", s1.n_in, np.array([0]), np.array([1.0])),),
    )
    graph = to_nir(network)
    nir.NIRGraph(nodes=graph.nodes, edges=graph.edges, type_check=True)  # raises on a mismatch
    assert graph.nodes["b_output"].output_type["output"].tolist() == [3, 3, 3]


def test_a_conv_whose_synapses_are_not_its_taps_exports_as_linear() -> None:
    network = _conv_network()
    conv = network.projection("conv2")
    weight = conv.weight.copy()
    weight[0] += 1.0  # two weights for one kernel entry: not a convolution any more
    changed = Projection(
        "lif", "lif2", conv.i, conv.j, weight, target="in", name="conv2", structure=conv.structure
    )
    projections = tuple(changed if p.name == "conv2" else p for p in network.projections)
    graph = to_nir(Network(network.populations, projections, network.inputs))
    assert type(graph.nodes["conv2"]).__name__ == "Linear"
    assert type(graph.nodes["conv1"]).__name__ == "Conv2d"


def test_load_model_and_cli_export(tmp_path) -> None:
    graph = mixed_graph()
    nir.write(str(tmp_path / "g.nir"), graph)
    spikes = input_spikes(graph, 10)
    np.savez(tmp_path / "in.npz", dt_ms=1.0, **spikes)
    network = load_model(tmp_path / "g.nir", {"spikes": str(tmp_path / "in.npz")})
    (source,) = network.inputs
    assert isinstance(source, SpikeTimesInput) and len(source.indices) == spikes["input"].sum()
    assert load_model(str(tmp_path / "g.nir"), {"rate_hz": "5"}).inputs[0].rate_hz == 5.0
    result = CliRunner().invoke(
        export_command, [str(tmp_path / "g.nir"), "-o", str(tmp_path / "o.nir")]
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and (tmp_path / "o.nir").exists()


def test_stored_nir_file_loads_as_a_model() -> None:
    """tests/data/nir/graph.nir, written by nir 1.0.8 (make_graph.py beside it)."""
    folder = Path(__file__).parent / "data" / "nir"
    network = load_model(folder / "graph.nir", {"spikes": str(folder / "inputs.npz")})
    assert network.name == "graph"
    assert [(p.name, p.size, p.model.name) for p in network.populations] == [
        ("lif", 64, "nir_lif"),
        ("out", 10, "nir_lif"),
    ]
    assert network.population("lif").parameters["r"] == 10.0
    # conv: 4 x 1 x 11 x 11 taps inside the 8 x 8 input (stride 2, padding 1); fc: 10 x 64
    assert [p.n_synapses for p in network.projections] == [484, 640]
    (source,) = network.inputs
    assert isinstance(source, SpikeTimesInput) and source.size == 64
    assert model_parameters(folder / "graph.nir") == {"spikes": "", "rate_hz": 10.0}
    with pytest.raises(ModelError, match=r"nothere\.nir: no such NIR file"):
        load_model(folder / "nothere.nir")
    with pytest.raises(ModelError, match=r"NIR model 'graph\.nir' has no parameter 'scale'"):
        load_model(folder / "graph.nir", {"scale": "2"})


def test_export_names_the_population_nir_cannot_express() -> None:
    network = Network((Population("cortex", 3, "lif"),))
    with pytest.raises(NirError) as info:
        to_nir(network)
    assert str(info.value).startswith(
        "<network>: node 'cortex' (lif): NIR cannot express this neuron model; exportable "
        "models: nir_lif, nir_cuba_lif"
    )
    assert info.value.node == "cortex"


# ---- bad graphs -------------------------------------------------------------------------------


@dataclass(eq=False)
class Spiky(nir.NIRNode):
    """A node type neuroemu does not know."""

    gain: float = 1.0

    def __post_init__(self) -> None:
        self.input_type = {"input": np.array([2])}
        self.output_type = {"output": np.array([2])}


def _inp(n: int = 2):
    return nir.Input(input_type={"input": np.array([n])})


def _lif(n: int = 2, **overrides):
    fields = {
        "tau": np.full(n, 0.01),
        "r": np.ones(n),
        "v_leak": np.zeros(n),
        "v_threshold": np.ones(n),
    }
    node = nir.LIF(**fields)
    for key, value in overrides.items():
        setattr(node, key, value)
    return node


def _graph(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _chain(*nodes):
    names = [f"n{k}" for k in range(len(nodes))]
    names[0] = "input"
    return _graph(dict(zip(names, nodes, strict=True)), list(itertools.pairwise(names)))


BAD = [
    (
        "unknown node",
        lambda: _chain(_inp(), Spiky()),
        "<graph>: node 'n1' (Spiky): unsupported node type; neuroemu imports Affine, AvgPool2d, "
        "Conv1d, Conv2d, CubaLI, CubaLIF, Delay, Flatten, I, IF, Input, LI, LIF, Linear, "
        "NIRGraph, Output, Scale, SumPool2d, Threshold",
    ),
    (
        "affine shape mismatch",
        lambda: _chain(_inp(4), nir.Affine(weight=np.ones((2, 3)), bias=np.zeros(2)), _lif()),
        "<graph>: node 'n1' (Affine): shape mismatch: its input size is 3 but its input has "
        "shape (4,) (4 elements)",
    ),
    (
        "layer into neurons of another size",
        lambda: _chain(_inp(4), nir.Linear(weight=np.ones((3, 4))), _lif(2)),
        "<graph>: node 'n2' (LIF): shape mismatch: its size is 2 but its input has shape (3,) "
        "(3 elements)",
    ),
    (
        "missing parameter",
        lambda: _chain(_inp(), nir.Linear(weight=np.eye(2)), _lif(v_threshold=None)),
        "<graph>: node 'n2' (LIF): missing parameter 'v_threshold'",
    ),
    (
        "negative tau",
        lambda: _chain(_inp(), nir.Linear(weight=np.eye(2)), _lif(tau=np.array([0.01, -0.02]))),
        "<graph>: node 'n2' (LIF): tau must be > 0 s (a time constant), found -0.02",
    ),
    (
        "parameter shapes differ",
        lambda: _chain(_inp(), nir.Linear(weight=np.eye(2)), _lif(r=np.ones(3))),
        "<graph>: node 'n2' (LIF): shape mismatch: r has shape (3,), tau has (2,)",
    ),
    (
        "NaN weight",
        lambda: _chain(_inp(), nir.Linear(weight=np.array([[1.0, np.nan], [0, 1]])), _lif()),
        "<graph>: node 'n1' (Linear): weight has NaN or infinite values",
    ),
    (
        "cycle of linear nodes",
        lambda: _graph(
            {
                "input": _inp(),
                "a": nir.Linear(weight=np.eye(2)),
                "b": nir.Scale(scale=np.ones(2)),
                "lif": _lif(),
            },
            [("input", "a"), ("a", "b"), ("b", "a"), ("b", "lif")],
        ),
        "<graph>: node 'b' (Scale): is on a cycle of linear nodes only (b -> a -> b); neuroemu "
        "schedules a cycle only through a neuron node, which holds the state from one step to "
        "the next",
    ),
    (
        "edge to a missing node",
        lambda: _graph({"input": _inp(), "lif": _lif()}, [("input", "lfi")]),
        "<graph>: node 'lfi': an edge ('input' -> 'lfi') names a node the graph does not have",
    ),
    (
        "conv channels and groups",
        lambda: _chain(
            nir.Input(input_type={"input": np.array([3, 4, 4])}),
            nir.Conv2d(
                input_shape=(4, 4),
                weight=np.ones((2, 2, 3, 3)),
                stride=1,
                padding=1,
                dilation=1,
                groups=1,
                bias=np.zeros(2),
            ),
            _lif(32),
        ),
        "<graph>: node 'n1' (Conv2d): weight (2, 2, 3, 3) with groups=1 needs 2 input channels; "
        "the input has 3 (shape (3, 4, 4))",
    ),
    (
        "output fed by a layer",
        lambda: _chain(
            _inp(), nir.Linear(weight=np.eye(2)), nir.Output(output_type={"output": np.array([2])})
        ),
        "<graph>: node 'n2' (Output): is fed by 'n1' (Linear); an Output must read a neuron node "
        "or an Input, since a chip computes a layer only into neurons (end the graph with LI or "
        "LIF)",
    ),
    (
        "negative delay",
        lambda: _chain(_inp(), nir.Delay(delay=np.array([0.001, -0.001])), _lif()),
        "<graph>: node 'n1' (Delay): delays must be >= 0 s, found -0.001",
    ),
    (
        "delays that meet in one synapse",
        lambda: _chain(
            _inp(),
            nir.Linear(weight=np.ones((2, 2))),
            nir.Delay(delay=np.array([0.0, 0.001])),
            nir.Linear(weight=np.ones((2, 2))),
            _lif(),
        ),
        "<graph>: node 'n3': paths with different delays meet in one synapse (a Delay before a "
        "layer that mixes its elements); a chip stores one delay per synapse",
    ),
    (
        "a non-spiking node feeding another",
        lambda: _chain(
            _inp(),
            nir.Linear(weight=np.eye(2)),
            nir.LI(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2)),
            nir.Linear(weight=np.eye(2)),
            _lif(),
        ),
        "<graph>: node 'n2' (LI): feeds 'n4', but its output is its potential, not spikes; a "
        "chip sends only spikes, so a non-spiking node (LI, CubaLI, I) can only be read out "
        "(feed an Output)",
    ),
    (
        "same padding, even kernel",
        lambda: _chain(
            nir.Input(input_type={"input": np.array([1, 4, 4])}),
            nir.Conv2d(
                input_shape=(4, 4),
                weight=np.ones((1, 1, 2, 2)),
                stride=1,
                padding="same",
                dilation=1,
                groups=1,
                bias=np.zeros(1),
            ),
            _lif(16),
        ),
        "<graph>: node 'n1' (Conv2d): padding='same' is supported for odd kernels at stride 1 only",
    ),
]


@pytest.mark.parametrize(("build", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_graph_message(build, message) -> None:
    with pytest.raises(NirError) as info:
        import_nir(build())
    assert str(info.value) == message


def test_bad_spike_inputs(tmp_path) -> None:
    graph = _chain(_inp(), nir.Linear(weight=np.eye(2)), _lif())
    with pytest.raises(
        NirError, match=r"the spike array has shape \(5, 3\); expected \(n_steps, 2\)"
    ):
        import_nir(graph, spikes={"input": np.zeros((5, 3))}, dt_ms=1.0)
    with pytest.raises(NirError, match="spike arrays hold 0 or 1 per step and element"):
        import_nir(graph, spikes={"input": np.full((5, 2), 2)}, dt_ms=1.0)
    np.savez(tmp_path / "no_dt.npz", input=np.zeros((5, 2)))
    nir.write(str(tmp_path / "g.nir"), graph)
    with pytest.raises(NirError, match=r"no_dt\.npz: a spike file needs dt_ms"):
        load_nir(tmp_path / "g.nir", spikes=tmp_path / "no_dt.npz")
    with pytest.raises(NirError, match=r"missing\.nir: no such file"):
        load_nir(tmp_path / "missing.nir")


def test_spikes_from_nir_recorded_data(tmp_path) -> None:
    graph = mixed_graph()
    spikes = input_spikes(graph, 15)
    nir.write(str(tmp_path / "g.nir"), graph)
    np.savez(tmp_path / "in.npz", dt_ms=1.0, **spikes)
    dense = spikes["input"].reshape(1, 15, 24).astype(bool)
    gridded = nir.NIRGraphData(
        {"input": nir.NIRNodeData({"output": nir.TimeGriddedData(dense, 0.001)})}
    )
    nir.write_data(str(tmp_path / "grid.h5"), gridded)
    events = gridded.nodes["input"].observables["output"].to_event(n_events=int(dense.sum()))
    nir.write_data(
        str(tmp_path / "events.h5"),
        nir.NIRGraphData({"input": nir.NIRNodeData({"output": events})}),
    )
    want = load_nir(tmp_path / "g.nir", spikes=tmp_path / "in.npz").inputs[0]
    for name in ("grid.h5", "events.h5"):
        got = load_nir(tmp_path / "g.nir", spikes=tmp_path / name).inputs[0]
        assert isinstance(got, SpikeTimesInput) and isinstance(want, SpikeTimesInput)
        order_got = np.lexsort((got.indices, got.times_ms))
        order_want = np.lexsort((want.indices, want.times_ms))
        np.testing.assert_array_equal(got.indices[order_got], want.indices[order_want])
        np.testing.assert_allclose(got.times_ms[order_got], want.times_ms[order_want], atol=1e-9)


def test_export_refuses_what_nir_cannot_carry() -> None:
    lonely = Network((Population("a", 2, "nir_lif", {"bias": 0.5}),))
    with pytest.raises(NirError, match="node 'a' \\(nir_lif\\): has a bias but no incoming"):
        to_nir(lonely)
    source = SpikeTimesInput("x", 2, np.array([0]), np.array([1.0]))
    delays = Projection("x", "a", np.array([0, 1]), np.array([0, 0]), 1.0, np.array([1.0, 2.0]),
                        target="in")  # fmt: skip
    network = Network((Population("a", 2, "nir_lif"),), (delays,), (source,))
    with pytest.raises(NirError, match="its delays differ between synapses onto one neuron"):
        to_nir(network)
