"""The run's memory and time estimate, checked after mapping and before the simulation."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import make_tiny_network

from neuroemu import run_budget
from neuroemu.cli.main import cli
from neuroemu.run_budget import RunTooLargeError, check_run_budget, estimate_run


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="neuroemu")


def test_estimate_is_the_sum_of_its_parts_by_hand():
    network = make_tiny_network()
    budget = estimate_run(network, n_steps=1000, n_cores=3, device="numpy")
    n_syn = network.n_synapses
    assert budget.n_neurons == 60 and budget.n_synapses == n_syn > 0
    by_hand = (
        400 * 2**20  # base
        + 110 * n_syn
        + 1000 * 60
        + 1000 * (64 + 8 * (len(run_budget.EVENT_KINDS) + 2) * 3)
    )
    assert budget.memory_bytes == by_hand
    assert budget.seconds == pytest.approx(1000 * (6e-4 + 1e-7 * 60))
    # A compiled loop costs less per step; an unknown device is priced as the default one.
    assert estimate_run(network, 1000, 3, "cpp").seconds < budget.seconds
    assert estimate_run(network, 1000, 3, "other").seconds == estimate_run(network, 1000, 3).seconds


def test_memory_beyond_what_is_available_is_refused_with_both_figures():
    budget = estimate_run(make_tiny_network(), n_steps=10**9, n_cores=4)
    with pytest.raises(RunTooLargeError) as caught:
        check_run_budget(budget, available=8 * 2**30)
    text = str(caught.value)
    assert f"{budget.memory_bytes / 2**30:.3g} GiB" in text and "8 GiB available" in text
    assert "1,000,000,000 steps" in text and "--i-know" in text


def test_i_know_runs_it_anyway_with_a_warning():
    budget = estimate_run(make_tiny_network(), n_steps=10**9, n_cores=4)
    said = check_run_budget(budget, allow_large=True, available=2**30)
    assert any("running anyway (--i-know)" in line for line in said)


def test_a_run_that_fits_and_is_short_says_nothing():
    budget = estimate_run(make_tiny_network(), n_steps=1000, n_cores=4)
    assert check_run_budget(budget, available=64 * 2**30) == []


def test_a_run_of_hours_is_announced_with_its_estimate():
    budget = estimate_run(make_tiny_network(), n_steps=20_000_000, n_cores=4, device="numpy")
    said = check_run_budget(budget, available=2**50)
    assert len(said) == 1 and "would take about" in said[0] and "hours" in said[0]
    days = estimate_run(make_tiny_network(), n_steps=10**9, n_cores=4)
    assert "days" in check_run_budget(days, available=2**50)[0]


def test_unknown_available_memory_refuses_nothing(monkeypatch):
    monkeypatch.setattr("neuroemu.run_budget.available_memory_bytes", lambda: None)
    budget = estimate_run(make_tiny_network(), n_steps=10**9, n_cores=4)
    said = check_run_budget(budget)
    assert len(said) == 1 and "would take about" in said[0]


def test_cli_refuses_an_absurd_duration_before_simulating(files, monkeypatch):
    model, chip = files

    def no_simulation(*args, **kwargs):
        raise AssertionError("the run must be refused before the simulation")

    monkeypatch.setattr("neuroemu.pipeline.simulate", no_simulation)
    monkeypatch.setattr("neuroemu.run_budget.available_memory_bytes", lambda: 4 * 2**30)
    done = invoke("run", model, "--chip", chip, "--duration-ms", "1e9")
    assert done.exit_code == 1
    assert "this run would need about" in done.output and "4 GiB available" in done.output
    assert "Traceback" not in done.output


@pytest.mark.brian2
def test_cli_shows_the_hours_warning_as_one_line(files, monkeypatch):
    model, chip = files
    monkeypatch.setattr(run_budget, "WARN_AFTER_S", 0.0)
    done = invoke("run", model, "--chip", chip, "--duration-ms", "20", "--device", "numpy")
    assert done.exit_code == 0, done.output
    assert "Warning: this run would take about" in done.output


def test_auto_device_numpy_for_short_cpp_for_long_runs():
    from neuroemu.run_budget import choose_device

    network = make_tiny_network()
    device, why = choose_device(network, 1000, 2, compiler=True)
    assert device == "numpy" and "a short run" in why
    device, why = choose_device(network, 10**6, 2, compiler=True)
    assert device == "cpp" and "a long run" in why and "its own random numbers" in why
    device, why = choose_device(network, 10**6, 2, compiler=False)
    assert device == "numpy" and "no C++ compiler" in why


@pytest.mark.brian2
def test_auto_says_what_it_chose_and_every_phase(files):
    model, chip = files
    lines: list[str] = []
    from neuroemu.pipeline import run_pipeline

    result = run_pipeline(model, chip, duration_ms=20.0, progress=lines.append)
    assert result.activity.device.endswith("numpy")  # Brian2 names it runtime-numpy
    assert any(note.startswith("device auto -> numpy: a short run") for note in result.notes)
    assert lines[0].startswith("mapped 60 neurons onto")
    assert "on Brian2's numpy device (numpy: a short run" in lines[1]
    assert lines[2].startswith("simulated in") and len(lines) == 3
