"""``neuroemu validate``: the cases, the arithmetic of a row, the table's columns."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from neuroemu.cli.main import cli
from neuroemu.spec.chip import load_chip
from neuroemu.validate import Case, Workload, price_case, synthetic_counts
from neuroemu.validation_cases import CASES, TRUENORTH_WORKLOAD

COLUMNS = {
    "case", "chip", "workload", "scope", "operating_point", "n_boards", "unit", "published",
    "estimate", "low", "high", "ratio", "band", "verdict", "source", "notes",
}  # fmt: skip


def test_synthetic_counts_keep_the_workload_totals_exactly() -> None:
    chip = load_chip("truenorth")
    counts = synthetic_counts(chip, TRUENORTH_WORKLOAD)
    totals = counts.totals()
    neurons = TRUENORTH_WORKLOAD.n_neurons
    assert totals["neuron_update"] == neurons * 1000
    assert totals["synaptic_event"] == neurons * 20 * 128
    assert totals["spike_out"] == neurons * 20 and totals["hop"] == neurons * 20 * 42
    assert counts.n_chips == 1 and counts.n_cores_used == 4096


def test_a_row_is_estimate_over_published_and_a_miss_is_reported() -> None:
    workload = Workload(n_neurons=256, dt_ms=1.0, duration_ms=100.0,
                        synaptic_events_per_s=1e6, spikes_per_s=1e3)  # fmt: skip
    case = Case("x", "truenorth-amortised", "test", 13.0, "pJ", "chip", "test", (0.9, 1.1),
                workload=workload)  # fmt: skip
    row = price_case(case)
    chip = load_chip("truenorth-amortised")
    # amortised: 26 pJ per synaptic event, every other kind priced at the descriptor's figure
    expected = 1e5 * chip.energy_pj("synaptic_event") + 100 * chip.energy_pj("spike_out")
    expected += 100 * chip.energy_pj("message") + 256 * 100 * chip.energy_pj("neuron_update")
    assert row.estimate == pytest.approx(expected / 1e5)
    assert row.ratio == pytest.approx(row.estimate / 13.0)
    assert row.verdict == "miss"  # 26 pJ against a made-up 13 pJ
    assert price_case(Case("y", "truenorth-amortised", "t", 26.0, "pJ", "chip", "t",
                           (0.9, 1.1), workload=workload)).verdict == "pass"  # fmt: skip


def test_every_case_names_a_source_and_a_band() -> None:
    assert len({case.id for case in CASES}) == len(CASES)
    for case in CASES:
        assert case.source and case.band[0] < 1 < case.band[1]
        assert (case.workload is None) != (case.descriptor_value is None)


def test_validate_table_and_json_columns() -> None:
    result = CliRunner().invoke(cli, ["validate", "--quick"], prog_name="neuroemu")
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[0].split()
    assert header[:4] == ["case", "published", "estimate", "[range]"]
    for case in CASES:
        assert case.id in result.output
    rows = json.loads(
        CliRunner().invoke(cli, ["validate", "--json", "--case", "loihi-synop"]).stdout
    )
    assert len(rows) == 1 and set(rows[0]) == COLUMNS
    assert rows[0]["ratio"] == pytest.approx(1.0) and rows[0]["verdict"] == "pass"
    bad = CliRunner().invoke(cli, ["validate", "--case", "nope"])
    assert bad.exit_code == 1 and "no validation case 'nope'" in bad.output
