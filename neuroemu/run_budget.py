"""What a run will cost this machine, estimated from the network's sizes before the simulation.

A size a user typed (``--duration-ms 1e9``, a large ``-p scale=``) must not start a run that
ends, hours later, killed for memory, nor one that silently runs for days. After the network
is built and mapped, and before Brian2 allocates anything, :func:`estimate_run` prices the
run in bytes and seconds from its sizes, and :func:`check_run_budget`:

- refuses a run whose memory estimate exceeds the memory this machine has available, with
  both figures (``allow_large=True``, the CLI's ``--i-know``, runs it anyway);
- warns, with the estimate, when the run would take an hour or more.

The constants are measured, not guessed: ``benchmarks/run_memory.py`` runs COBA at two sizes
and prints the peak memory per synapse and per neuron next to the constants below, and the
per-step bytes follow from the arrays ``accounting/counting.py`` allocates. The time is an
estimate from rates measured on a 2-core machine (a per-step cost by device and a per
neuron-step cost); the activity, unknown before the run, moves it either way, and Brian2's
progress report refines it once the run has started.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from neuroemu.errors import NeuroEmuError
from neuroemu.events import EVENT_KINDS
from neuroemu.network.connectivity import available_memory_bytes
from neuroemu.network.network import Network
from neuroemu.units import format_si

#: Peak memory per synapse of a whole run: the network's own arrays, Brian2's copies (indices,
#: weights, delays, spike queue) and the accounting's fan-out matrices. benchmarks/run_memory.py
#: measured 108 bytes (slope between COBA at 1.6 M and 6.4 M synapses, runtime device, two
#: repeats ABBA); the cpp device, which frees its set-up copies, needed 54 bytes at the
#: full-scale microcircuit (0.3e9 synapses, benchmarks/validate_full.py).
BYTES_PER_SYNAPSE = 110
#: Per neuron: state variables, Brian2's groups and the spike monitor's buffers (measured as
#: above, rounded up).
BYTES_PER_NEURON = 1_000
#: Python, NumPy, Brian2 and the compiled code, before any network (measured as above).
BASE_BYTES = 400 * 2**20
#: Per step and per core used: one int64 count per event kind plus two float64 work arrays
#: (accounting/counting.py: per-kind per-step counts, the per-step work and its scratch copy).
BYTES_PER_CORE_STEP = 8 * (len(EVENT_KINDS) + 2)
#: Per step, whatever the size: the step index arrays of the spike and fan-out tables.
BYTES_PER_STEP = 64
#: Seconds per step whatever the size, by Brian2 device: the Python loop over the code objects
#: of the runtime devices (benchmarks/run_memory.py: 0.65 ms per step, range 0.45-0.86, for
#: CUBA-like networks of 200 neurons, 20,000 steps, runtime device; numpy 0.60 ms), and a
#: compiled loop for cpp.
SECONDS_PER_STEP = {"runtime": 6e-4, "cython": 6e-4, "numpy": 6e-4, "cpp": 5e-6}
#: Seconds per neuron and step, synaptic work of a typically active network included (measured
#: here: CUBA, 4,000 neurons, 1.2 ms per step with cython; 0.2 us per neuron-step).
SECONDS_PER_NEURON_STEP = 1e-7
#: ``device="auto"``: a run numpy would simulate within this many seconds runs on numpy (no
#: compiler, nothing to wait for: the cold cython build of CUBA took 111-317 s here, numpy
#: simulates its 1,000 steps in about 1 s); a longer one goes to cpp_standalone, which compiles
#: the whole network once (about 25 s cold) and then runs several times faster.
AUTO_NUMPY_UP_TO_S = 30.0

#: A run expected to take at least this long is announced with its estimate.
WARN_AFTER_S = 3600.0


class RunBudgetWarning(UserWarning):
    """A run that will take long or was allowed past its memory estimate (``--i-know``)."""


class RunTooLargeError(NeuroEmuError):
    """The run's memory estimate exceeds the memory this machine has available."""


@dataclass(frozen=True)
class RunBudget:
    """A run's expected peak memory and simulation time, from its sizes."""

    n_neurons: int
    n_synapses: int
    n_steps: int
    n_cores: int
    memory_bytes: float
    seconds: float


