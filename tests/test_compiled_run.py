"""A compiled binary run again without Brian2: its layout file, its run and its results, with a
shell script standing in for the binary (no compiler needed)."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from neuroemu.engine.compiled_run import (
    LAYOUT_FILE,
    Layout,
    ResultArray,
    read_array,
    run_binary,
)
from neuroemu.errors import SimulationError

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the stand-in binary is a shell script")


def fake_binary(directory, body: str) -> None:
    """``main`` in ``directory``: a script that gets ``--results_dir DIR`` and the run args."""
    main = directory / "main"
    main.write_text(f'#!/bin/sh\nresults="$2"\nshift 2\n{body}\n')
    main.chmod(main.stat().st_mode | stat.S_IEXEC)


def layout(directory, key: str = "k") -> Layout:
    made = Layout(key=key, binary="", command=["./main"], environment={"NEUROEMU_T": "1"})
    made.spikes["g"] = [ResultArray("g_i", "<i4"), ResultArray("g_t", "<f8")]
    made.changed["g"] = ResultArray("g_changed", "|b1", columns=3)
    made.inputs["g.v"] = "<f8"
    return made


def test_a_layout_is_kept_for_its_key_and_its_binary_only(tmp_path):
    fake_binary(tmp_path, "exit 0")
    from neuroemu.engine.compiled_run import binary_digest

    saved = layout(tmp_path)
    saved = Layout(**{**saved.__dict__, "binary": binary_digest(tmp_path, ["./main"])})
    saved.save(tmp_path)
    loaded = Layout.load(tmp_path, "k")
    assert loaded == saved and loaded.dtype("g", "v") == np.float64
    with pytest.raises(KeyError):
        loaded.dtype("g", "w")  # an input the binary does not take
    assert Layout.load(tmp_path, "other") is None  # another build's code
    assert Layout.load(tmp_path, "") is None  # a build never run again
    fake_binary(tmp_path, "exit 1")  # the binary was rebuilt since
    assert Layout.load(tmp_path, "k") is None
    fake_binary(tmp_path, "exit 0")
    assert Layout.load(tmp_path, "k") == saved
    static = tmp_path / "static_arrays" / "_static_array_idx"  # written at build time only
    static.parent.mkdir()
    static.write_bytes(bytes(8))
    with_static = Layout(**{**saved.__dict__, "static_arrays": {static.name: 8}})
    with_static.save(tmp_path)
    assert Layout.load(tmp_path, "k") == with_static
    static.write_bytes(bytes(4))  # rewritten by another build
    assert Layout.load(tmp_path, "k") is None
    static.unlink()  # cleaned up since
    assert Layout.load(tmp_path, "k") is None
    saved.save(tmp_path)
    text = (tmp_path / LAYOUT_FILE).read_text()
    for damaged in (text[:-5], json.dumps({**json.loads(text), "version": 99}), "[]"):
        (tmp_path / LAYOUT_FILE).write_text(damaged)
        assert Layout.load(tmp_path, "k") is None
    Layout.forget(tmp_path)
    Layout.forget(tmp_path)  # nothing to remove: no error
    assert not (tmp_path / LAYOUT_FILE).exists() and Layout.load(tmp_path, "k") is None


def test_the_binary_gets_its_arguments_and_its_results_are_read(tmp_path):
    fake_binary(
        tmp_path,
        'printf "%s\\n" "$@" > "$results/args.txt"\n'
        'echo "$NEUROEMU_T" > "$results/env.txt"\n'
        "printf '\\001\\000\\000\\000\\002\\000\\000\\000' > \"$results/g_i\"\n"
        "printf '\\001\\000\\001\\001\\001\\000' > \"$results/g_changed\"\n"
        'echo "0.5 0.75" > "$results/last_run_info.txt"',
    )
    assert run_binary(tmp_path, layout(tmp_path), ["g.v=in/g.v.dat"], with_output=False) == 0.75
    results = tmp_path / "results"
    assert (results / "args.txt").read_text() == "g.v=in/g.v.dat\n"
    assert (results / "env.txt").read_text() == "1\n"
    assert read_array(tmp_path, ResultArray("g_i", "<i4")).tolist() == [1, 2]
    flags = read_array(tmp_path, ResultArray("g_changed", "|b1", columns=3))
    assert flags.tolist() == [[True, False, True], [True, True, False]]
    with pytest.raises(SimulationError, match="not a whole number of rows of 4"):
        read_array(tmp_path, ResultArray("g_changed", "|b1", columns=4))
    with pytest.raises(SimulationError, match="wrote no"):
        read_array(tmp_path, ResultArray("g_t", "<f8"))


def test_a_failed_run_never_leaves_an_earlier_runs_results(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "g_i").write_bytes(np.array([7], np.int32).tobytes())  # an earlier run's
    (results / "last_run_info.txt").write_text("0.1 1\n")
    fake_binary(tmp_path, 'echo "neuroemu: cannot read neuroemu_inputs/seed" >&2\nexit 3')
    with pytest.raises(SimulationError, match=r"(?s)exit code 3.*cannot read neuroemu_inputs/seed"):
        run_binary(tmp_path, layout(tmp_path), [], with_output=False)
    assert not (results / "g_i").exists() and not (results / "last_run_info.txt").exists()
    fake_binary(tmp_path, "exit 0")  # ends without saying how far it got
    with pytest.raises(SimulationError, match=r"without writing results/last_run_info\.txt"):
        run_binary(tmp_path, layout(tmp_path), [], with_output=False)
