"""Experiment files: strict validation with file:line:field, and a tiny experiment end to end."""

from __future__ import annotations

import csv

import pytest
from conftest import TINY_CHIP_YAML
from test_traces import synthetic_result

from neuroemu.errors import DescriptorError, NeuroEmuError, RunInterrupted, TraceError
from neuroemu.experiment import load_experiment, run_experiment
from neuroemu.traces.file import read_trace

MODEL = """\
import numpy as np

from neuroemu.network.connectivity import fixed_probability
from neuroemu.network.network import Network, Population, Projection


def build(n: int = 30, seed: int = 1) -> Network:
    rng = np.random.default_rng(seed)
    pop = Population("exc", n, "lif", parameters={"v_bias_mV": 16.0},
                     initial={"v_mV": -65 + 15 * rng.random(n)})
    i, j = fixed_probability(n, n, 0.2, rng)
    return Network((pop,), (Projection("exc", "exc", i, j, 0.5, delay_ms=1.0),), name="mini")
"""

EXPERIMENT = """\
format_version: 1
kind: experiment
model: mini.py
params:
  n: 30
chips: [tiny.yaml]
gpus: [rtx2070]
duration_ms: 20
seeds: [1, 2]
device: numpy
outputs:
  folder: out
  table: results.csv
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "mini.py").write_text(MODEL)
    (tmp_path / "tiny.yaml").write_text(TINY_CHIP_YAML)
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("duration_ms: 20", "duraton_ms: 20", 8, "duraton_ms", "did you mean 'duration_ms'"),
        ("seeds: [1, 2]", "seeds: [1, two]", 9, "seeds[1]", "valid integer"),
        ("seeds: [1, 2]", "seeds: [1, 1]", 9, "seeds[1]", "listed twice"),
        ("seeds: [1, 2]", "seeds: [1, 4294967296]", 9, "seeds[1]", "outside [0, 2**32 - 1]"),
        ("seeds: [1, 2]", "seeds: [-1, 2]", 9, "seeds[0]", "outside [0, 2**32 - 1]"),
        ("[tiny.yaml]", "[tiny.yaml, loihy]", 6, "chips[1]", "Did you mean 'loihi'"),
        ("gpus: [rtx2070]", "gpus: [rtx9999]", 7, "gpus[0]", "no bundled GPU"),
        ("  n: 30", "  m: 30", 5, "params.m", "no parameter 'm'"),
        ("model: mini.py", "model: maxi.py", 3, "model", "no such model file"),
        (
            "device: numpy",
            "device: gpu",
            10,
            "device",
            "'auto', 'runtime', 'cython', 'numpy' or 'cpp'",
        ),
        ("table: results.csv", "table: results.txt", 13, "outputs.table", "ending in .csv"),
        ("format_version: 1", "format_version: 2", 1, "format_version", "expected 1"),
    ],
)
def test_bad_file_gives_file_line_field(folder, old, new, line, field, message):
    path = folder / "exp.yaml"
    path.write_text(EXPERIMENT.replace(old, new))
    with pytest.raises(DescriptorError) as info:
        load_experiment(path)
    assert f"{path}:{line}: {field}: " in str(info.value)
    assert message in str(info.value)


def test_a_chip_that_cannot_hold_the_model_stops_before_any_run(folder):
    small = TINY_CHIP_YAML.replace("neurons: {value: 32", "neurons: {value: 2")
    small = small.replace("max_chips: {value: 16", "max_chips: {value: 1").replace("tiny", "small")
    (folder / "small.yaml").write_text(small)
    path = folder / "exp.yaml"
    path.write_text(EXPERIMENT.replace("[tiny.yaml]", "[tiny.yaml, small.yaml]"))
    with pytest.raises(NeuroEmuError, match=rf"{path}:6: chips\[1\]: the model does not fit"):
        run_experiment(path)
    assert not (folder / "out").exists()


@pytest.mark.brian2
def test_tiny_experiment_writes_traces_and_table(folder):
    lines = []
    rows = run_experiment(folder / "exp.yaml", progress=lines.append)
    assert lines == ["[1/2] mini on tiny, seed 1", "[2/2] mini on tiny, seed 2"]
    out = folder / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "mini_tiny_seed1.h5", "mini_tiny_seed2.h5", "results.csv"
    ]  # fmt: skip
    with open(out / "results.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(rows) == 6  # 2 seeds x (the chip + 2 GPU styles)
    assert [(r["seed"], r["device"], r["style"]) for r in table[:3]] == [
        ("1", "tiny", "marginal"), ("1", "rtx2070", "event-driven"), ("1", "rtx2070", "dense")
    ]  # fmt: skip
    assert all(float(r["total_j"]) > 0 for r in table)
    trace = read_trace(out / "mini_tiny_seed2.h5")
    assert trace.seed == 2 and trace.chip.name == "tiny" and len(trace.gpu_reports) == 2
    assert trace.provenance["command"].startswith("neuroemu experiment")
    assert table[3]["n_spikes"] == str(trace.activity.n_spikes)


def fake_pipeline(model, chip, duration_ms, seed, **kwargs):
    """Stands in for run_pipeline where a test is about files, not simulations."""
    return synthetic_result(seed=seed)


def test_a_rerun_keeps_finished_runs_and_does_only_the_rest(folder, monkeypatch):
    calls = []

    def counted(model, chip, duration_ms, seed, **kwargs):
        calls.append(seed)
        return fake_pipeline(model, chip, duration_ms, seed, **kwargs)

    monkeypatch.setattr("neuroemu.pipeline.run_pipeline", counted)
    path = folder / "exp.yaml"
    run_experiment(path)
    assert calls == [1, 2]
    table = (folder / "out" / "results.csv").read_bytes()
    lines = []
    rows = run_experiment(path, progress=lines.append)
    assert calls == [1, 2] and len(rows) == 2 * 3  # nothing ran again
    assert lines[1].endswith("seed 2: done before, kept")
    assert (folder / "out" / "results.csv").read_bytes() == table
    # a missing trace means that run is not finished: only it runs again
    (folder / "out" / "mini_tiny_seed2.h5").unlink()
    run_experiment(path)
    assert calls == [1, 2, 2]
    rows = run_experiment(path, force=True)
    assert calls == [1, 2, 2, 1, 2] and read_trace(folder / "out" / "mini_tiny_seed1.h5").seed == 1


def test_an_interrupted_experiment_keeps_its_finished_rows(folder, monkeypatch):
    def stops_at_seed_2(model, chip, duration_ms, seed, **kwargs):
        if seed == 2:
            raise RunInterrupted(3, 20)
        return fake_pipeline(model, chip, duration_ms, seed, **kwargs)

    monkeypatch.setattr("neuroemu.pipeline.run_pipeline", stops_at_seed_2)
    path = folder / "exp.yaml"
    with pytest.raises(RunInterrupted):
        run_experiment(path)
    with open(folder / "out" / "results.csv", newline="") as handle:
        assert {row["seed"] for row in csv.DictReader(handle)} == {"1"}
    assert not (folder / "out" / "mini_tiny_seed2.h5").exists()
    calls = []
    monkeypatch.setattr(
        "neuroemu.pipeline.run_pipeline",
        lambda model, chip, duration_ms, seed, **kw: calls.append(seed) or fake_pipeline(
            model, chip, duration_ms, seed, **kw),
    )  # fmt: skip
    rows = run_experiment(path)
    assert calls == [2] and [r["seed"] for r in rows[::3]] == [1, 2]


def test_a_table_of_another_experiment_needs_force(folder, monkeypatch):
    monkeypatch.setattr("neuroemu.pipeline.run_pipeline", fake_pipeline)
    path = folder / "exp.yaml"
    run_experiment(path)
    table = (folder / "out" / "results.csv").read_bytes()
    path.write_text(EXPERIMENT.replace("n: 30", "n: 31"))
    with pytest.raises(TraceError, match=r"6 row\(s\) of runs this experiment no longer has"):
        run_experiment(path)
    assert (folder / "out" / "results.csv").read_bytes() == table
    assert len(run_experiment(path, force=True)) == 6


def test_traces_can_be_switched_off(folder, monkeypatch):
    monkeypatch.setattr("neuroemu.pipeline.run_pipeline", fake_pipeline)
    path = folder / "exp.yaml"
    path.write_text(EXPERIMENT.replace("  table:", "  traces: false\n  table:"))
    rows = run_experiment(path)
    assert [p.name for p in (folder / "out").iterdir()] == ["results.csv"]
    assert {r["trace"] for r in rows} == {""}


def test_overrides_in_the_file_and_on_the_command_line_derive_the_chips(folder):
    path = folder / "exp.yaml"
    path.write_text(
        EXPERIMENT.replace("device: numpy", "device: numpy\noverrides:\n  core.neurons: 16")
    )
    loaded = load_experiment(path)
    (chip,) = loaded.chips
    assert chip.name == "tiny-set-core.neurons-16" and chip.core.neurons.require() == 16
    assert chip.core.neurons.estimated  # a value nobody published
    both = load_experiment(path, overrides=["core.fan_in=128"])
    assert both.chips[0].core.neurons.require() == 16 and both.chips[0].core.fan_in.require() == 128
    path.write_text(
        EXPERIMENT.replace("device: numpy", "device: numpy\noverrides:\n  core.neurons: -1")
    )
    with pytest.raises(DescriptorError) as caught:
        load_experiment(path)
    assert str(caught.value).startswith(f"{path}:11: overrides:")
    assert "core.neurons" in str(caught.value)
