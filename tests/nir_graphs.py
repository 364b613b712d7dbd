"""NIR graphs built with the ``nir`` package for the tests: every supported node type, a
convolution with stride and padding, and a nested graph. Seeded, small (a few hundred synapses)."""

from __future__ import annotations

import itertools

import nir
import numpy as np


def conv_graph(seed: int = 0) -> nir.NIRGraph:
    """Input (2,8,8) -> Conv2d s2 p1 -> LIF -> SumPool2d -> Conv2d groups=2 -> IF -> AvgPool2d
    -> Flatten -> Affine -> CubaLIF -> Output."""
    rng = np.random.default_rng(seed)
    lif_shape = (4, 4, 4)
    w1 = rng.normal(0.0, 1.0, (4, 2, 3, 3))
    w1[0, 0, 1, 1] = 0.0  # a zero tap: still a synapse
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 8, 8])}),
        "conv1": nir.Conv2d(
            input_shape=(8, 8),
            weight=w1,
            stride=2,
            padding=1,
            dilation=1,
            groups=1,
            bias=rng.normal(0.0, 0.2, 4),
        ),
        "lif1": nir.LIF(
            tau=rng.uniform(0.004, 0.02, lif_shape),
            r=np.full(lif_shape, 2.0),
            v_leak=np.zeros(lif_shape),
            v_threshold=np.full(lif_shape, 0.3),
            v_reset=rng.uniform(-0.2, 0.0, lif_shape),
        ),
        "pool": nir.SumPool2d(
            kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
        ),
        "conv2": nir.Conv2d(
            input_shape=(2, 2),
            weight=rng.normal(0.0, 1.0, (4, 2, 3, 3)),
            stride=1,
            padding=1,
            dilation=1,
            groups=2,
            bias=np.zeros(4),
        ),
        "if1": nir.IF(r=np.full((4, 2, 2), 400.0), v_threshold=np.full((4, 2, 2), 0.5)),
        "avg": nir.AvgPool2d(
            kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
        ),
        "flat": nir.Flatten(input_type={"input": np.array([4, 1, 1])}, start_dim=0),
        "fc": nir.Affine(weight=rng.uniform(-0.5, 2.0, (3, 4)), bias=np.array([0.5, 0.0, -0.1])),
        "cuba": nir.CubaLIF(
            tau_syn=np.full(3, 0.005),
            tau_mem=np.array([0.01, 0.02, 0.01]),
            r=np.full(3, 3.0),
            v_leak=np.zeros(3),
            v_threshold=np.full(3, 0.2),
            w_in=np.array([1.0, 2.0, 1.5]),
        ),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }
    order = [
        "input",
        "conv1",
        "lif1",
        "pool",
        "conv2",
        "if1",
        "avg",
        "flat",
        "fc",
        "cuba",
        "output",
    ]
    return nir.NIRGraph(nodes=nodes, edges=list(itertools.pairwise(order)), type_check=False)


def mixed_graph(seed: int = 1) -> nir.NIRGraph:
    """Conv1d, Threshold, Flatten, Linear, Scale, Delay, LIF, a nested graph, LI, I, CubaLI."""
    rng = np.random.default_rng(seed)
    block = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([6])}),
            "fc": nir.Affine(weight=rng.normal(0.0, 1.5, (4, 6)), bias=np.full(4, 0.05)),
            "lif": nir.LIF(
                tau=np.full(4, 0.01),
                r=np.full(4, 5.0),
                v_leak=np.full(4, 0.1),
                v_threshold=np.full(4, 0.4),
            ),
            "output": nir.Output(output_type={"output": np.array([4])}),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
        type_check=False,
    )
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 12])}),
        "conv": nir.Conv1d(
            input_shape=12,
            weight=rng.normal(0.0, 1.0, (3, 2, 3)),
            stride=2,
            padding=1,
            dilation=2,
            groups=1,
            bias=np.array([0.1, 0.0, 0.2]),
        ),
        "thr": nir.Threshold(threshold=np.full((3, 5), 0.3)),
        "flat": nir.Flatten(input_type={"input": np.array([3, 5])}, start_dim=0),
        "lin": nir.Linear(weight=rng.normal(0.0, 1.0, (6, 15))),
        "scale": nir.Scale(scale=np.array([1.0, 2.0, 0.5, 1.5, 1.0, 3.0])),
        "delay": nir.Delay(delay=np.array([0.0, 0.001, 0.002, 0.0, 0.003, 0.001])),
        "lif": nir.LIF(
            tau=np.full(6, 0.005),
            r=np.full(6, 4.0),
            v_leak=np.zeros(6),
            v_threshold=np.full(6, 0.5),
        ),
        "block": block,
        "readout": nir.Linear(weight=rng.normal(0.0, 1.0, (2, 4))),
        "li": nir.LI(tau=np.array([0.01, 0.02]), r=np.ones(2), v_leak=np.zeros(2)),
        "integ_w": nir.Linear(weight=rng.normal(0.0, 1.0, (3, 6))),
        "integ": nir.I(r=np.full(3, 10.0)),
        "cli_w": nir.Linear(weight=rng.normal(0.0, 1.0, (2, 4))),
        "cli": nir.CubaLI(
            tau_syn=np.full(2, 0.004), tau_mem=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2)
        ),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [
        ("input", "conv"),
        ("conv", "thr"),
        ("thr", "flat"),
        ("flat", "lin"),
        ("lin", "scale"),
        ("scale", "delay"),
        ("delay", "lif"),
        ("lif", "block"),
        ("block", "readout"),
        ("readout", "li"),
        ("li", "output"),
        ("lif", "integ_w"),
        ("integ_w", "integ"),
        ("block", "cli_w"),
        ("cli_w", "cli"),
    ]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def input_spikes(graph: nir.NIRGraph, n_steps: int, seed: int = 2, p: float = 0.3) -> dict:
    """Random 0/1 spikes ``(n_steps, *shape)`` for every Input node of ``graph``."""
    rng = np.random.default_rng(seed)
    return {
        name: (rng.random((n_steps, *node.input_type["input"])) < p).astype(np.int8)
        for name, node in graph.nodes.items()
        if isinstance(node, nir.Input)
    }


def recurrent_graph(seed: int = 4) -> nir.NIRGraph:
    """Input -> Affine -> LIF with a recurrent Linear (a cycle through the neurons) and a
    Delay on the way back; the LIF reads out into an IF."""
    rng = np.random.default_rng(seed)
    n = 8
    nodes = {
        "input": nir.Input(input_type={"input": np.array([5])}),
        "fc": nir.Affine(weight=rng.uniform(0.0, 0.8, (n, 5)), bias=np.full(n, 0.02)),
        "lif": nir.LIF(
            tau=np.full(n, 0.008),
            r=np.full(n, 3.0),
            v_leak=np.zeros(n),
            v_threshold=np.full(n, 0.25),
            v_reset=np.full(n, -0.05),
        ),
        "rec": nir.Linear(weight=rng.normal(0.0, 0.6, (n, n))),
        "back": nir.Delay(delay=np.full(n, 0.002)),
        "out_w": nir.Linear(weight=rng.uniform(0.0, 1.0, (2, n))),
        "if1": nir.IF(r=np.full(2, 300.0), v_threshold=np.full(2, 1.0)),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [
        ("input", "fc"),
        ("fc", "lif"),
        ("lif", "rec"),
        ("rec", "back"),
        ("back", "lif"),
        ("lif", "out_w"),
        ("out_w", "if1"),
        ("if1", "output"),
    ]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
