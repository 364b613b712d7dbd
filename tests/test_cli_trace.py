"""``neuroemu inspect``, ``plot`` and ``experiment`` through click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import TINY_CHIP_YAML
from test_experiment import EXPERIMENT, MODEL, fake_pipeline
from test_traces import synthetic_result

from neuroemu.cli.main import cli
from neuroemu.traces.file import FORMAT_VERSION, write_trace


@pytest.fixture
def trace(tmp_path):
    return write_trace(tmp_path / "run.h5", synthetic_result(), command="neuroemu run rich")


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("command", ["inspect", "plot", "experiment"])
def test_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output


def test_inspect_summarises(trace):
    result = invoke("inspect", trace)
    assert result.exit_code == 0, result.output
    for text in ("command: neuroemu run rich", "network rich: 3 population(s) (exc 40, inh 20, "
                 "out 8)", "strategy manual, 2 chip(s), 8 of 8 cores used", "synaptic_event",
                 "fakegpu", "unpriced: mystery"):  # fmt: skip
        assert text in result.output
    summary = json.loads(invoke("inspect", trace, "--json").output)
    assert summary["provenance"]["seed"] == 0 and summary["format_version"] == FORMAT_VERSION


def test_inspect_bad_file_is_an_error(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_text("hello")
    result = invoke("inspect", bad)
    assert result.exit_code == 1
    assert f"Error: {bad}: not an HDF5 file" in result.output


@pytest.mark.parametrize("kind", ["raster", "rates", "cores", "energy"])
def test_plot_writes_png(trace, tmp_path, kind):
    target = tmp_path / f"{kind}.png"
    result = invoke("plot", trace, "--kind", kind, "-o", target)
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 5_000 and f"wrote {target}" in result.output


def test_plot_defaults_and_errors(trace, tmp_path):
    result = invoke("plot", trace, "--kind", "cores", "--quantity", "hop")
    assert result.exit_code == 0 and (tmp_path / "run_cores.png").exists()
    result = invoke("plot", trace, trace, "--kind", "raster")
    assert result.exit_code == 2 and "draws one trace" in result.output
    result = invoke("plot", trace, "--kind", "cores", "--quantity", "joules", "--force")
    assert result.exit_code == 1 and "Error: unknown quantity 'joules'" in result.output


def test_plot_never_overwrites_its_trace_and_asks_before_replacing(trace, tmp_path):
    before = trace.read_bytes()
    result = invoke("plot", trace, "--kind", "raster", "-o", trace)
    assert result.exit_code == 1 and "would overwrite an input" in result.output
    result = invoke("plot", trace, "--kind", "raster", "-o", trace, "--force")
    assert result.exit_code == 1 and trace.read_bytes() == before
    png = tmp_path / "r.png"
    assert invoke("plot", trace, "--kind", "raster", "-o", png).exit_code == 0
    again = invoke("plot", trace, "--kind", "raster", "-o", png)
    assert again.exit_code == 1 and "exists; use --force" in again.output
    assert invoke("plot", trace, "--kind", "raster", "-o", png, "--force").exit_code == 0
    missing = invoke("plot", trace, "--kind", "raster", "-o", tmp_path / "nope" / "r.png")
    assert missing.exit_code == 1 and "does not exist" in missing.output


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    monkeypatch.setattr("neuroemu.pipeline.run_pipeline", fake_pipeline)
    (tmp_path / "mini.py").write_text(MODEL)
    (tmp_path / "tiny.yaml").write_text(TINY_CHIP_YAML)
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT)
    return path


def test_experiment_runs_and_a_rerun_keeps_finished_runs(experiment):
    result = invoke("experiment", experiment)
    assert result.exit_code == 0, result.output
    assert "[2/2] mini on tiny, seed 2" in result.output
    assert "wrote 2 trace(s) and results.csv to" in result.output
    result = invoke("experiment", experiment)
    assert result.exit_code == 0 and "seed 2: done before, kept" in result.output
    assert invoke("experiment", experiment, "--force").exit_code == 0


def test_experiment_bad_file(experiment):
    experiment.write_text(EXPERIMENT.replace("seeds: [1, 2]", "seed: [1, 2]"))
    result = invoke("experiment", experiment)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {experiment}:1: seeds: missing required field")
    assert f"{experiment}:9: seed: unknown key (did you mean 'seeds'?)" in result.output
