"""Operating points, scopes and ranges, checked against arithmetic done by hand.

The tiny chip (tests/conftest.py) and the two-of-everything run (tests/test_accounting.py) give
per-step work of 8, 10, 5 and 8 ns plus a 100 ns barrier over 4 steps of 1 ms.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY_CHIP_YAML, manual_mapping
from test_accounting import two_of_everything

from neuroemu.accounting import count_events, estimate_energy
from neuroemu.errors import NeuroEmuError
from neuroemu.operating_point import OperatingPoint, time_under
from neuroemu.spec.chip import parse_chip

STEP_NS = np.array([8.0, 10.0, 5.0, 8.0])
BARRIER_NS = 100.0
DYNAMIC_PJ = 8 * 50.0 + 4 * 20.0 + 4 * 7.0 + 2 * 2.0 + 4 * 3.0 + 2 * 100.0 + 4 * 120.0 + 2 * 1.5


@pytest.mark.parametrize(
    "text, point",
    [
        ("real-time", OperatingPoint("real-time")),
        ("fast", OperatingPoint("fast")),
        ("as-fast-as-possible", OperatingPoint("fast")),
        ("slowdown=20", OperatingPoint("slowdown", slowdown=20.0)),
        ("rate=300", OperatingPoint("rate", rate_per_s=300.0)),
    ],
)
def test_parse(text: str, point: OperatingPoint) -> None:
    assert OperatingPoint.parse(text) == point
    assert OperatingPoint.parse(point.label) == point


@pytest.mark.parametrize(
    "text", ["slow", "slowdown", "slowdown=0", "slowdown=-2", "rate=nan", "rate=inf", "fast=2"]
)
def test_parse_refuses_nonsense(text: str) -> None:
    with pytest.raises(NeuroEmuError, match="operating point"):
        OperatingPoint.parse(text)


def test_real_time_floor_and_overrun_by_hand() -> None:
    work = np.array([0.2e-3, 1.5e-3, 0.0, 3.0e-3])  # s per 1 ms step
    timing = time_under(OperatingPoint("real-time"), work, dt_ms=1.0)
    assert timing.time_s == pytest.approx(1e-3 + 1.5e-3 + 1e-3 + 3e-3)
    assert timing.overruns == 2 and timing.overrun_s == pytest.approx(0.5e-3 + 2e-3)
    assert timing.work_s == pytest.approx(work.sum())
    assert "2 steps overran the real-time operating point" in timing.note(
        OperatingPoint("real-time")
    )
    fast = time_under(OperatingPoint("fast"), work, dt_ms=1.0)
    assert fast.time_s == pytest.approx(work.sum()) and fast.overruns == 0


def test_slowdown_and_rate_by_hand() -> None:
    work = np.array([0.2e-3, 1.5e-3, 0.0, 3.0e-3])
    slow = time_under(OperatingPoint("slowdown", slowdown=2.0), work, dt_ms=1.0)
    assert slow.time_s == pytest.approx(2e-3 + 2e-3 + 2e-3 + 3e-3) and slow.overruns == 1
    # two inferences of two steps: work 1.7 ms and 3.0 ms, at 400 per second (2.5 ms each)
    rate = time_under(OperatingPoint("rate", rate_per_s=400.0), work, 1.0, inference_steps=2)
    assert rate.time_s == pytest.approx(2.5e-3 + 3.0e-3)
    assert rate.overruns == 1 and rate.overrun_s == pytest.approx(0.5e-3)
    assert rate.units == "inferences"
    with pytest.raises(NeuroEmuError, match="needs the steps of one inference"):
        time_under(OperatingPoint("rate", rate_per_s=400.0), work, 1.0)


def test_chip_time_at_each_operating_point() -> None:
    chip, network, mapping, activity = two_of_everything()
    counts = count_events(network, activity, mapping)
    assert counts.step_work_ns.tolist() == pytest.approx(STEP_NS.tolist())
    step_s = (STEP_NS + BARRIER_NS) * 1e-9
    fast = estimate_energy(counts, chip)
    assert fast.operating_point == "fast" and fast.time_s == pytest.approx(step_s.sum())
    real = estimate_energy(counts, chip, OperatingPoint("real-time"))
    assert real.time_s == pytest.approx(4e-3) and real.operating_point == "real-time"
    slow = estimate_energy(counts, chip, OperatingPoint("slowdown", slowdown=20.0))
    assert slow.time_s == pytest.approx(80e-3)
    # static power (2 chips x 10 mW + 2 cores x 0.5 mW) runs for the whole time
    assert slow.static_pj == pytest.approx(21.0 * 1e-3 * 80e-3 * 1e12)
    assert slow.dynamic_total_pj == pytest.approx(DYNAMIC_PJ) == fast.dynamic_total_pj


def test_a_tick_chip_runs_one_tick_per_step_unless_told_otherwise() -> None:
    text = TINY_CHIP_YAML.replace(
        "mode: barrier", "mode: tick\n  tick_ms: {value: 2.0, source: test}"
    )
    chip = parse_chip(text, "tiny.yaml")
    assert chip.timing.default_operating_point() == OperatingPoint("slowdown", slowdown=2.0)
    _, network, _mapping, activity = two_of_everything()
    counts = count_events(network, activity, manual_mapping(network, chip, [0, 4], n_chips=2))
    assert estimate_energy(counts, chip).time_s == pytest.approx(8e-3)
    assert estimate_energy(counts, chip, OperatingPoint("real-time")).time_s == pytest.approx(4e-3)


def test_board_scope_rounds_up_to_whole_boards_by_hand() -> None:
    chip, network, mapping, activity = two_of_everything()
    counts = count_events(network, activity, mapping)  # 2 chips; a board holds 4
    assert chip.n_boards(2) == 1 and chip.n_boards(4) == 1 and chip.n_boards(5) == 2
    point = OperatingPoint("real-time")
    board = estimate_energy(counts, chip, point, scope="board")
    # one board of 4 chips at 10 mW each, plus 2 used cores at 0.5 mW, for 4 ms
    assert board.static_pj == pytest.approx((4 * 10.0 + 2 * 0.5) * 1e-3 * 4e-3 * 1e12)
    three = estimate_energy(counts, chip, point, scope="board", n_boards=3)
    assert three.static_pj == pytest.approx((12 * 10.0 + 2 * 0.5) * 1e-3 * 4e-3 * 1e12)
    with pytest.raises(NeuroEmuError, match="expected at least 1 boards"):
        estimate_energy(counts, chip, point, scope="board", n_boards=0)


def test_board_power_and_wall_scope_by_hand() -> None:
    text = TINY_CHIP_YAML + (
        "system:\n"
        "  board_idle_power_w: {value: 2.0, source: test}\n"
        "  host_power_w: {value: 50.0, source: test}\n"
        "  supply_efficiency: {value: 0.8, source: test}\n"
    )
    chip = parse_chip(text, "tiny.yaml")
    _, network, mapping, activity = two_of_everything()
    counts = count_events(network, activity, manual_mapping(network, chip, [0, 4], n_chips=2))
    point = OperatingPoint("real-time")
    board = estimate_energy(counts, chip, point, scope="board")
    board_static = (2000.0 + 2 * 0.5) * 1e-3 * 4e-3 * 1e12
    assert board.static_pj == pytest.approx(board_static)
    wall = estimate_energy(counts, chip, point, scope="wall")
    drawn = DYNAMIC_PJ + board_static
    assert wall.dynamic_pj["supply_loss"] == pytest.approx(drawn * (1 / 0.8 - 1))
    assert wall.dynamic_pj["host"] == pytest.approx(50.0 * 4e-3 * 1e12)
    assert wall.total_pj == pytest.approx(drawn / 0.8 + 50.0 * 4e-3 * 1e12)
    # a chip that gives no host power is priced at the wall without one, and says so
    chip, network, mapping, activity = two_of_everything()
    counts = count_events(network, activity, mapping)
    bare = estimate_energy(counts, chip, point, scope="wall")
    board_only = estimate_energy(counts, chip, point, scope="board")
    assert bare.total_pj == pytest.approx(board_only.total_pj)
    assert any("without a host" in note for note in bare.notes)
    unknown = parse_chip(text.replace("{value: 50.0, source: test}", "{unknown: true, note: x}"))
    counts = count_events(network, activity, manual_mapping(network, unknown, [0, 4], n_chips=2))
    marked = estimate_energy(counts, unknown, point, scope="wall")
    assert marked.total_pj is None and "host" in marked.unpriced


def test_ranges_bound_every_figure_and_vanish_without_ranges() -> None:
    chip, network, mapping, activity = two_of_everything()
    counts = count_events(network, activity, mapping)
    plain = estimate_energy(counts, chip)
    assert plain.low is None and plain.high is None
    assert plain.bounds("total_j") == (plain.total_j,) * 3
    text = (
        TINY_CHIP_YAML.replace(
            "synaptic_event: {value: 20, source: test}",
            "synaptic_event: {value: 20, range: [10, 40], source: test}",
        )
        .replace(
            "synaptic_event: {value: 3, source: test}",
            "synaptic_event: {value: 3, range: [1, 9], source: test}",
        )
        .replace(
            "per_chip: {value: 10, source: test}",
            "per_chip: {value: 10, range: [5, 10], source: test}",
        )
    )
    ranged_chip = parse_chip(text, "tiny.yaml")
    counts = count_events(
        network, activity, manual_mapping(network, ranged_chip, [0, 4], n_chips=2)
    )
    report = estimate_energy(counts, ranged_chip)
    for name in ("total_j", "time_s", "energy_per_synaptic_event_pj", "static_pj"):
        value, low, high = report.bounds(name)
        assert low <= value <= high, name
    assert report.high.dynamic_pj["synaptic_event"] == pytest.approx(4 * 40.0)
    assert report.low.dynamic_pj["synaptic_event"] == pytest.approx(4 * 10.0)
    # synaptic events at steps 0, 1 (input) and 1, 3 (deliveries): 2, 2-3 synaptic events' time
    low_ns = counts.step_work_at("low")
    high_ns = counts.step_work_at("high")
    assert np.all(low_ns <= counts.step_work_ns) and np.all(counts.step_work_ns <= high_ns)
    assert report.high.time_s > report.time_s > report.low.time_s
