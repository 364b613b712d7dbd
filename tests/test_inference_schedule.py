"""Networks run as a stream of inferences: resets in the engine, per-inference results, CLI and
traces (issue 16, item 3)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import TINY_CHIP_YAML, make_tiny_network

from neuroemu.activity import Activity
from neuroemu.cli.main import cli
from neuroemu.engine.runner import simulate
from neuroemu.errors import NeuroEmuError
from neuroemu.events import EVENT_KINDS
from neuroemu.network.inference import InferenceSchedule
from neuroemu.network.network import Network, Population, Projection, SpikeTimesInput
from neuroemu.pipeline import layer_offsets, run_pipeline, with_schedule
from neuroemu.spec.chip import ChipSpec, parse_chip
from neuroemu.traces.file import read_trace, write_trace


@pytest.fixture(scope="module")
def chip() -> ChipSpec:
    return parse_chip(TINY_CHIP_YAML, "tiny.yaml")  # dt 1 ms


def layered(
    indices: np.ndarray,
    times_ms: np.ndarray,
    schedule: InferenceSchedule | None = None,
    delay_ms: float = 0.0,
) -> Network:
    """Input -> two hidden populations (one group: same model; one with a random initial v) ->
    output: synaptic currents, refractoriness and per-neuron initial values to reset."""
    init = np.random.default_rng(1).random(6)
    h1 = Population("h1", 6, "cuba_lif", initial={"v_mV": -60 + 8 * init})
    h2 = Population("h2", 5, "cuba_lif")
    out = Population("out", 4, "lif")
    rng = np.random.default_rng(7)
    projections = []
    for pre, post, n_pre, n_post, w in (
        ("inp", "h1", 5, 6, 30.0),
        ("inp", "h2", 5, 5, 25.0),
        ("h1", "out", 6, 4, 9.0),
        ("h2", "out", 5, 4, 9.0),
    ):
        i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
        weight = w * rng.random(i.size)
        projections.append(Projection(pre, post, i.ravel(), j.ravel(), weight, delay_ms=delay_ms))
    source = SpikeTimesInput("inp", 5, indices, times_ms)
    return Network((h1, h2, out), tuple(projections), (source,), name="layered",
                   inference=schedule)  # fmt: skip


def input_spikes(n_steps: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    indices, times = rng.integers(0, 5, 30), rng.integers(0, n_steps, 30).astype(float)
    _, first = np.unique(times * 5 + indices, return_index=True)  # one spike per source and step
    return indices[first], times[first]


# ---- the schedule's arithmetic, by hand --------------------------------------------------


def test_reset_steps_follow_steps_and_offsets_by_hand() -> None:
    schedule = InferenceSchedule(5, reset=("a", "b"), offsets={"b": 2})
    assert schedule.resets_at("a", 17) == [5, 10, 15]  # t > 0, t % 5 == 0
    assert schedule.resets_at("b", 17) == [2, 7, 12]  # t >= 2, (t - 2) % 5 == 0
    assert schedule.resets_at("c", 17) == []  # not reset
    assert InferenceSchedule(4).resets_at("c", 9) == [4, 8]  # reset=None: every population


def test_layer_offsets_are_the_steps_a_spike_needs_to_reach_a_population() -> None:
    def proj(pre: str, post: str, delay_ms: float) -> Projection:
        return Projection(pre, post, [0], [0], 1.0, delay_ms=delay_ms)

    pops = [Population(name, 1) for name in ("a", "b", "c", "lone")]
    source = SpikeTimesInput("inp", 1, [0], [0.0])
    # inp -0-> a -1 step-> b -0-> c, and a shortcut a -0-> c: one step per projection plus delay
    network = Network(pops, [proj("inp", "a", 0), proj("a", "b", 1.0), proj("b", "c", 0),
                             proj("a", "c", 0)], [source])  # fmt: skip
    assert layer_offsets(network, 16, 1.0) == {"a": 1, "b": 3, "c": 2, "lone": 0}
    assert layer_offsets(network, 3, 1.0) == {"a": 1, "b": 0, "c": 2, "lone": 0}  # modulo 3
    assert layer_offsets(network, 16, 0.5)["b"] == 4  # 1 ms = 2 steps of 0.5 ms


def test_a_run_states_a_schedule_and_inference_ms_follows_from_it() -> None:
    network = make_tiny_network()
    notes: list[str] = []
    scheduled = with_schedule(network, 0.5, 8, "layer", notes)
    assert scheduled.inference is not None and scheduled.inference.steps == 8
    assert scheduled.inference_ms == 4.0 and scheduled.inference.reset is None
    assert scheduled.inference.offsets == {"exc": 1, "inh": 2}
    assert with_schedule(network, 0.5, None) is network
    # the model's own schedule gives inference_ms too, and a note says when it disagrees
    own = dataclasses.replace(network, inference=InferenceSchedule(10), inference_ms=3.0)
    assert with_schedule(own, 1.0, None, notes=notes).inference_ms == 10.0
    assert "differs from its schedule" in notes[-1]
    with pytest.raises(NeuroEmuError, match="need steps per inference"):
        with_schedule(network, 1.0, None, "layer")


# ---- the engine -----------------------------------------------------------------------------


def spikes_of(activity: Activity, name: str) -> tuple[np.ndarray, np.ndarray]:
    return activity.spikes[name].neuron, activity.spikes[name].step


@pytest.mark.brian2
def test_resetting_every_k_steps_equals_k_step_runs_from_rest_concatenated(chip) -> None:
    k, n_windows = 10, 3
    indices, times = input_spikes(k * n_windows)
    whole = simulate(layered(indices, times, InferenceSchedule(k)), chip, k * n_windows,
                     device="numpy")  # fmt: skip
    pieces = []
    for w in range(n_windows):
        mine = (times >= w * k) & (times < (w + 1) * k)
        pieces.append(simulate(layered(indices[mine], times[mine] - w * k), chip, k,
                               device="numpy"))  # fmt: skip
    for name in ("h1", "h2", "out"):
        neuron = np.concatenate([p.spikes[name].neuron for p in pieces])
        step = np.concatenate([p.spikes[name].step + w * k for w, p in enumerate(pieces)])
        np.testing.assert_array_equal(spikes_of(whole, name)[0], neuron)
        np.testing.assert_array_equal(spikes_of(whole, name)[1], step)
    assert all(len(whole.spikes[name]) > 3 for name in ("h1", "h2", "out"))
    # the resets matter: without them the run differs
    free = simulate(layered(indices, times), chip, k * n_windows, device="numpy")
    assert any(len(free.spikes[n]) != len(whole.spikes[n]) for n in ("h1", "h2", "out"))


def ramps(schedule: InferenceSchedule | None) -> Network:
    """Three silent LIF populations in one Brian2 group whose v climbs from rest every step."""
    pops = [
        Population(name, 3, "lif", parameters={"v_bias_mV": 10.0, "v_th_mV": 100.0})
        for name in ("a", "b", "c")
    ]
    return Network(pops, name="ramps", inference=schedule)


@pytest.mark.brian2
def test_populations_return_to_rest_exactly_at_their_reset_steps(chip) -> None:
    schedule = InferenceSchedule(5, reset=("a", "b"), offsets={"b": 2})
    activity = simulate(ramps(schedule), chip, 13.0, device="numpy", record_state={
        "a": ["v"], "b": ["v"], "c": ["v"]})  # fmt: skip
    for name in ("a", "b", "c"):
        v = activity.state[name]["v_mV"][:, 0]  # sampled at each step's start, after a reset
        at_rest = [int(t) for t in np.flatnonzero(np.isclose(v, -65.0, rtol=0, atol=1e-9))]
        assert at_rest == [0, *schedule.resets_at(name, 13)], name


@pytest.mark.brian2
def test_a_schedule_whose_resets_never_come_changes_nothing(chip) -> None:
    """The reset machinery (events, per-neuron rest values and offsets) leaves the dynamics
    between resets bit for bit as without a schedule."""
    indices, times = input_spikes(30)
    late = InferenceSchedule(31, offsets={"h2": 30})  # first resets: step 31 and step 30
    record = {"h1": ["v", "ge"], "out": ["v"]}
    runs = [
        simulate(layered(indices, times, s), chip, 30.0, device="numpy", record_state=record)
        for s in (None, late)
    ]
    for name in ("h1", "h2", "out", "inp"):
        np.testing.assert_array_equal(spikes_of(runs[0], name)[0], spikes_of(runs[1], name)[0])
        np.testing.assert_array_equal(spikes_of(runs[0], name)[1], spikes_of(runs[1], name)[1])
    for name, variables in runs[0].state.items():
        for var, values in variables.items():
            np.testing.assert_array_equal(values, runs[1].state[name][var])


@pytest.mark.brian2
def test_spikes_in_flight_at_a_reset_arrive_after_it_unless_an_offset_waits(chip) -> None:
    """A reset clears neuron state, not the delay queues (as on a chip): a spike emitted in a
    window's last step through a one-step delay arrives in the next inference; an offset of
    one step resets the target after it arrived."""
    source = SpikeTimesInput("inp", 1, [0], [4.0])  # the last step of the first 5-step window
    target = Population("p", 1, "lif")
    link = Projection("inp", "p", [0], [0], 40.0, delay_ms=1.0)

    def run(offsets: dict[str, int]) -> Activity:
        schedule = InferenceSchedule(5, offsets=offsets)
        network = Network([target], [link], [source], name="flight", inference=schedule)
        return simulate(network, chip, 10.0, device="numpy")

    assert spikes_of(run({}), "p")[1].tolist() == [6]  # delivered in step 5, fires in step 6
    assert spikes_of(run({"p": 1}), "p")[1].tolist() == []  # reset at step 6 clears it


# ---- per-inference results ------------------------------------------------------------------


@pytest.fixture(scope="module")
def scheduled(chip):
    """The tiny network with delays (deliveries cross inference boundaries), 7-step
    inferences over 30 steps (the last one partial)."""
    return run_pipeline(make_tiny_network(0, delay_ms=2.0), chip, duration_ms=30.0,
                        device="numpy", steps_per_inference=7, reset_offsets="layer")  # fmt: skip


@pytest.mark.brian2
def test_per_inference_counts_sum_to_the_run_exactly(scheduled) -> None:
    inferences = scheduled.inferences
    assert inferences is not None
    assert inferences.n_inferences == 5 and inferences.partial_last  # 4 x 7 + 2 steps
    totals = scheduled.counts.totals()
    for kind in EVENT_KINDS:
        assert int(inferences.counts[kind].sum()) == totals[kind], kind
    assert totals["synaptic_event"] > 0 and totals["spike_out"] > 0
    report = scheduled.report
    assert report.dynamic_total_pj is not None
    assert inferences.dynamic_pj.sum() == pytest.approx(report.dynamic_total_pj, rel=1e-12)
    assert inferences.time_s.sum() == pytest.approx(report.time_s, rel=1e-12)
    assert report.n_inferences == pytest.approx(30 / 7)  # inference_ms = 7 x dt
    assert scheduled.network.inference_ms == 7.0


@pytest.mark.brian2
def test_per_inference_statistics_by_hand(scheduled) -> None:
    inferences = scheduled.inferences
    spikes = inferences.counts["spike_out"][:4].astype(float)  # complete inferences only
    stats = inferences.stats(inferences.counts["spike_out"])
    assert stats["mean"] == spikes.mean() and stats["std"] == spikes.std()
    assert stats["min"] == spikes.min() and stats["max"] == spikes.max()
    assert stats["first"] == spikes[0] and stats["steady_mean"] == spikes[1:].mean()
    summary = scheduled.summary()["inferences"]
    assert summary["n_inferences"] == 5 and summary["steps_per_inference"] == 7
    assert (
        summary["per_inference"]["counts"]["spike_out"] == inferences.counts["spike_out"].tolist()
    )
    json.dumps(summary)  # plain data


@pytest.mark.brian2
def test_trace_keeps_the_schedule_and_the_inferences(scheduled, tmp_path: Path) -> None:
    path = write_trace(tmp_path / "run.h5", scheduled)
    trace = read_trace(path)
    assert trace.network.inference == scheduled.network.inference
    assert trace.network.inference_ms == 7.0
    back, original = trace.inferences, scheduled.inferences
    assert back is not None and original is not None
    assert (back.steps, back.dt_ms, back.scope, back.partial_last, back.reset, back.offsets) == (
        original.steps, original.dt_ms, original.scope, original.partial_last, original.reset,
        original.offsets)  # fmt: skip
    for kind in EVENT_KINDS:
        np.testing.assert_array_equal(back.counts[kind], original.counts[kind])
    for name in ("dynamic_pj", "static_pj", "time_s"):
        np.testing.assert_array_equal(getattr(back, name), getattr(original, name))


@pytest.mark.brian2
def test_a_run_without_a_schedule_has_no_inferences(chip, tmp_path: Path) -> None:
    result = run_pipeline(make_tiny_network(), chip, duration_ms=10.0, device="numpy")
    assert result.inferences is None and result.summary()["inferences"] is None
    assert read_trace(write_trace(tmp_path / "plain.h5", result)).inferences is None


# ---- the CLI ----------------------------------------------------------------------------------


@pytest.mark.brian2
def test_cli_run_reports_inferences_in_json_and_text(files: tuple[str, str]) -> None:
    model, chip_file = files
    args = ["run", model, "--chip", chip_file, "--duration-ms", "20", "--device", "numpy",
            "--steps-per-inference", "5", "--reset-offsets", "layer"]  # fmt: skip
    result = CliRunner().invoke(cli, [*args, "--json"], prog_name="neuroemu")
    assert result.exit_code == 0, result.output
    block = json.loads(result.stdout)["inferences"]
    assert block["n_inferences"] == 4 and block["inference_ms"] == 5.0
    assert block["offsets"] == {"exc": 1, "inh": 2} and block["reset"] is None
    assert set(block["stats"]) == {"energy_j", "time_s", "counts"}
    assert len(block["per_inference"]["energy_j"]) == 4
    text = CliRunner().invoke(cli, [*args, "--quiet"], prog_name="neuroemu")
    assert text.exit_code == 0, text.output
    assert "inferences: 4 of 5 steps (5 ms); reset: every population" in text.output
    assert "steady (rest)" in text.output


def test_cli_reset_offsets_need_steps_per_inference(files: tuple[str, str]) -> None:
    model, chip_file = files
    result = CliRunner().invoke(
        cli, ["run", model, "--chip", chip_file, "--reset-offsets", "layer"], prog_name="neuroemu"
    )
    assert result.exit_code == 2 and "needs --steps-per-inference" in result.output


@pytest.mark.brian2
def test_finer_counts_per_inference_sum_to_the_run() -> None:
    """A chip that prices neurons that changed, packets in and hops by direction (SANA-FE's
    Loihi): each inference's energy from its own finer counts; together, the run's."""
    result = run_pipeline(make_tiny_network(0, delay_ms=2.0), "loihi-sanafe",
                          duration_ms=24.0, device="numpy", steps_per_inference=8)  # fmt: skip
    inferences = result.inferences
    assert inferences is not None and result.chip.detail_kinds()
    assert result.counts.detail_per_core["neuron_changed"].sum() > 0
    assert result.report.dynamic_total_pj is not None
    assert inferences.dynamic_pj.sum() == pytest.approx(result.report.dynamic_total_pj, rel=1e-12)


@pytest.mark.brian2
def test_resets_run_alike_on_cpp_standalone(chip, tmp_path: Path) -> None:
    """The reset is plain Brian2 code (a custom event and its statements, per-neuron offsets):
    the compiled standalone target runs it as numpy does. (Cython, a runtime target like numpy,
    generates from the same abstract code; compiling it cold took 50 s of this test, so it is
    left to tests/test_engine.py's cross-target check of the rest of the engine.)"""
    schedule = InferenceSchedule(5, reset=("a", "b"), offsets={"b": 2})
    record = {"a": ["v"], "b": ["v"], "c": ["v"]}
    numpy = simulate(ramps(schedule), chip, 13.0, device="numpy", record_state=record).state
    cpp = simulate(ramps(schedule), chip, 13.0, device="cpp", record_state=record,
                   build_dir=tmp_path / "cpp").state  # fmt: skip
    for name in record:
        # compiled code rounds the leak differently from numpy (1 ulp): close, and at rest at
        # the same steps on both
        np.testing.assert_allclose(numpy[name]["v_mV"], cpp[name]["v_mV"], rtol=1e-12)
        at_rest = [np.flatnonzero(state[name]["v_mV"][:, 0] == -65.0) for state in (numpy, cpp)]
        assert at_rest[0].tolist() == at_rest[1].tolist() == [0, *schedule.resets_at(name, 13)]


def test_chip_view_drops_host_populations_from_the_schedule():
    """A schedule that resets a host-side population stays valid in the chip's view: the host
    population is an input there, so it leaves the resets and offsets; the rest is kept."""
    retina = Population("retina", 4, "lif", on_chip=False)
    hidden = Population("hidden", 3, "lif")
    proj = Projection("retina", "hidden", np.array([0, 1]), np.array([0, 1]), 1.0)
    schedule = InferenceSchedule(8, reset=("retina", "hidden"), offsets={"retina": 0, "hidden": 1})
    network = Network((retina, hidden), (proj,), inference=schedule)
    view = network.chip_view()
    assert view.inference == InferenceSchedule(8, reset=("hidden",), offsets={"hidden": 1})
    assert network.inference is schedule  # the engine still resets the host population
