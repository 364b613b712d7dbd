"""``neuroemu compare`` and the shared comparison table (neuroemu.comparison)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner, Result
from conftest import TINY_CHIP_YAML, make_tiny_network

from neuroemu.activity import Activity, Spikes
from neuroemu.cli.format import format_comparison
from neuroemu.cli.main import cli
from neuroemu.comparison import COLUMNS, comparison_rows, price_on_chip
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec


def report(
    device: str, kind: str, total_pj: float | None, time_s: float = 2.0, events: int = 1000
) -> EnergyReport:
    dynamic = {"x": None} if total_pj is None else {"x": total_pj / 2}
    return EnergyReport(
        device,
        kind,
        "s",
        "model",
        "board",
        100.0,
        time_s,
        dynamic,
        None if total_pj is None else total_pj / 2,
        {"synaptic_event": events},
    )


def test_rows_relate_every_energy_to_the_best_gpu() -> None:
    rows = comparison_rows(
        [
            report("chip", "chip", 1e9),
            report("g1", "gpu", 4e12),
            report("g2", "gpu", 2e12),
            report("bad", "chip", None),
        ]
    )
    assert [r["ratio_to_best_gpu"] for r in rows] == [pytest.approx(5e-4), 2.0, 1.0, None]
    assert rows[1]["energy_j"] == 4.0 and rows[1]["time_s"] == 2.0
    assert rows[1]["energy_per_synaptic_event_pj"] == pytest.approx(4e9)
    assert rows[1]["energy_delay_product_js"] == pytest.approx(8.0)
    assert rows[3]["energy_j"] is None and rows[3]["energy_delay_product_js"] is None
    assert set(rows[0]) == set(COLUMNS)
    assert comparison_rows([report("chip", "chip", 1e9)])[0]["ratio_to_best_gpu"] is None


def test_table_names_units_and_marks_unpriced_cells() -> None:
    text = format_comparison([report("loihi", "chip", 1e9), report("bad", "chip", None)])
    header = text.splitlines()[0]
    for column in ("energy_j", "time_s", "pj_per_synaptic_event", "ratio_to_best_gpu"):
        assert column in header
    bad = next(line for line in text.splitlines() if line.startswith("bad"))
    assert " - " in bad


# ---- the command, with the one Brian2 run replaced by a recorded activity ------------------


def fake_activity(seed: int = 0, n_steps: int = 200) -> Activity:
    rng = np.random.default_rng(seed)
    spikes = {}
    for name, size, count in (("exc", 40, 300), ("inh", 20, 100), ("noise", 10, 100)):
        spikes[name] = Spikes(
            rng.integers(0, size, count), np.sort(rng.integers(0, n_steps, count))
        )
    return Activity(1.0, n_steps, spikes, seed=seed, device="recorded")


@pytest.fixture
def fake_pipeline(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Replace the Brian2 run: price a recorded activity of the tiny network on the first chip."""
    calls: list[tuple] = []

    def run_pipeline(
        model: str,
        chip: ChipSpec,
        duration_ms: float,
        seed: int,
        params: dict,
        strategy: str,
        device: str,
        n_chips: int | None = None,
        **_pricing: object,
    ) -> SimpleNamespace:
        calls.append((model, chip.name, duration_ms, seed, params, strategy, device))
        network, activity = make_tiny_network(), fake_activity()
        return SimpleNamespace(
            network=network,
            activity=activity,
            mapping=None,
            counts=None,
            report=price_on_chip(
                network, activity, chip, strategy, scope=str(_pricing.get("scope", "chip"))
            ),
        )

    monkeypatch.setattr("neuroemu.cli.compare.run_pipeline", run_pipeline)
    return calls


def chip_file(tmp_path: Path, name: str, **changes: str) -> str:
    text = TINY_CHIP_YAML.replace("name: tiny", f"name: {name}")
    for old, new in changes.items():
        text = text.replace(old, new)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["compare", *args])


def test_compare_prints_one_table_for_chips_and_both_gpu_styles(
    tmp_path: Path, fake_pipeline: list[tuple]
) -> None:
    result = invoke(
        "cuba",
        "--chip",
        chip_file(tmp_path, "tiny_a"),
        "--chip",
        chip_file(tmp_path, "tiny_b"),
        "--gpu",
        "rtx2070",
        "--gpu",
        "h200",
        "--duration-ms",
        "200",
        "--seed",
        "3",
        "-p",
        "scale=0.5",
        "--strategy",
        "balanced",
    )
    assert result.exit_code == 0, result.output
    assert fake_pipeline == [("cuba", "tiny_a", 200.0, 3, {"scale": "0.5"}, "balanced", "auto")]
    lines = result.output.splitlines()
    assert lines[0].startswith("model cuba: 60 neurons")
    body = [
        line.split()
        for line in lines
        if line.split()[:1] in (["tiny_a"], ["tiny_b"], ["rtx2070"], ["h200"])
    ]
    assert [(row[0], row[2]) for row in body] == [
        ("tiny_a", "marginal"),
        ("tiny_b", "marginal"),
        ("rtx2070", "event-driven"),
        ("rtx2070", "dense"),
        ("h200", "event-driven"),
        ("h200", "dense"),
    ]


