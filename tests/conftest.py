"""Shared fixtures: a tiny chip and a tiny network built in code, so tests do not depend on the
bundled descriptors' numbers (those are checked separately)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuroemu.network.connectivity import fixed_probability
from neuroemu.network.network import Network, PoissonInput, Population, Projection
from neuroemu.spec.chip import ChipSpec, parse_chip

TINY_CHIP_YAML = """\
format_version: 1
kind: chip
name: tiny
sources:
  test: "made up for the tests"
identity:
  full_name: Tiny test chip
  vendor: tests
topology:
  cores_per_chip: {value: 4, source: test}
  cores_per_tile: {value: 2, source: test}
  mesh_width_tiles: {value: 2, source: test}
  mesh_height_tiles: {value: 1, source: test}
  chips_per_board: {value: 4, source: test}
  max_chips: {value: 16, source: test}
core:
  neurons: {value: 32, source: test}
  synapse_memory_bits: {value: 65536, source: test}
  synapse_encodings:
    sparse: {value: 16, source: test}
    dense: {value: 8, source: test}
  default_encoding: sparse
  dense_encoding: dense
  weight_bits: {value: 8, source: test}
  weight_signed: true
  fan_in: {value: 256, source: test}
  delay_slots: {value: 16, source: test}
neuron_models: [lif, cuba_lif]
timing:
  mode: barrier
  dt_ms: {value: 1.0, source: test}
  barrier_ns: {value: 100, source: test}
  per_event_ns:
    neuron_update: {value: 5, source: test}
    synaptic_event: {value: 3, source: test}
    message: {value: 2, source: test}
energy:
  accounting: marginal
  per_event_pj:
    neuron_update: {value: 50, source: test}
    synaptic_event: {value: 20, source: test}
    spike_out: {value: 7, source: test}
    message: {value: 2, source: test}
    hop: {value: 3, source: test}
    chip_crossing: {value: 100, source: test}
    learning_update: {value: 120, source: test}
    input_event: {value: 1.5, source: test}
  static_power_mw:
    per_chip: {value: 10, source: test}
    per_core: {value: 0.5, source: test}
"""


@pytest.fixture
def tiny_chip_yaml() -> str:
    """Text of a valid 4-core chip descriptor (2 tiles of 2 cores)."""
    return TINY_CHIP_YAML


@pytest.fixture
def tiny_chip() -> ChipSpec:
    """A 4-core chip: 32 neurons and 64 kbit of synapse memory per core."""
    return parse_chip(TINY_CHIP_YAML, "tiny.yaml")


def make_tiny_network(seed: int = 0, delay_ms: float | np.ndarray = 0.0) -> Network:
    """Two LIF populations (40 + 20 neurons), a Poisson input, recurrent random projections."""
    rng = np.random.default_rng(seed)
    exc = Population(
        "exc",
        40,
        "lif",
        parameters={"v_bias_mV": 14.0},
        initial={"v_mV": -65.0 + 15.0 * rng.random(40)},
    )
    inh = Population("inh", 20, "lif", parameters={"v_bias_mV": 10.0})
    noise = PoissonInput("noise", 10, rate_hz=50.0)
    projections = []
    for pre, post, n_pre, n_post, target, w in (
        ("exc", "exc", 40, 40, "exc", 0.5),
        ("exc", "inh", 40, 20, "exc", 0.8),
        ("inh", "exc", 20, 40, "inh", 1.0),
        ("noise", "exc", 10, 40, "exc", 2.0),
    ):
        i, j = fixed_probability(n_pre, n_post, 0.2, rng)
        projections.append(Projection(pre, post, i, j, w, delay_ms=delay_ms, target=target))
    return Network((exc, inh), tuple(projections), (noise,), name="tiny")


@pytest.fixture
def tiny_network() -> Network:
    return make_tiny_network()


def manual_mapping(network, chip, core_of_neuron, n_chips=1, strategy="manual"):
    """A Mapping with a given placement, built without map_network (tests of the accounting).

    Usage is filled for neurons only; the accounting needs the placement and the fan-out.
    """
    import scipy.sparse as sp

    from neuroemu.mapping.mapping import RESOURCES, Mapping

    core_of_neuron = np.asarray(core_of_neuron, dtype=np.int32)
    n_cores = n_chips * chip.cores_per_chip
    rows, cols, in_rows, in_cols = [], [], [], []
    for proj in network.projections:
        post_core = core_of_neuron[network.global_post(proj)]
        if network.is_input(proj.pre):
            in_rows.append(network.global_pre(proj))
            in_cols.append(post_core)
        else:
            rows.append(network.global_pre(proj))
            cols.append(post_core)

    def matrix(r, c, n):
        r = np.concatenate(r) if r else np.empty(0, np.int64)
        c = np.concatenate(c) if c else np.empty(0, np.int64)
        return sp.csr_matrix((np.ones(len(r), np.int64), (r, c)), shape=(n, n_cores))

    usage = {name: np.zeros(n_cores) for name in RESOURCES}
    usage["neurons"] = np.bincount(core_of_neuron, minlength=n_cores).astype(float)
    return Mapping(
        chip=chip,
        strategy=strategy,
        n_chips=n_chips,
        core_of_neuron=core_of_neuron,
        usage=usage,
        limits={name: None for name in RESOURCES},
        dest_synapses=matrix(rows, cols, network.n_neurons),
        input_dest_synapses=matrix(in_rows, in_cols, max(network.n_input_sources, 0)),
    )


_TESTS = Path(__file__).resolve().parent

MODEL = f"""
import sys
sys.path.insert(0, {str(_TESTS)!r})
from conftest import make_tiny_network


def build(seed: int = 0):
    return make_tiny_network(seed)
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    """A tiny model file and a tiny chip file."""
    model, chip = tmp_path / "tiny_model.py", tmp_path / "tiny.yaml"
    model.write_text(MODEL)
    chip.write_text(TINY_CHIP_YAML)
    return str(model), str(chip)
