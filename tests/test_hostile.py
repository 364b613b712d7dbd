"""Hostile and broken input: refused quickly, with one clear message, never a traceback.

Each case here was a defect found by trying neuroemu as an attacker would (see the reliability
issue): an alias bomb that took 80 s and 3 GB, deep nesting that raised RecursionError, devices
and pipes that were read forever, a model name that left the bundle, and times that were
silently rounded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY_CHIP_YAML, make_tiny_network

from neuroemu.accounting import count_events
from neuroemu.cli.main import cli
from neuroemu.errors import DescriptorError, ModelError, NeuroEmuError
from neuroemu.network.model_files import load_model
from neuroemu.spec.chip import load_chip, parse_chip
from neuroemu.spec.descriptor import MAX_FILE_BYTES
from neuroemu.timesteps import whole_steps


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="neuroemu")


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, levels):
        refs = ", ".join([f"*a{k - 1}"] * 9)
        lines.append(f"a{k}: &a{k} [{refs}]")
    return "format_version: 1\nkind: chip\nname: bomb\n" + "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_in_well_under_a_second(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    assert path.stat().st_size < 2_000
    start = time.perf_counter()
    with pytest.raises(DescriptorError, match="aliases expand to more than"):
        load_chip(path)
    assert time.perf_counter() - start < 2.0
    result = invoke("chips", "check", path)
    assert result.exit_code == 1 and "alias bomb" in result.output
    assert "Traceback" not in result.output


def test_deep_nesting_is_an_error_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("format_version: 1\nkind: chip\nname: deep\nsources: " + "[" * 5000
                    + "]" * 5000 + "\n")  # fmt: skip
    with pytest.raises(DescriptorError, match="nested deeper than 64 levels"):
        load_chip(path)


def test_a_self_referencing_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("format_version: 1\nkind: chip\nname: loop\nsources: &s [*s]\n")
    with pytest.raises(DescriptorError):
        load_chip(path)


def test_devices_pipes_folders_and_huge_files_are_not_read(tmp_path: Path) -> None:
    with pytest.raises(DescriptorError, match="not a regular file"):
        load_chip("/dev/zero")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(DescriptorError, match="not a regular file"):
        load_chip(fifo)
    assert time.perf_counter() - start < 2.0
    with pytest.raises(DescriptorError, match="not a regular file"):
        load_chip(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text(TINY_CHIP_YAML + "#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(DescriptorError, match=r"expected a descriptor of at most"):
        load_chip(big)


def test_a_model_name_never_leaves_the_bundle(tmp_path: Path, monkeypatch) -> None:
    evil = tmp_path / "evil.py"
    evil.write_text("raise SystemExit('this must never run')\n")
    monkeypatch.chdir(tmp_path)
    escape = os.path.relpath(tmp_path / "evil", Path(__file__).resolve().parent.parent / "models")
    for name in (escape, "../evil", "sub/evil", ".hidden"):
        with pytest.raises(ModelError, match="no bundled model"):
            load_model(name)
    result = invoke("map", escape, "--chip", "loihi")
    assert result.exit_code == 1 and "plain name" in result.output
    assert "this must never run" not in result.output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "positive, finite number"),
        (float("inf"), "positive, finite number"),
        (-1.0, "positive, finite number"),
        (0.3, r"0.3 ms is not a whole number of 1 ms steps: expected 1 ms"),
        (1.5, r"expected 1 ms or 2 ms"),
    ],
)
def test_times_that_are_not_whole_steps_are_refused_with_the_nearest(value, message) -> None:
    with pytest.raises(NeuroEmuError, match=message):
        whole_steps(value, 1.0, "duration_ms")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--duration-ms", "nan"), "positive, finite number"),
        (("--duration-ms", "inf"), "positive, finite number"),
        (("--duration-ms", "0.3"), "expected 1 ms"),
        (("--window-ms", "1.5"), "window_ms = 1.5 ms is not a whole number of 1 ms steps"),
        (("--window-ms", "nan"), "positive, finite number"),
    ],
)
def test_cli_times_are_checked_before_the_run(tmp_path: Path, monkeypatch, args, message) -> None:
    ran = []
    monkeypatch.setattr("neuroemu.pipeline.simulate", lambda *a, **k: ran.append(1))
    chip = tmp_path / "tiny.yaml"
    chip.write_text(TINY_CHIP_YAML)
    result = invoke("run", "cuba", "--chip", chip, "-p", "scale=0.02", *args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output and ran == []


def test_a_window_that_is_not_whole_steps_is_refused_when_counting(tiny_chip) -> None:
    from conftest import manual_mapping

    from neuroemu.activity import Activity

    network = make_tiny_network()
    mapping = manual_mapping(network, parse_chip(TINY_CHIP_YAML), [0] * network.n_neurons)
    activity = Activity(dt_ms=1.0, n_steps=4, spikes={}, seed=0, device="x")
    with pytest.raises(NeuroEmuError, match=r"window_ms = 1\.5 ms"):
        count_events(network, activity, mapping, window_ms=1.5)


def test_damaged_trace_bytes_are_an_error_not_changed_numbers(tmp_path: Path) -> None:
    import h5py
    from test_traces import synthetic_result

    from neuroemu.errors import TraceError
    from neuroemu.traces.file import read_trace, write_trace

    path = write_trace(tmp_path / "run.h5", synthetic_result())
    read_trace(path)  # intact
    datasets: list[h5py.Dataset] = []
    with h5py.File(path, "r") as handle:
        handle.visititems(
            lambda _, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None
        )
        unprotected = [d.name for d in datasets if d.size and not d.fletcher32]
        assert unprotected == []  # every non-empty dataset carries a checksum
        weights = next(d for d in datasets if d.name.endswith("weight") and d.size > 4)
        info = weights.id.get_chunk_info(0)
        offset, size = info.byte_offset, info.size
    raw = bytearray(path.read_bytes())
    raw[offset : offset + min(size, 16)] = bytes(255 - b for b in raw[offset : offset + 16])
    path.write_bytes(bytes(raw))
    with pytest.raises(TraceError, match="damaged"):
        read_trace(path)
    result = invoke("inspect", path)  # the summary reads no big arrays: it may still work
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("scale=5e6", "GiB available: expected a smaller network"),
        ("p=2", "parameter p must lie in [0, 1], got 2.0"),
        ("scale=-1", "parameter scale must be a positive, finite number"),
        ("scale=nan", "parameter scale must be a positive, finite number"),
        ("scale=0.001", "p / scale = 0.02 / 0.001 = 20 is not a probability"),
    ],
)
@pytest.mark.parametrize("model", ["cuba", "coba"])
def test_model_parameters_are_refused_by_name_before_allocating(model, param, message) -> None:
    start = time.perf_counter()
    result = invoke("map", model, "--chip", "loihi", "-p", param)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output and time.perf_counter() - start < 10


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("synaptic_event: {value: 20,", "synaptic_event: {value: 1e308,", "outside what any chip"),
        ("weight_bits: {value: 8,", "weight_bits: {value: 4096,", "[1, 64] bits"),
        ("dt_ms: {value: 1.0,", "dt_ms: {value: 1e-300,", "[1e-06, 10000] ms"),
        ("max_chips: {value: 16,", "max_chips: {value: 1000000000,", "[1, 1e+07] chips"),
        ("per_chip: {value: 10,", "per_chip: {value: 2e-3,", None),  # YAML 1.2: a number
    ],
)
def test_absurd_descriptor_numbers_are_refused_with_the_bound(old, new, message) -> None:
    text = TINY_CHIP_YAML.replace(old, new)
    assert text != TINY_CHIP_YAML
    if message is None:
        assert parse_chip(text, "tiny.yaml").energy.static_power_mw.per_chip.value == 0.002
        return
    with pytest.raises(DescriptorError, match=re_escape(message)):
        parse_chip(text, "tiny.yaml")


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_a_seed_brian2_cannot_take_is_refused_at_the_command_line(tmp_path: Path) -> None:
    chip = tmp_path / "tiny.yaml"
    chip.write_text(TINY_CHIP_YAML)
    result = invoke("run", "cuba", "--chip", chip, "--seed", str(2**32))
    assert result.exit_code == 2 and "--seed" in result.output