def test_compare_json_rows(tmp_path: Path, fake_pipeline: list[tuple]) -> None:
    result = invoke(
        "m", "--chip", chip_file(tmp_path, "tiny"), "--gpu", "h200", "--json", "--gpu-scope", "wall"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["simulated_ms"] == 200.0 and out["notes"] == []
    rows = out["rows"]
    assert [(r["device"], r["style"], r["scope"]) for r in rows] == [
        ("tiny", "marginal", "chip"),
        ("h200", "event-driven", "wall"),
        ("h200", "dense", "wall"),
    ]
    assert min(r["ratio_to_best_gpu"] for r in rows[1:]) == 1.0
    assert all(set(r) == set(COLUMNS) for r in rows)


def test_a_chip_the_network_does_not_fit_is_a_note(tmp_path: Path, fake_pipeline: list) -> None:
    small = chip_file(
        tmp_path,
        "small",
        **{
            "neurons: {value: 32": "neurons: {value: 4",
            "max_chips: {value: 16": "max_chips: {value: 1",
        },
    )
    slow = chip_file(tmp_path, "slow", **{"dt_ms: {value: 1.0": "dt_ms: {value: 0.5"})
    tiny = chip_file(tmp_path, "tiny")
    result = invoke("m", "--chip", tiny, "--chip", small, "--chip", slow)
    assert result.exit_code == 0, result.output
    assert "note: small: does not fit:" in result.output
    assert "note: slow: priced on the activity run at dt 1 ms (its own timestep is 0.5 ms)" in (
        result.output
    )


def test_bad_descriptors_fail_before_the_run(tmp_path: Path, fake_pipeline: list) -> None:
    result = invoke("m", "--chip", chip_file(tmp_path, "tiny"), "--gpu", "h300")
    assert result.exit_code == 1 and "Error: " in result.output and "h300" in result.output
    assert "Traceback" not in result.output
    assert fake_pipeline == []
    result = invoke("m")
    assert result.exit_code == 2 and "--chip is needed at least once" in result.output


def test_the_earlier_comma_spellings_still_work_and_name_the_new_ones(
    tmp_path: Path, fake_pipeline: list
) -> None:
    tiny, other = chip_file(tmp_path, "tiny"), chip_file(tmp_path, "other")
    old = invoke("m", "--chips", f"{tiny},{other}", "--gpus", "h200", "--json")
    new = invoke("m", "--chip", tiny, "--chip", other, "--gpu", "h200", "--json")
    assert old.exit_code == 0 and new.exit_code == 0, old.output + new.output
    assert json.loads(old.stdout) == json.loads(new.stdout)
    assert "warning: --chips is deprecated; use --chip NAME (repeatable)" in old.stderr
    assert "warning: --gpus is deprecated; use --gpu NAME (repeatable)" in old.stderr
    # --scope, once the GPU scope, now sets every device's scope: GPUs at the wall as before.
    wall = json.loads(
        invoke("m", "--chip", tiny, "--gpu", "h200", "--json", "--scope", "wall").stdout
    )
    assert [r["scope"] for r in wall["rows"]] == ["wall", "wall", "wall"]
    result = invoke("m", "--chips", " , ")
    assert result.exit_code == 2 and "--chip is needed at least once" in result.output


def test_price_on_chip_matches_the_pipeline_accounting(tiny_chip: ChipSpec) -> None:
    network, activity = make_tiny_network(), fake_activity()
    priced = price_on_chip(network, activity, tiny_chip)
    assert priced.device == "tiny" and priced.device_kind == "chip"
    assert priced.synaptic_events > 0


@pytest.mark.brian2
def test_compare_runs_a_bundled_model_end_to_end() -> None:
    result = invoke(
        "cuba",
        "--chip",
        "loihi",
        "--gpu",
        "rtx2070",
        "--duration-ms",
        "20",
        "-p",
        "scale=0.05",
        "--device",
        "numpy",
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [r["device"] for r in rows] == ["loihi", "rtx2070", "rtx2070"]
    assert all(r["energy_j"] > 0 for r in rows)
