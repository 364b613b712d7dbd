"""``neuroemu run`` through click's CliRunner: a tiny model end to end, JSON, trace, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import TINY_CHIP_YAML

from neuroemu.cli.main import cli
from neuroemu.errors import NeuroEmuError


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["run", *args], prog_name="neuroemu")


@pytest.mark.brian2
def test_run_json_trace_and_overwrite(files: tuple[str, str], tmp_path: Path) -> None:
    model, chip = files
    trace = tmp_path / "run.h5"
    args = [model, "--chip", chip, "--duration-ms", "30", "--device", "numpy", "--json"]
    result = run(*args, "--trace", str(trace), "--gpu", "rtx2070", "--gpu-scope", "wall")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["mapping"]["chip"] == "tiny" and out["activity"]["n_steps"] == 30
    assert out["counts"]["synaptic_event"] > 0 and out["energy"]["total_j"] > 0
    assert [(g["style"], g["scope"]) for g in out["gpus"]] == [
        ("event-driven", "wall"),
        ("dense", "wall"),
    ]
    assert trace.stat().st_size > 0
    again = run(*args, "--trace", str(trace))
    assert again.exit_code == 1 and "exists; use --force" in again.output
    forced = run(*args, "--trace", str(trace), "--force", "--dt-ms", "0.5")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["activity"]["n_steps"] == 60


@pytest.mark.brian2
def test_run_prices_the_same_activity_on_a_second_chip(
    files: tuple[str, str], tmp_path: Path
) -> None:
    model, chip = files
    other = tmp_path / "other.yaml"
    other.write_text(TINY_CHIP_YAML.replace("name: tiny", "name: other"))
    result = run(model, "--chip", chip, "--chip", str(other), "--duration-ms", "20",
                 "--device", "numpy", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [line.split()[0] for line in result.output.splitlines() if line.split()[:1]]
    assert "tiny" in rows and "other" in rows


def test_bad_input_exits_with_a_message_not_a_traceback(files: tuple[str, str]) -> None:
    model, chip = files
    result = run(model, "--chip", "loihy")
    assert result.exit_code == 1 and "Did you mean 'loihi'" in result.output
    assert "Traceback" not in result.output
    result = run(model, "--chip", chip, "--duration-ms", "0")
    assert result.exit_code == 2 and "--duration-ms" in result.output
    result = run(model)
    assert result.exit_code == 2 and "--chip" in result.output
    result = run(model, "--chip", chip, "--gpu-scope", "moon")
    assert result.exit_code == 2


def test_the_earlier_chips_option_still_sets_the_chip_budget(
    files: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int | None] = []

    def fake_pipeline(*_args: object, n_chips: int | None = None, **_kwargs: object) -> None:
        seen.append(n_chips)
        raise NeuroEmuError("stopped before the run")

    monkeypatch.setattr("neuroemu.cli.run.run_pipeline", fake_pipeline)
    model, chip = files
    old = run(model, "--chip", chip, "--chips", "3")
    new = run(model, "--chip", chip, "--max-chips", "3")
    assert old.exit_code == new.exit_code == 1
    assert seen == [3, 3]
    assert "warning: --chips is deprecated; use --max-chips N" in old.stderr
    assert "deprecated" not in new.stderr
    clash = run(model, "--chip", chip, "--chips", "3", "--max-chips", "2")
    assert clash.exit_code == 2 and "given twice" in clash.output


def test_the_trace_path_is_checked_before_the_run(
    files: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    monkeypatch.setattr("neuroemu.cli.run.run_pipeline", lambda *a, **k: ran.append(1))
    model, chip = files
    missing = run(model, "--chip", chip, "--trace", str(tmp_path / "nope" / "run.h5"))
    assert missing.exit_code == 1 and "does not exist" in missing.output
    own = run(model, "--chip", chip, "--trace", chip, "--force")
    assert own.exit_code == 1 and "would overwrite an input" in own.output
    assert ran == []
