"""Traces: write then read gives the same objects bit for bit, NIR reads the spikes, an
interrupted write never leaves a broken file, and bad files give clear errors."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import TINY_CHIP_YAML, manual_mapping
from pydantic import BaseModel

from neuroemu.accounting import count_events, estimate_energy
from neuroemu.activity import Activity, ChangedCells, QuantisationReport, Spikes
from neuroemu.errors import TraceError
from neuroemu.network.connectivity import fixed_probability
from neuroemu.network.network import (
    STDP,
    Network,
    PoissonInput,
    Population,
    Projection,
    SpikeTimesInput,
)
from neuroemu.network.neuron_models import LIF
from neuroemu.pipeline import RunResult
from neuroemu.report import EnergyReport
from neuroemu.spec.chip import parse_chip
from neuroemu.traces.file import (
    FORMAT_VERSION,
    _seal,
    read_trace,
    trace_summary,
    write_trace,
)

TESTS = Path(__file__).resolve().parent


def rich_network(seed: int = 0) -> Network:
    """Every kind of object a trace stores: three neuron models (one custom), both input kinds,
    scalar and per-synapse delays, STDP, scalar and array initial values."""
    rng = np.random.default_rng(seed)
    custom = dataclasses.replace(LIF, name="custom_lif", description="made up for the tests")
    populations = (
        Population("exc", 40, "lif", {"v_bias_mV": 14.0}, {"v_mV": -65 + 15 * rng.random(40)}),
        Population("inh", 20, "cuba_lif", {"tau_m_ms": 10.0}, {"v_mV": -55.0}),
        Population("out", 8, custom),
    )
    inputs = (
        PoissonInput("noise", 10, rate_hz=rng.uniform(10, 50, 10)),
        SpikeTimesInput("cue", 5, np.array([0, 3, 4, 1]), np.array([1.0, 5.0, 5.0, 40.0])),
    )
    sizes = {"exc": 40, "inh": 20, "out": 8, "noise": 10, "cue": 5}
    projections = []
    for pre, post, target, rule in (
        ("exc", "exc", "exc", STDP(w_max=2.0)),
        ("exc", "inh", "exc", None),
        ("inh", "exc", "inh", None),
        ("exc", "out", "exc", None),
        ("noise", "exc", "exc", None),
        ("cue", "inh", "exc", None),
    ):
        i, j = fixed_probability(sizes[pre], sizes[post], 0.3, rng)
        delay = rng.integers(0, 4, len(i)) * 1.0 if rule else 1.0
        projections.append(
            Projection(pre, post, i, j, rng.random(len(i)), delay, target=target, plasticity=rule)
        )
    return Network(populations, tuple(projections), inputs, name="rich", inference_ms=50.0)


def synthetic_activity(network: Network, n_steps: int = 200, seed: int = 0, scale: int = 1):
    rng = np.random.default_rng(seed)
    spikes = {}
    for group in (*network.populations, *network.inputs):
        n = 0 if group.name == "out" else int(rng.integers(50, 300)) * scale
        spikes[group.name] = Spikes(
            rng.integers(0, group.size, n), np.sort(rng.integers(0, n_steps, n))
        )
    plastic = network.projections[0]
    return Activity(
        dt_ms=1.0,
        n_steps=n_steps,
        spikes=spikes,
        seed=7,
        device="runtime-numpy",
        state={"exc": {"v_mV": rng.normal(-60, 3, (20, 40))}},
        state_neurons={"exc": np.arange(40)},
        state_every_steps=10,
        final_weights={plastic.name: rng.random(plastic.n_synapses)},
        quantisation={"exc_to_inh": QuantisationReport("exc_to_inh", 8, True, 0.01, 4e-3, 0.02, 3)},
        wall_time_s=0.25,
        synapse_counters={"exc_to_inh": {"i": network.projections[1].i, "n_delivered": np.ones(5)}},
    )


def synthetic_result(seed: int = 0, scale: int = 1) -> RunResult:
    """A RunResult built without Brian2: synthetic activity, counted and priced for real."""
    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    network = rich_network(seed)
    mapping = manual_mapping(network, chip, np.arange(network.n_neurons) % 8, n_chips=2)
    activity = synthetic_activity(network, seed=seed, scale=scale)
    counts = count_events(network, activity, mapping, window_ms=25.0, per_step=True)
    gpu = EnergyReport(
        device="fakegpu", device_kind="gpu", style="dense", method="model", scope="board",
        simulated_ms=200.0, time_s=0.01, dynamic_pj={"neuron_kernel": 1e6, "mystery": None},
        static_pj=3e8, counts={"neuron_update": 13600}, unpriced=("mystery",), n_inferences=4.0,
        notes=("made up",),
    )  # fmt: skip
    return RunResult(
        network=network,
        chip=chip,
        mapping=mapping,
        activity=activity,
        counts=counts,
        report=estimate_energy(counts, chip),
        model="rich",
        params={"scale": 0.5, "label": "x"},
        seed=seed,
        strategy="manual",
        timings_s={"build_s": 0.1},
        gpu_reports=[gpu, dataclasses.replace(gpu, style="event-driven", dynamic_pj={"a": 1.0})],
    )


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Recursive equality: arrays bit-identical with the same dtype, dicts in the same order."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert a.tobytes() == b.tobytes(), where
    elif sp.issparse(a):
        assert a.shape == b.shape, where
        for part in ("data", "indices", "indptr"):
            assert_same(getattr(a, part), getattr(b, part), f"{where}.{part}")
    elif isinstance(a, ChangedCells) or isinstance(b, ChangedCells):
        # the engine's flag record and a trace's pairs hold the same cells: compare the pairs
        assert_same(a.neuron, b.neuron, f"{where}.neuron")
        assert_same(a.step, b.step, f"{where}.step")
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{k}]")
    elif isinstance(a, BaseModel):
        assert a == b, where
    else:
        assert a == b and not isinstance(b, np.generic), f"{where}: {a!r} != {b!r}"


def test_round_trip_gives_every_field_back(tmp_path):
    result = synthetic_result()
    path = write_trace(tmp_path / "run.h5", result, command="neuroemu run rich --chip tiny")
    trace = read_trace(path)
    assert trace.format_version == FORMAT_VERSION
    for name in ("network", "chip", "mapping", "activity", "counts", "report", "gpu_reports"):
        assert_same(getattr(result, name), getattr(trace, name), name)
    assert trace.gpu_reports[0].total_pj is None  # an unpriced part stays unpriced
    prov = trace.provenance
    assert prov["command"] == "neuroemu run rich --chip tiny"
    assert prov["seed"] == 0 and prov["params"] == {"label": "x", "scale": 0.5}
    assert prov["descriptor"] == TINY_CHIP_YAML and prov["chip"] == "tiny"
    assert prov["brian2"] and prov["h5py"] == h5py.__version__ and prov["date_utc"].endswith("Z")
    assert trace.model == "rich" and trace.seed == 0


def test_a_chip_made_in_code_is_stored_as_yaml(tmp_path):
    result = synthetic_result()
    bare = result.chip.model_copy(update={"text": "", "path": ""})
    trace = read_trace(write_trace(tmp_path / "run.h5", dataclasses.replace(result, chip=bare)))
    exclude = {"text", "path"}
    assert trace.chip.model_dump(exclude=exclude) == result.chip.model_dump(exclude=exclude)


def test_large_arrays_are_chunked_and_compressed_with_units(tmp_path):
    path = write_trace(tmp_path / "big.h5", synthetic_result(scale=200))
    with h5py.File(path) as handle:
        time = handle["spikes/exc/observables/spikes/time"]
        assert time.dtype == np.int32 and time.compression == "lzf" and time.shuffle
        assert time.attrs["units"] == "steps"
        assert handle["network/projections/exc_to_exc/delay_ms"].attrs["units"] == "ms"
        assert handle["energy/chip/per_core_pj"].attrs["units"] == "pJ"
        assert handle["network/populations"].keys() == {"exc", "inh", "out"}


def test_nir_reads_the_spikes(tmp_path):
    nir = pytest.importorskip("nir")
    result = synthetic_result()
    path = write_trace(tmp_path / "run.h5", result)
    data = nir.read_data(str(path))
    assert list(data.nodes) == list(result.activity.spikes)
    for name, spikes in result.activity.spikes.items():
        events = data.nodes[name].observables["spikes"]
        assert isinstance(events, nir.EventData)
        np.testing.assert_array_equal(events.idx[0], spikes.neuron)
        np.testing.assert_array_equal(events.time[0], spikes.step)
        assert events.t_max == result.activity.n_steps
    sizes = {g.name: g.size for g in (*result.network.populations, *result.network.inputs)}
    assert {n: d.observables["spikes"].n_neurons for n, d in data.nodes.items()} == sizes
    grid = data.nodes["exc"].observables["spikes"].to_time_gridded(dt=1.0)
    assert grid.data.shape == (1, result.activity.n_steps, 40)


def test_summary_reads_headlines(tmp_path):
    result = synthetic_result()
    summary = trace_summary(write_trace(tmp_path / "run.h5", result))
    assert summary["network"]["populations"] == {"exc": 40, "inh": 20, "out": 8}
    assert summary["spikes"] == {k: len(v) for k, v in result.activity.spikes.items()}
    assert summary["counts"] == result.counts.totals()
    assert summary["energy"][0]["total_pj"] == pytest.approx(result.report.total_pj)
    assert summary["mapping"]["n_cores_used"] == 8 and len(summary["energy"]) == 3


def test_refuses_to_overwrite_without_force(tmp_path):
    path = write_trace(tmp_path / "run.h5", synthetic_result(seed=0))
    before = path.read_bytes()
    with pytest.raises(TraceError, match=r"already exists.*--force"):
        write_trace(path, synthetic_result(seed=1))
    assert path.read_bytes() == before
    write_trace(path, synthetic_result(seed=1), force=True)
    assert read_trace(path).seed == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]  # no temporary left


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(TraceError, match="does not exist"):
        write_trace(tmp_path / "nope" / "run.h5", synthetic_result())


def test_newer_format_and_corrupted_files_are_refused(tmp_path):
    path = write_trace(tmp_path / "run.h5", synthetic_result())
    with h5py.File(path, "r+") as handle:
        handle.attrs["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(TraceError, match="no longer match the SHA-256"):
        read_trace(path)  # edited after it was sealed
    with open(path, "rb+") as raw:  # sealed, as a newer neuroemu would write it
        raw.write(_seal(raw))
    with pytest.raises(TraceError, match="newer neuroemu"):
        read_trace(path)
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(TraceError, match="not an HDF5 file"):
        read_trace(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle["x"] = 1
    with pytest.raises(TraceError, match="not a neuroemu trace"):
        read_trace(other)
    good = write_trace(tmp_path / "good.h5", synthetic_result(scale=20))
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(TraceError, match=r"cut\.h5"):
        read_trace(cut)
    with pytest.raises(TraceError, match="no such trace"):
        read_trace(tmp_path / "absent.h5")


CHILD = """
import os, signal, sys, time
sys.path.insert(0, {tests!r})
signal.signal(signal.SIGINT, signal.default_int_handler)
import neuroemu.traces.codec as codec
import neuroemu.traces.file as traces
from test_traces import synthetic_result