def estimate_run(
    network: Network, n_steps: int, n_cores: int, device: str = "runtime"
) -> RunBudget:
    """Price a run of ``network`` for ``n_steps`` steps on ``n_cores`` cores.

    Parameters
    ----------
    network : Network
        The built network (its sizes only are read).
    n_steps : int
        Steps the run will simulate.
    n_cores : int
        Cores the mapping uses (the per-step accounting arrays have one column per core).
    device : str
        Brian2 device the run uses (``runtime``, ``cython``, ``numpy`` or ``cpp``).

    Returns
    -------
    RunBudget
        Peak memory in bytes and the expected simulation time in seconds.
    """
    n_neurons = network.n_neurons
    n_synapses = network.n_synapses
    memory = (
        BASE_BYTES
        + BYTES_PER_SYNAPSE * float(n_synapses)
        + BYTES_PER_NEURON * float(n_neurons)
        + float(n_steps) * (BYTES_PER_STEP + BYTES_PER_CORE_STEP * float(n_cores))
    )
    per_step = SECONDS_PER_STEP.get(device, SECONDS_PER_STEP["runtime"])
    seconds = float(n_steps) * (per_step + SECONDS_PER_NEURON_STEP * float(n_neurons))
    return RunBudget(n_neurons, n_synapses, n_steps, n_cores, memory, seconds)


def check_run_budget(
    budget: RunBudget, allow_large: bool = False, available: int | None = None
) -> list[str]:
    """Refuse a run that cannot fit in memory; return warnings for one that will take long.

    Parameters
    ----------
    budget : RunBudget
        What :func:`estimate_run` returned.
    allow_large : bool
        Run even when the estimate exceeds the available memory (``--i-know``).
    available : int or None
        Bytes available (default: this machine's ``MemAvailable`` now).

    Returns
    -------
    list of str
        Warnings to show before the run starts (empty when there is nothing to say).

    Raises
    ------
    RunTooLargeError
        The memory estimate exceeds what is available, and ``allow_large`` is not set.
    """
    have = available_memory_bytes() if available is None else available
    sizes = (
        f"{budget.n_neurons:,} neurons, {budget.n_synapses:,} synapses, {_count(budget.n_steps)} "
        f"steps on {budget.n_cores:,} cores"
    )
    warnings: list[str] = []
    if have is not None and budget.memory_bytes > have:
        message = (
            f"this run would need about {_bytes(budget.memory_bytes)} of memory ({sizes}); this "
            f"machine has {_bytes(have)} available"
        )
        if not allow_large:
            raise RunTooLargeError(
                f"{message}: expected a shorter duration or a smaller network; --i-know "
                f"(allow_large=True) runs it anyway"
            )
        warnings.append(f"{message}; running anyway (--i-know)")
    if budget.seconds >= WARN_AFTER_S:
        warnings.append(
            f"this run would take about {_duration(budget.seconds)} to simulate ({sizes}; "
            f"estimated from rates measured on a 2-core machine, the activity moves it either "
            f"way); Ctrl-C stops it cleanly"
        )
    return warnings


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"{n:.3g}"


def _bytes(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.3g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} hours"
    return format_si(seconds, "s")


def choose_device(
    network: Network, n_steps: int, n_cores: int, compiler: bool | None = None
) -> tuple[str, str]:
    """The Brian2 device ``auto`` picks for a run, and why, in words.

    Parameters
    ----------
    network, n_steps, n_cores
        The run, as for :func:`estimate_run`.
    compiler : bool or None
        Whether a C++ compiler is available (default: looked up on the PATH).

    Returns
    -------
    (str, str)
        ``numpy`` or ``cpp``, and the reason. numpy and cython draw the same random numbers;
        cpp_standalone draws its own, so a run with random inputs gives other (equally valid)
        spikes there, which is why the reason is always shown.
    """
    if compiler is None:
        compiler = any(shutil.which(name) for name in ("c++", "g++", "clang++"))
    numpy_s = estimate_run(network, n_steps, n_cores, "numpy").seconds
    if numpy_s <= AUTO_NUMPY_UP_TO_S:
        return "numpy", (
            f"numpy: a short run (about {_duration(numpy_s)} on numpy), nothing to compile"
        )
    if not compiler:
        return "numpy", (
            f"numpy: no C++ compiler found, so nothing can be compiled (about "
            f"{_duration(numpy_s)} on numpy)"
        )
    cpp_s = estimate_run(network, n_steps, n_cores, "cpp").seconds
    return "cpp", (
        f"cpp: a long run (about {_duration(numpy_s)} on numpy, {_duration(cpp_s)} compiled), "
        f"worth compiling once; cpp_standalone draws its own random numbers"
    )
