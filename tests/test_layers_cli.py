"""Per-layer results reach the user: `run --by`, `--json`, traces and the layers plot."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from neuroemu.cli.main import cli
from neuroemu.events import EVENT_KINDS

pytestmark = pytest.mark.brian2


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_json_layers_sum_to_the_totals_and_the_trace_recomputes_them(files, tmp_path):
    from neuroemu.traces.file import read_trace

    model, chip = files
    trace = tmp_path / "run.h5"
    done = run("run", model, "--chip", chip, "--duration-ms", "30", "--device", "numpy",
               "--json", "--trace", trace)  # fmt: skip
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output[done.output.index("{") :])
    groups = summary["layers"]["groups"]
    read = read_trace(trace)
    for kind in EVENT_KINDS:
        assert sum(int(g[kind]) for g in groups) == int(read.counts.per_core[kind].sum()), kind
    # The trace holds everything the layers come from: recomputed, they are the run's.
    assert read.layers.to_dict() == summary["layers"]


def test_by_population_table_has_a_total_row(files):
    model, chip = files
    done = run("run", model, "--chip", chip, "--duration-ms", "30", "--device", "numpy",
               "--quiet", "--by", "population")  # fmt: skip
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    header = next(k for k, line in enumerate(lines) if line.startswith("name "))
    names = [line.split()[0] for line in lines[header + 2 : header + 6]]
    assert names == ["exc", "inh", "noise", "total"]
    assert "100.0 %" in lines[header + 5]