result = synthetic_result(seed=3, scale=400)
put, fsync = codec._put, os.fsync
state = {{"announced": False}}

def announce():
    if not state["announced"]:
        print("writing", flush=True)
        state["announced"] = True

def slow_put(*args, **kwargs):
    # Phase "assembling": the file is being built in memory; widen the window.
    announce()
    time.sleep(0.02)
    return put(*args, **kwargs)

def slow_fsync(fd):
    # Phase "on_disk": the partial file is written, not yet renamed into place.
    announce()
    time.sleep(30)
    return fsync(fd)

if {phase!r} == "assembling":
    codec._put = slow_put
else:
    os.fsync = slow_fsync
traces.write_trace({target!r}, result, force=True)
print("done", flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
@pytest.mark.parametrize("previous", [False, True], ids=["fresh", "over_previous"])
@pytest.mark.parametrize("phase", ["assembling", "on_disk"])
def test_interrupted_write_leaves_no_broken_file(tmp_path, signum, previous, phase):
    target = tmp_path / "run.h5"
    if previous:
        write_trace(target, synthetic_result(seed=0))
        before = target.read_bytes()
    script = CHILD.format(tests=str(TESTS), target=str(target), phase=phase)
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "writing"
        partials = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
        # The file is assembled in memory first; only then does a temporary file appear.
        assert bool(partials) == (phase == "on_disk")
        os.kill(child.pid, signum)
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert "done" not in out and child.returncode != 0
    if previous:
        assert target.read_bytes() == before
        assert read_trace(target).seed == 0
    else:
        assert not target.exists()
    if signum == signal.SIGINT:  # a Python-level interrupt cleans up its temporary file
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


@pytest.mark.brian2
def test_round_trip_of_a_real_run(tmp_path):
    from conftest import make_tiny_network

    from neuroemu.pipeline import run_pipeline

    chip = parse_chip(TINY_CHIP_YAML, "tiny.yaml")
    result = run_pipeline(
        make_tiny_network(), chip, duration_ms=40.0, seed=2, device="numpy", window_ms=10.0,
        record_state={"exc": ["v"]},
    )  # fmt: skip
    assert result.activity.n_spikes > 0
    trace = read_trace(write_trace(tmp_path / "real.h5", result, command="test"))
    for name in ("network", "chip", "mapping", "activity", "counts", "report", "gpu_reports"):
        assert_same(getattr(result, name), getattr(trace, name), name)
    assert trace.provenance["device"] == result.activity.device


@pytest.mark.brian2
def test_a_sanafe_priced_run_keeps_its_finer_counts(tmp_path):
    """Changed neurons, finer counts and tiles in use survive the trace, so the trace re-prices
    on the same chip to the same energy."""
    from conftest import make_tiny_network

    from neuroemu.accounting import count_events, estimate_energy
    from neuroemu.pipeline import run_pipeline
    from neuroemu.spec.chip import load_chip

    chip = load_chip("loihi-sanafe")
    result = run_pipeline(make_tiny_network(), chip, duration_ms=30.0, seed=2, device="numpy")
    assert result.activity.changed and result.counts.detail_per_core
    trace = read_trace(write_trace(tmp_path / "sanafe.h5", result))
    for name in ("activity", "counts", "report"):
        assert_same(getattr(result, name), getattr(trace, name), name)
    again = estimate_energy(count_events(trace.network, trace.activity, trace.mapping), trace.chip)
    assert again.total_pj == result.report.total_pj


def test_a_convolution_and_an_inference_schedule_round_trip(tmp_path):
    from neuroemu.network.inference import InferenceSchedule
    from neuroemu.network.structure import ConvStructure
    from neuroemu.traces.codec import read_network, write_network

    conv = ConvStructure((1, 4, 4), (2, 2, 2), (3, 3), padding=(1, 1), stride=(2, 2))
    pops = (Population("a", 16), Population("b", 8))
    link = Projection("a", "b", [0, 5], [1, 7], 1.0, structure=conv)
    schedule = InferenceSchedule(16, reset=("b",), offsets={"b": 1})
    network = Network(pops, (link,), name="conv", inference=schedule)
    with h5py.File(tmp_path / "n.h5", "w") as handle:
        write_network(handle.create_group("network"), network)
    with h5py.File(tmp_path / "n.h5") as handle:
        back = read_network(handle["network"])
    assert back.projections[0].structure == conv and back.inference == schedule
