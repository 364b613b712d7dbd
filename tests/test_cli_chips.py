"""``neuroemu chips list|show|check``: exit codes, output and error messages (no tracebacks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import TINY_CHIP_YAML

from neuroemu.cli.main import cli
from neuroemu.spec.chip import bundled_chip_dir, bundled_chip_names
from neuroemu.spec.gpu import bundled_gpu_dir, bundled_gpu_names


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["chips", *args])


def assert_clean_error(result: Result) -> None:
    """Exit status 1, an ``Error:`` paragraph, and never a traceback."""
    assert result.exit_code == 1, result.output
    assert "Error: " in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_list_shows_every_bundled_chip_and_gpu() -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    for name in bundled_chip_names() + bundled_gpu_names():
        assert name in result.output
    assert "pJ/synaptic event" in result.output
    assert "board W" in result.output
    loihi = next(line for line in result.output.splitlines() if line.startswith("loihi "))
    assert "23.6" in loihi and "1,024" in loihi
    dynapse2 = next(line for line in result.output.splitlines() if line.startswith("dynapse2 "))
    assert "unknown" in dynapse2  # no published synaptic-event energy


def test_list_json() -> None:
    result = invoke("list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(bundled_chip_names()) | set(bundled_gpu_names())
    assert rows["loihi"]["kind"] == "chip"
    assert rows["loihi"]["synaptic_event_pj"] == 23.6
    assert rows["loihi"]["cores_per_chip"] == 128
    assert rows["dynapse2"]["synaptic_event_pj"] is None
    assert rows["truenorth-amortised"]["accounting"] == "amortised"
    gpu = rows[bundled_gpu_names()[0]]
    assert gpu["kind"] == "gpu" and gpu["board_power_w"] > 0 and gpu["fp32_tflops"] > 0


def test_show_loihi_prints_the_synaptic_energy_with_its_source() -> None:
    result = invoke("show", "loihi")
    assert result.exit_code == 0, result.output
    line = next(
        line
        for line in result.output.splitlines()
        if line.startswith("energy.per_event_pj.synaptic_event")
    )
    assert "23.6 pJ" in line and "davies2018" in line
    assert "davies2018: M. Davies et al., Loihi" in result.output
    assert "IEEE Micro 38(1)" in result.output
    chip_crossing = next(line for line in result.output.splitlines() if "chip_crossing" in line)
    assert "unknown" in chip_crossing
    assert "[52, 81]" in result.output  # ranges are shown
    assert "estimated" in result.output  # and the estimated flag (input_event)


@pytest.mark.parametrize("name", bundled_chip_names() + bundled_gpu_names())
def test_show_every_bundled_descriptor(name: str) -> None:
    result = invoke("show", name)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(name)
    assert "sources:" in result.output


def test_show_a_gpu_file_by_path_reads_its_kind(tmp_path: Path) -> None:
    name = bundled_gpu_names()[0]
    path = tmp_path / "my_gpu.yaml"
    shutil.copy(bundled_gpu_dir() / f"{name}.yaml", path)
    result = invoke("show", str(path))
    assert result.exit_code == 0, result.output
    assert f"{name} (gpu)" in result.output
    assert "W" in result.output and "board_power_w" in result.output


def test_show_unknown_name_suggests_one() -> None:
    result = invoke("show", "lohi")
    assert_clean_error(result)
    assert "Did you mean 'loihi'" in result.output


def test_check_a_valid_chip(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_CHIP_YAML)
    result = invoke("check", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"OK: {path} is a valid chip descriptor (tiny)"


def test_check_bundled_files_by_path() -> None:
    for path in sorted(bundled_chip_dir().glob("*.yaml")) + sorted(
        bundled_gpu_dir().glob("*.yaml")
    ):
        result = invoke("check", str(path))
        assert result.exit_code == 0, result.output
        kind = "gpu" if path.parent == bundled_gpu_dir() else "chip"
        assert f"is a valid {kind} descriptor ({path.stem})" in result.output


def test_check_a_bad_file_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "my_chip.yaml"
    path.write_text(TINY_CHIP_YAML.replace("neurons: {value: 32,", "neurons: {value: '1k',"))
    result = invoke("check", str(path))
    assert_clean_error(result)
    assert f"Error: {path}:17: core.neurons.value: expected a valid integer, got '1k'" in (
        result.output
    )


def test_check_lists_every_problem_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "my_chip.yaml"
    text = TINY_CHIP_YAML.replace("  fan_in:", "  fan_inn:").replace(
        "synaptic_event: {value: 20, source: test}", "synaptic_event: '23.6 pJ'"
    )
    path.write_text(text)
    result = invoke("check", str(path))
    assert_clean_error(result)
    assert f"{path}:26: core.fan_inn: unknown key (did you mean 'fan_in'?)" in result.output
    assert f"{path}:41: energy.per_event_pj.synaptic_event: expected a quantity" in result.output


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (TINY_CHIP_YAML.replace("kind: chip", "kind: chp"), ":2: kind: expected 'chip' or 'gpu'"),
        (TINY_CHIP_YAML.replace("accounting: marginal", "accounting: amortised"), "amortised"),
        (TINY_CHIP_YAML.replace("{value: 256, source: test}", "{value: 256"), "not valid YAML"),
        ("", "the file is empty"),
        (TINY_CHIP_YAML.replace("format_version: 1", "format_version: 2"), "format_version"),
    ],
    ids=["bad_kind", "amortised_with_static", "invalid_yaml", "empty", "format_version"],
)
def test_check_bad_files_exit_1(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = invoke("check", str(path))
    assert_clean_error(result)
    assert fragment in result.output
    assert str(path) in result.output


def test_check_a_gpu_file_with_errors_uses_the_gpu_schema(tmp_path: Path) -> None:
    name = bundled_gpu_names()[0]
    text = (bundled_gpu_dir() / f"{name}.yaml").read_text().replace("l2_mb:", "l2_mbb:")
    path = tmp_path / "gpu.yaml"
    path.write_text(text)
    result = invoke("check", str(path))
    assert_clean_error(result)
    assert "memory.l2_mbb: unknown key (did you mean 'l2_mb'?)" in result.output


def test_check_missing_file_and_directory(tmp_path: Path) -> None:
    assert_clean_error(missing := invoke("check", str(tmp_path / "nope.yaml")))
    assert "no such file" in missing.output
    assert_clean_error(folder := invoke("check", str(tmp_path)))
    assert "not a regular file" in folder.output


@pytest.mark.parametrize("command", [[], ["list"], ["show"], ["check"]])
def test_help(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
