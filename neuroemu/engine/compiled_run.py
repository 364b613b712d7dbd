"""Run a compiled ``cpp_standalone`` binary again, from any process, without Brian2.

Once a network's code is compiled (:mod:`neuroemu.engine.run_inputs` keeps values out of it),
a run is three steps that need nothing from Brian2: write the run inputs, start ``main``, read
the arrays it writes into ``results/``. Brian2's own ``device.run`` needs the Python objects
the code was generated from, so a new process had to import Brian2 (about 1 s, most of it
SymPy) and build every object again before it could start a binary that was already there.

This module keeps, next to the binary, a :class:`Layout`: what the binary reads (each run
input's variable and dtype) and writes (each recorded array's file, dtype and shape), with the
key of the code it was built for (:func:`~neuroemu.engine.runner.structure_key` refined by the
run's options) and the SHA-256 of the binary. The engine runs every cpp_standalone run through
it, the first one included, so a kept binary and a fresh build go through the same lines; a
later run with the same key, in this process or another, skips Brian2 altogether.

The layout is trusted only while it describes the directory's latest build: it is removed
before any build starts, written after the build, and checked against the binary's digest
(a binary compiled by hand in the directory, or half rebuilt by a crashed process, does not
match); all of it under the directory's lock. What Brian2's ``device.run`` does besides is
left out on purpose: its check for NaN values in state variables after the run (a warning)
and the values of unrecorded variables, which the engine never reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuroemu.errors import SimulationError
from neuroemu.outputs import write_atomically

LAYOUT_FILE = "neuroemu_layout.json"
RESULTS_DIR = "results"
STATIC_DIR = "static_arrays"
_RUN_INFO = "last_run_info.txt"
_VERSION = 1  # of the layout file; another version is ignored (rebuilt)


@dataclass(frozen=True)
class ResultArray:
    """One array the binary writes when it ends.

    Attributes
    ----------
    file : str
        Its file under ``results/`` (Brian2's ``get_array_filename``).
    dtype : str
        Its numpy dtype.
    columns : int
        0 for a one-dimensional array; else a monitor's record, one row per recorded time and
        this many columns (Brian2 grows such arrays along the rows only).
    """

    file: str
    dtype: str
    columns: int = 0


@dataclass(frozen=True)
class Layout:
    """What one compiled binary reads and writes, by name: all a run needs without Brian2.

    Attributes
    ----------
    key : str
        The code's key (:func:`~neuroemu.engine.runner._compiled_key`); "" for a build that is
        never run again.
    binary : str
        SHA-256 of the binary the layout was captured from.
    command : list of str
        How to start it, from its directory (Brian2's ``run_cmd_unix``, or ``main.exe`` on Windows).
    environment : dict
        Environment variables Brian2 sets for the run (``LD_BIND_NOW``).
    inputs : dict
        ``"<owner>.<variable>"`` -> dtype of every variable of the network's groups and
        synapses, each of which the binary takes as a run input by that name.
    spikes : dict
        Group or input -> its spike monitor's ``(i, t)`` arrays.
    changed : dict
        Group -> its change record (one bool per neuron and step).
    state : dict
        Population -> recorded variable -> its state monitor's record (SI units).
    synapses : dict
        Synapses -> variable (``w``, ``_synaptic_pre``, ``_synaptic_post``, counters) -> array,
        per synapse in creation order.
    static_arrays : dict
        File under ``static_arrays/`` -> its size in bytes: the arrays Brian2 wrote at build
        time for the binary to load when it starts (deleted ones mean a new build).
    """

    key: str
    binary: str
    command: list[str]
    environment: dict[str, str]
    inputs: dict[str, str] = field(default_factory=dict)
    spikes: dict[str, list[ResultArray]] = field(default_factory=dict)
    changed: dict[str, ResultArray] = field(default_factory=dict)
    state: dict[str, dict[str, ResultArray]] = field(default_factory=dict)
    synapses: dict[str, dict[str, ResultArray]] = field(default_factory=dict)
    static_arrays: dict[str, int] = field(default_factory=dict)

    def dtype(self, owner: str, variable: str) -> np.dtype:
        """The dtype of run input ``owner.variable``; KeyError where the binary takes none."""
        return np.dtype(self.inputs[f"{owner}.{variable}"])

    def save(self, directory: Path) -> None:
        """Write the layout next to the binary (atomically: a reader sees all of it or none)."""
        text = json.dumps({"version": _VERSION, **asdict(self)}, sort_keys=True)
        write_atomically(directory / LAYOUT_FILE, lambda path: path.write_text(text), "layout")

    @classmethod
    def load(cls, directory: Path, key: str) -> Layout | None:
        """The layout of the binary in ``directory`` if it was built for ``key`` and is still
        the binary there; None otherwise (nothing kept, another build's, damaged or stale)."""
        try:
            raw = json.loads((directory / LAYOUT_FILE).read_text())
            if raw.pop("version", None) != _VERSION or raw.get("key") != key or not key:
                return None
            arrays = {
                "spikes": {k: [ResultArray(**a) for a in v] for k, v in raw["spikes"].items()},
                "changed": {k: ResultArray(**a) for k, a in raw["changed"].items()},
                "state": {
                    k: {var: ResultArray(**a) for var, a in v.items()}
                    for k, v in raw["state"].items()
                },
                "synapses": {
                    k: {var: ResultArray(**a) for var, a in v.items()}
                    for k, v in raw["synapses"].items()
                },
            }
            layout = cls(**{**raw, **arrays})
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        if binary_digest(directory, layout.command) != layout.binary:
            return None
        for name, size in layout.static_arrays.items():
            path = directory / STATIC_DIR / name
            if not path.is_file() or path.stat().st_size != size:
                return None  # cleaned up since (they are written at build time only)
        return layout

    @staticmethod
    def forget(directory: Path) -> None:
        """Remove the layout before a build overwrites what it describes."""
        (directory / LAYOUT_FILE).unlink(missing_ok=True)


def binary_digest(directory: Path, command: list[str]) -> str | None:
    """SHA-256 of the binary ``command`` starts in ``directory``; None where there is none."""
    try:
        return hashlib.sha256((directory / Path(command[0]).name).read_bytes()).hexdigest()
    except (OSError, IndexError):
        return None


def capture_layout(
    device: Any, built: dict[str, Any], key: str, directory: Path, command: list[str],
    environment: dict[str, str], inputs: dict[str, np.dtype],
) -> Layout:  # fmt: skip
    """The layout of a build just compiled: the result arrays found from its Brian2 objects
    (``built``, as :func:`~neuroemu.engine.brian2_objects.build_objects` returns it) and the
    variables it takes as run inputs (``inputs``: ``"<owner>.<variable>"`` -> dtype)."""

    def array(variable: Any, columns: int = 0) -> ResultArray:
        file = device.get_array_filename(variable)
        return ResultArray(file=file, dtype=np.dtype(variable.dtype).str, columns=columns)

    layout = Layout(
        key=key, binary=binary_digest(directory, command) or "", command=list(command),
        environment=dict(environment),
        inputs={name: np.dtype(dtype).str for name, dtype in inputs.items()},
        static_arrays={name: (directory / STATIC_DIR / name).stat().st_size
                       for name in device.static_arrays},
    )  # fmt: skip
    for name, monitor in built["monitors"].items():
        layout.spikes[name] = [array(monitor.variables["i"]), array(monitor.variables["t"])]
    for name, monitor in built["change_monitors"].items():
        layout.changed[name] = array(monitor.variables[monitor.record_variables[0]],
                                     len(monitor.record))  # fmt: skip
    for pop_name, monitor in built["state_monitors"].items():
        layout.state[pop_name] = {
            var: array(monitor.variables[var], len(monitor.record))
            for var in monitor.record_variables
        }
    counters = ("_synaptic_pre", "_synaptic_post", "n_delivered", "n_post_events")
    for name, syn in built["synapses"].items():
        wanted = ["w", *(counters if built["count_synapse_events"] else ())]
        layout.synapses[name] = {var: array(syn.variables[var]) for var in wanted
                                 if var in syn.variables}  # fmt: skip
    return layout


def run_binary(directory: Path, layout: Layout, run_args: list[str], with_output: bool) -> float:
    """Run the binary with ``run_args``; return the fraction of the run it completed (below 1
    when the binary was stopped early, by a Ctrl-C sent to it alone).

    The result files it is to write are removed first, so a binary that fails half-way can
    never leave an earlier run's arrays to be read as this run's.
    """
    results = directory / RESULTS_DIR
    results.mkdir(parents=True, exist_ok=True)
    for file in (_RUN_INFO, *(a.file for a in _arrays(layout))):
        (results / file).unlink(missing_ok=True)
    program = directory / layout.command[0]  # by its path: cwd does not resolve it everywhere
    start = str(program.resolve()) if program.is_file() else layout.command[0]
    command = [start, *layout.command[1:], "--results_dir", f"{results.resolve()}{os.sep}"]
    command += run_args
    environment = {**os.environ, **layout.environment}
    log = None if with_output else open(results / "stdout.txt", "w")  # noqa: SIM115
    try:
        errors = None if log is None else subprocess.STDOUT  # the binary's own messages too
        process = subprocess.Popen(
            command, cwd=directory, env=environment, stdout=log, stderr=errors
        )
        try:
            code = process.wait()
        except BaseException:  # a Ctrl-C or an error here: the binary must not outlive the run
            process.kill()
            process.wait()
            raise
    finally:
        if log is not None:
            log.close()
    if code != 0:
        tail = ""
        if log is not None:
            tail = (results / "stdout.txt").read_text(errors="replace")[-2000:]
        raise SimulationError(
            f"the compiled simulation in {directory} stopped with exit code {code}"
            + (f"; its last output:\n{tail}" if tail.strip() else "")
        )
    try:
        _, fraction = (results / _RUN_INFO).read_text().split()
        return float(fraction)
    except (OSError, ValueError) as exc:
        raise SimulationError(
            f"the compiled simulation in {directory} ended without writing "
            f"{RESULTS_DIR}/{_RUN_INFO}: {exc}"
        ) from None


def read_array(directory: Path, array: ResultArray) -> np.ndarray:
    """An array the binary wrote, in its dtype and (for a monitor's record) its shape."""
    path = directory / RESULTS_DIR / array.file
    try:
        data = np.fromfile(path, dtype=np.dtype(array.dtype))
    except OSError as exc:
        raise SimulationError(f"the compiled simulation wrote no {path}: {exc}") from None
    if array.columns:
        if data.size % array.columns:
            raise SimulationError(
                f"{path} holds {data.size} values, not a whole number of rows of "
                f"{array.columns} recorded neurons"
            )
        return data.reshape(-1, array.columns)
    return data


def _arrays(layout: Layout) -> list[ResultArray]:
    arrays = [a for pair in layout.spikes.values() for a in pair]
    arrays += layout.changed.values()
    arrays += [a for by_var in layout.state.values() for a in by_var.values()]
    arrays += [a for by_var in layout.synapses.values() for a in by_var.values()]
    return arrays
