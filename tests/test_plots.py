"""Every plot kind renders a non-blank PNG from a real (tiny, numpy-device) run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import TINY_CHIP_YAML, make_tiny_network

from neuroemu.errors import NeuroEmuError
from neuroemu.plots import PLOTS, plot_cores, plot_energy
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import parse_chip
from neuroemu.traces.file import read_trace, write_trace

pytestmark = pytest.mark.brian2


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    from neuroemu.pipeline import run_pipeline

    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    result = run_pipeline(make_tiny_network(), chip, duration_ms=100.0, seed=3, device="numpy",
                          n_chips=2)  # fmt: skip
    assert result.activity.n_spikes > 0
    return read_trace(write_trace(tmp_path_factory.mktemp("plots") / "run.h5", result))


def assert_picture(path):
    from matplotlib.image import imread

    assert path.stat().st_size > 5_000
    pixels = imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 300
    colours = np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)
    assert pixels.var() > 0 and len(colours) > 10


@pytest.mark.parametrize("kind", sorted(PLOTS))
def test_every_plot_renders(trace, tmp_path, kind):
    path = PLOTS[kind](trace, tmp_path / f"{kind}.png")
    assert path == tmp_path / f"{kind}.png"
    assert_picture(path)
    assert [p.name for p in tmp_path.iterdir()] == [f"{kind}.png"]  # no temporary left


def test_cores_by_event_kind_and_bad_quantity(trace, tmp_path):
    assert_picture(plot_cores(trace, tmp_path / "hops.png", quantity="events"))
    with pytest.raises(NeuroEmuError, match="unknown quantity"):
        plot_cores(trace, tmp_path / "x.png", quantity="joules")


def test_energy_compares_chips_and_gpus(trace, tmp_path):
    gpu = EnergyReport(
        device="fakegpu", device_kind="gpu", style="event-driven", method="model",
        scope="board", simulated_ms=100.0, time_s=0.02, dynamic_pj={"neuron_kernel": 2e8,
        "synapse_kernel": 5e8, "launch": 1e9}, static_pj=1e12,
    )  # fmt: skip
    unpriced = dataclasses.replace(trace.report, device="other", dynamic_pj={"hop": None})
    path = plot_energy([trace, gpu, unpriced], tmp_path / "energy.png")
    assert_picture(path)
