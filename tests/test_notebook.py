"""The HTML tables of :mod:`neuroemu.notebook`, on real objects of a small run made without Brian2
(a random activity on the tiny network and chip): they hold the key figures, escape every text,
and stay short however large the object."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import make_tiny_network

from neuroemu import notebook
from neuroemu.accounting import count_events, estimate_energy
from neuroemu.activity import Activity, Spikes
from neuroemu.events import EVENT_KINDS
from neuroemu.mapping.mapping import map_network
from neuroemu.network.network import Network, PoissonInput, Population
from neuroemu.pipeline import RunResult
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import ChipSpec
from neuroemu.sweep.jobs import JobResult
from neuroemu.sweep.runner import SweepOutcome
from neuroemu.traces.file import read_trace, write_trace
from neuroemu.units import format_si
from neuroemu.validate import run_cases
from neuroemu.validation_cases import CASES

NASTY = "<script>alert('x & y')</script>"


def random_activity(network: Network, n_steps: int, seed: int) -> Activity:
    """About one spike per neuron every 10 steps, in step order."""
    rng = np.random.default_rng(seed)
    spikes = {}
    for name, size in [*((p.name, p.size) for p in network.populations),
                       *((s.name, s.size) for s in network.inputs)]:  # fmt: skip
        n = n_steps * size // 10
        step = np.sort(rng.integers(0, n_steps, n))
        spikes[name] = Spikes(rng.integers(0, size, n), step)
    return Activity(dt_ms=1.0, n_steps=n_steps, spikes=spikes, seed=seed, device="synthetic")


@pytest.fixture
def run(tiny_chip: ChipSpec) -> RunResult:
    network = make_tiny_network()
    activity = random_activity(network, 50, seed=3)
    mapping = map_network(network, tiny_chip)
    counts = count_events(network, activity, mapping)
    report = estimate_energy(counts, tiny_chip)
    return RunResult(network=network, chip=tiny_chip, mapping=mapping, activity=activity,
                     counts=counts, report=report, model="tiny", params={}, seed=3,
                     strategy="fill")  # fmt: skip


def cells(text: str) -> list[str]:
    """The unescaped text of every header and data cell."""
    return [html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", text)]


def test_the_energy_report_shows_its_total_and_every_part(run: RunResult) -> None:
    text = notebook.energy_report_html(run.report)
    found = cells(text)
    assert format_si(run.report.total_j, "J") in found
    assert format_si(run.report.time_s, "s") in found
    for part in [*run.report.dynamic_pj, "static"]:
        assert part in found
    assert format_si(run.report.dynamic_pj["synaptic_event"] * 1e-12, "J") in found  # type: ignore[operator]


def test_event_counts_show_each_kind_total_and_the_busiest_core(run: RunResult) -> None:
    found = cells(notebook.event_counts_html(run.counts))
    totals = run.counts.totals()
    for kind in EVENT_KINDS:
        row = found.index(kind)
        assert found[row + 1] == f"{totals[kind]:,}"
    assert f"{run.counts.n_cores_used:,} of {run.counts.n_cores:,}" in found


def test_activity_mapping_and_network_show_their_sizes(run: RunResult) -> None:
    activity = cells(notebook.activity_html(run.activity))
    assert f"{run.activity.n_spikes:,}" in activity
    assert f"{len(run.activity.spikes['exc']):,}" in activity
    mapping = cells(notebook.mapping_html(run.mapping))
    assert f"{run.mapping.n_cores_used:,} of {run.mapping.n_cores:,}" in mapping
    assert "neurons" in mapping  # the utilisation row of the neuron resource
    network = cells(notebook.network_html(run.network))
    assert f"{run.network.n_synapses:,}" in network
    first = network.index("exc")
    assert network[first : first + 4] == ["exc", "40", "lif", "chip"]


def test_a_trace_shows_which_run_and_its_energy(run: RunResult, tmp_path: Path) -> None:
    trace = read_trace(write_trace(tmp_path / "run.h5", run))
    found = cells(notebook.trace_html(trace))
    assert "tiny" in found and "3" in found
    assert format_si(run.report.total_j, "J") in found
    assert f"{run.activity.n_spikes:,}" in found


def test_a_run_result_shows_its_size_and_energy(run: RunResult) -> None:
    found = cells(notebook.run_result_html(run))
    assert f"{run.activity.n_spikes:,}" in found
    assert format_si(run.report.total_j, "J") in found


def test_a_sweep_outcome_lists_failed_jobs_first() -> None:
    row = {"model": "cuba", "chip": "loihi", "seed": 1, "total_j": 2.5e-3, "time_s": 0.1}
    results = {
        "a": JobResult("a", 0, "done", [row]),
        "b": JobResult("b", 1, "failed", [{**row, "seed": 2}], f"{NASTY}\ntraceback..."),
    }
    outcome = SweepOutcome(results, ran=["a", "b"], kept=0, tables={}, progress=None)  # type: ignore[arg-type]
    text = outcome._repr_html_()
    found = cells(text)
    assert found.index(NASTY) < found.index("2.5 mJ")
    assert "traceback" not in text  # the first line of the error only
    assert repr(outcome) == (
        "<SweepOutcome: 2 jobs, 1 done, 1 failed; 2 run now, 0 kept from before>"
    )


def test_validation_rows_show_ratio_and_verdict() -> None:
    rows = run_cases(CASES[:3])
    found = cells(notebook.validation_html(rows))
    for row in rows:
        assert row.case.id in found
        assert row.verdict in found


def test_every_text_is_escaped(run: RunResult) -> None:
    """A name from a file cannot inject markup: it comes back as the same text."""
    from dataclasses import replace

    report = replace(run.report, device=NASTY, notes=(NASTY,), dynamic_pj={NASTY: 1.0})
    text = notebook.energy_report_html(report)
    assert "<script>" not in text
    assert NASTY in cells(text)
    assert f"EnergyReport {NASTY}" in html.unescape(text)
    assert "<script>" not in notebook.rows_table(NASTY, [NASTY], [[NASTY]])


def test_a_big_object_gives_a_short_table() -> None:
    """500 populations and a million spikes: a dozen rows and a line for the rest."""
    rng = np.random.default_rng(0)
    pops = tuple(Population(f"p{k}", 2000, "lif") for k in range(500))
    network = Network(pops, (), (PoissonInput("noise", 10, 5.0),), name="big")
    spikes = {p.name: Spikes(rng.integers(0, 2000, 2000), np.arange(2000)) for p in pops}
    activity = Activity(dt_ms=1.0, n_steps=2000, spikes=spikes, seed=0, device="synthetic")
    for text in (notebook.network_html(network), notebook.activity_html(activity)):
        assert len(text) < 4000
        assert "488 more" in text
    assert f"{1_000_000:,}" in cells(notebook.activity_html(activity))


def test_a_report_without_ranges_or_prices_renders() -> None:
    report = EnergyReport("x", "gpu", "dense", "model", "board", 10.0, 0.5,
                          {"kernel": None}, None, unpriced=("kernel",))  # fmt: skip
    found = cells(notebook.energy_report_html(report))
    assert found.count("unpriced") >= 2  # the total, and the unpriced row


def test_public_objects_show_their_tables_in_a_notebook(run: RunResult, tmp_path: Path) -> None:
    """Jupyter calls ``_repr_html_``: each public object gives its renderer's table, and its
    plain repr stays one short line."""
    trace = read_trace(write_trace(tmp_path / "run.h5", run))
    rows = run_cases(CASES[:1])
    pairs = [
        (run.report, notebook.energy_report_html),
        (run.counts, notebook.event_counts_html),
        (run.activity, notebook.activity_html),
        (run.mapping, notebook.mapping_html),
        (run.network, notebook.network_html),
        (trace, notebook.trace_html),
        (run, notebook.run_result_html),
    ]
    for obj, renderer in pairs:
        assert obj._repr_html_() == renderer(obj), type(obj).__name__
        assert "\n" not in repr(obj) and len(repr(obj)) < 300, type(obj).__name__
    assert rows[0]._repr_html_() == notebook.validation_html(rows)
