"""Damaged and hand-edited traces: every surprise is a TraceError naming the trouble.

Deliberate edits (a member deleted, replaced by the wrong kind, an attribute of the wrong type,
an array of the wrong length, an extra member) and random byte damage: reading either succeeds
with the same content or raises TraceError, never another exception; the CLI never shows a
traceback.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_traces import synthetic_result

from neuroemu.cli.main import cli
from neuroemu.errors import TraceError
from neuroemu.traces.file import _seal, read_trace, trace_summary, write_trace


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trace(tmp_path_factory.mktemp("fuzz") / "base.h5", synthetic_result())


def _edit(base: Path, target: Path, change: Callable[[h5py.File], None], seal: bool = True) -> Path:
    """``base`` edited with h5py, then sealed again (as a buggy writer would), so that the checks
    behind the seal are what the test reaches."""
    shutil.copy(base, target)
    with h5py.File(target, "r+") as handle:
        change(handle)
    if seal:
        with open(target, "rb+") as raw:
            raw.write(_seal(raw))
    return target


def _replace_with_dataset(name: str) -> Callable[[h5py.File], None]:
    def change(handle: h5py.File) -> None:
        del handle[name]
        handle[name] = np.zeros(3)

    return change


def _wrong_length(handle: h5py.File) -> None:
    group = handle["mapping/usage"]
    name = next(iter(group))
    del group[name]
    group[name] = np.zeros(2)


def _drop_count_kind(handle: h5py.File) -> None:
    group = handle["counts/per_core"]
    del group[next(iter(group))]


EDITS: dict[str, tuple[Callable[[h5py.File], None], str]] = {
    "format_version text": (
        lambda h: h.attrs.__setitem__("format_version", "abc"), "format_version: expected"),
    "format_version from the future": (
        lambda h: h.attrs.__setitem__("format_version", 99), "newer neuroemu"),
    "no format_version": (lambda h: h.attrs.__delitem__("format_version"), "not a neuroemu"),
    "spikes as a dataset": (_replace_with_dataset("spikes"), "expected a group, found a dataset"),
    "network missing": (lambda h: h.__delitem__("network"), "network"),
    "usage of the wrong length": (_wrong_length, "/mapping/usage/"),
    "a count kind missing": (_drop_count_kind, "/counts/per_core: missing"),
    "seed of the wrong type": (
        lambda h: h["provenance"].attrs.__setitem__("seed", "x"), "seed: expected an integer"),
    "time as text": (
        lambda h: h["energy/chip"].attrs.__setitem__("time_s", "slow"), "corrupted"),
    "an extra member": (lambda h: h.create_group("surprise"), "unexpected member /surprise"),
    "descriptor text damaged": (
        lambda h: h["provenance/descriptor"].__setitem__(
            slice(0, 4), np.frombuffer(b"\xff\xfe{[", np.uint8)
        ),
        "corrupted",
    ),
}  # fmt: skip


def test_any_edit_breaks_the_seal(base: Path, tmp_path: Path) -> None:
    path = _edit(base, tmp_path / "edited.h5", EDITS["an extra member"][0], seal=False)
    with pytest.raises(TraceError, match="bytes no longer match the SHA-256"):
        read_trace(path)
    raw = bytearray(base.read_bytes())
    raw[:8] = b"garbage!"
    path.write_bytes(bytes(raw))
    with pytest.raises(TraceError, match="seal is unreadable"):
        read_trace(path)


@pytest.mark.parametrize("name", list(EDITS))
def test_a_hand_edited_trace_is_a_trace_error(base: Path, tmp_path: Path, name: str) -> None:
    change, message = EDITS[name]
    path = _edit(base, tmp_path / "edited.h5", change)
    with pytest.raises(TraceError, match=message):
        read_trace(path)
    result = CliRunner().invoke(cli, ["inspect", str(path)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                HealthCheck.function_scoped_fixture])  # fmt: skip


@FUZZ
@given(data=st.data())
def test_random_byte_damage_never_passes_for_other_numbers(
    base: Path, tmp_path: Path, data: st.DataObject
) -> None:
    raw = bytearray(base.read_bytes())
    start = data.draw(st.integers(0, len(raw) - 1), label="offset")
    length = data.draw(st.integers(1, 4096), label="length")
    noise = data.draw(st.binary(min_size=length, max_size=length), label="bytes")
    raw[start : start + length] = noise[: len(raw) - start]
    path = tmp_path / "damaged.h5"
    path.write_bytes(bytes(raw))
    original = read_trace(base)
    try:
        trace = read_trace(path)
    except TraceError:
        return
    # Whatever survived the damage (free space, padding) must read back unchanged.
    for proj, again in zip(original.network.projections, trace.network.projections, strict=True):
        assert np.array_equal(proj.weight, again.weight) and np.array_equal(proj.i, again.i)
    for name, spikes in original.activity.spikes.items():
        assert np.array_equal(spikes.step, trace.activity.spikes[name].step)
    for kind, values in original.counts.per_core.items():
        assert np.array_equal(values, trace.counts.per_core[kind])
    with contextlib.suppress(TraceError):
        trace_summary(path)
