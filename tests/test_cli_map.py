"""Tests of ``neuroemu map`` through click's CliRunner: exit codes, output and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from neuroemu.cli.main import cli


@pytest.fixture
def chip_file(tmp_path: Path, tiny_chip_yaml: str) -> Path:
    """The tiny chip with room for the scaled-down COBA model (4 cores of 32 neurons)."""
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_chip_yaml.replace("max_chips: {value: 16", "max_chips: {value: 64"))
    return path


def run(*args: str) -> object:
    return CliRunner().invoke(cli, ["map", *args])


def test_map_prints_utilisation(chip_file: Path) -> None:
    result = run("coba", "--chip", str(chip_file), "-p", "scale=0.05", "-p", "p=0.05")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "chip: tiny   strategy: fill   chips used: 2   cores used: 7 of 8" in out
    for name in ("neurons", "synapse_memory_bits", "fan_in"):
        assert name in out
    assert "min %" in out and "max %" in out
    assert "binding resource: neurons (max 100.0 % of a core)" in out
    assert "inter-core synapses:" in out
    assert "warning: neuron model 'coba_lif' (populations 'exc', 'inh') is not one" in out


@pytest.mark.parametrize("strategy", ["fill", "balanced", "min-traffic"])
def test_map_json(chip_file: Path, strategy: str) -> None:
    result = run(
        "coba", "--chip", str(chip_file), "-p", "scale=0.05", "--strategy", strategy, "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["chip"] == "tiny" and report["strategy"] == strategy
    assert report["model"] == "coba" and report["n_neurons"] == 200
    assert set(report["utilisation"]) == {"neurons", "synapse_memory_bits", "fan_in"}
    assert report["utilisation"]["neurons"]["max_percent"] <= 100.0
    assert report["binding_resource"] in report["utilisation"]
    assert 0.0 <= report["inter_core_fraction"] <= 1.0
    assert report["n_cores"] == 4 * report["n_chips"]


def test_map_does_not_fit(chip_file: Path) -> None:
    result = run("coba", "--chip", str(chip_file), "-p", "scale=0.05", "--max-chips", "1")
    assert result.exit_code == 1
    assert "Error: the network needs 7 cores of 'tiny'" in result.output
    assert "only 1 chip(s) are allowed (--max-chips 1)" in result.output
    assert "Use --max-chips 2." in result.output
    assert "Traceback" not in result.output


def test_map_fan_in_does_not_fit(tmp_path: Path, tiny_chip_yaml: str) -> None:
    path = tmp_path / "small_fan_in.yaml"
    path.write_text(tiny_chip_yaml.replace("fan_in: {value: 256", "fan_in: {value: 16"))
    result = run("coba", "--chip", str(path), "-p", "scale=0.05")
    assert result.exit_code == 1
    assert "distinct sources; cores of 'tiny' accept 16 input axons" in result.output
    assert f"({path}: core.fan_in). No strategy can place it." in result.output


def test_map_bad_model_parameter(chip_file: Path) -> None:
    result = run("coba", "--chip", str(chip_file), "-p", "scael=0.5")
    assert result.exit_code == 1
    assert "no parameter 'scael' (did you mean 'scale'?)" in result.output


def test_map_help() -> None:
    result = CliRunner().invoke(cli, ["map", "--help"])
    assert result.exit_code == 0
    assert "--strategy" in result.output and "min-traffic" in result.output
