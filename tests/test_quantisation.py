"""Quantising weights to the chip's precision: a warning, with the numbers, when non-zero
weights become zero; --no-quantise runs the weights as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY_CHIP_YAML, make_tiny_network

from neuroemu.activity import Activity, QuantisationReport
from neuroemu.cli.main import cli
from neuroemu.pipeline import quantisation_note

_TESTS = Path(__file__).resolve().parent

MODEL = f"""
import sys
import numpy as np
sys.path.insert(0, {str(_TESTS)!r})
from conftest import make_tiny_network
from neuroemu.network.network import Network, Projection


def build(seed: int = 0):
    net = make_tiny_network(seed)
    first = net.projections[0]
    weight = np.full(len(first.i), 0.5)
    weight[:7] = 1e-4  # far below one level of 8 bits at a peak of 0.5
    changed = Projection(first.pre, first.post, first.i, first.j, weight, target=first.target)
    return Network(net.populations, (changed, *net.projections[1:]), net.inputs, name="tiny")
"""


def test_the_note_names_each_projection_with_its_numbers():
    network = make_tiny_network()
    first = network.projections[0]
    reports = {
        first.name: QuantisationReport(first.name, 8, True, 0.1, 0.01, 0.02, 7),
        network.projections[1].name: QuantisationReport("b", 8, True, 0.1, 0.01, 0.02, 0),
    }
    activity = Activity(
        dt_ms=1.0, n_steps=1, spikes={}, seed=0, device="numpy", quantisation=reports
    )
    note = quantisation_note(network, activity)
    assert note is not None and f"{first.name}: 7 of {first.n_synapses:,}" in note
    assert "at 8 bits" in note and network.projections[1].name + ":" not in note
    clean = Activity(dt_ms=1.0, n_steps=1, spikes={}, seed=0, device="numpy", quantisation={})
    assert quantisation_note(network, clean) is None


@pytest.mark.brian2
def test_run_warns_and_no_quantise_runs_the_weights_as_written(tmp_path):
    (tmp_path / "m.py").write_text(MODEL)
    (tmp_path / "tiny.yaml").write_text(TINY_CHIP_YAML)
    args = ["run", str(tmp_path / "m.py"), "--chip", str(tmp_path / "tiny.yaml"),
            "--duration-ms", "20", "--device", "numpy", "--quiet"]  # fmt: skip
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert "Warning: quantising weights to the chip's precision rounded" in done.output
    assert ": 7 of " in done.output and "at 8 bits" in done.output
    plain = CliRunner().invoke(cli, [*args, "--no-quantise", "--json"])
    assert plain.exit_code == 0 and "Warning: quantising" not in plain.output
