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
def result():
    from neuroemu.pipeline import run_pipeline

    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    done = run_pipeline(make_tiny_network(), chip, duration_ms=100.0, seed=3, device="numpy",
                        n_chips=2)  # fmt: skip
    assert done.activity.n_spikes > 0
    return done


@pytest.fixture(scope="module")
def trace(result, tmp_path_factory):
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


@pytest.mark.parametrize("kind", ["raster", "rates", "cores", "energy", "layers"])
def test_figures_come_from_a_run_or_a_trace_and_save_nothing(result, trace, tmp_path, kind,
                                                             monkeypatch):  # fmt: skip
    from matplotlib.figure import Figure

    import neuroemu.plots as plots

    monkeypatch.chdir(tmp_path)
    make = getattr(plots, f"figure_{kind}")
    from_run, from_trace = make(result), make(trace)
    assert isinstance(from_run, Figure) and isinstance(from_trace, Figure)
    assert list(tmp_path.iterdir()) == []  # a figure is the caller's to save
    # The same run drawn from memory or from its trace gives the same picture.
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    from_run.savefig(first, format="png", dpi=50)
    from_trace.savefig(second, format="png", dpi=50)
    from matplotlib.image import imread

    assert np.array_equal(imread(first), imread(second))


def test_a_trace_has_a_one_line_repr(trace):
    text = repr(trace)
    assert len(text) < 300 and "\n" not in text
    assert text.startswith("<Trace ") and "on tiny, seed 3" in text and "60 neurons" in text


def test_every_result_object_has_a_short_repr(result):
    for name in ("network", "mapping", "counts", "report"):
        text = repr(getattr(result, name))
        assert text.startswith("<") and len(text) < 300 and "\n" not in text, name
    text = repr(result)
    assert text.startswith("<RunResult ") and len(text) < 600 and "<EnergyReport tiny" in text


def test_reports_and_counts_become_dataframes(result):
    pandas = pytest.importorskip("pandas")
    frame = result.report.to_dataframe()
    assert isinstance(frame, pandas.DataFrame) and "static" in frame.index
    assert frame["energy_pj"].sum() == pytest.approx(result.report.total_pj)
    counts = result.counts.to_dataframe()
    assert int(counts["synaptic_event"].sum()) == int(
        result.counts.per_core["synaptic_event"].sum()
    )


def test_to_dataframe_without_pandas_says_how(monkeypatch):
    import importlib

    from neuroemu.dataframes import to_dataframe
    from neuroemu.errors import NeuroEmuError

    real = importlib.import_module

    def no_pandas(name, *args):
        if name == "pandas":
            raise ImportError("no pandas")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_pandas)
    with pytest.raises(NeuroEmuError, match="pip install pandas"):
        to_dataframe([{"name": "a"}])
