"""What a compiled ``cpp_standalone`` binary reads when it starts, so that it is compiled once.

Brian2 compiles into the generated C++ the length of every array a script hands it
(``Synapses.connect(i=, j=)``, ``syn.w = array``) and the seed (``seed(s)``): a new seed of
COBA, whose connectivity is drawn with the seed, recompiled 4 of its 18 objects (``main``,
``objects`` and the two synapse-creation code objects), 10 s against 17 s for a cold build. Here
the code depends on the network's structure only, and everything else is read at start:

- synapses are created with Brian2's generator syntax from a table the binary loads,
  ``connect(j='neuroemu_target_S(k) for k in range(neuroemu_start_S(i), neuroemu_start_S(i+1))')``
  (two small C++ functions over a compressed-row table of each source's targets), so their
  number is not compiled in; the table is freed once the synapses exist;
- every value given per neuron or per synapse (initial values and per-neuron parameters,
  weights, delays, Poisson rates) is one of Brian2's run arguments (``device.run(run_args=...)``,
  one binary file per variable), which Brian2 applies after the synapses exist, just before the
  network runs;
- the seed is read from a file by the lines Brian2's ``seed()`` would compile in, with the same
  arithmetic, so a run's random numbers (and spikes) are those of ``seed(s)``, bit for bit.

So a run with another seed, other weights or another draw of the connectivity compiles nothing,
and in one process the built binary is simply run again (Brian2's "compile once, run many").

Synapses are created source by source, so a Synapses object whose synapses are not sorted by
source (several projections concatenated) holds them in another order than the network's; the
order is kept in :class:`Connections` and every per-synapse value goes in, and comes back out,
through it. Each source's synapses keep their relative order, so the spike queue delivers the
same events in the same order, and the floating-point sums are those of ``connect(i=, j=)``.
"""

from __future__ import annotations

import contextlib
import ctypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuroemu.errors import SimulationError

INPUTS_DIR = "neuroemu_inputs"
SEED_FILE = "seed"
_MAX_SYNAPSES = 2**31 - 1  # Brian2's synapse indices are int32


@dataclass(frozen=True)
class Connections:
    """One Synapses object's synapses as a compressed-row table over its sources.

    Attributes
    ----------
    starts : ndarray of int64
        ``starts[i]:starts[i + 1]`` are source ``i``'s synapses (length ``n_sources + 1``).
    targets : ndarray of int32
        Target of each synapse, source by source.
    order : ndarray of int64 or None
        The network's index of each synapse as Brian2 creates it, or None where that is the
        network's own order (synapses already sorted by source).
    """

    starts: np.ndarray
    targets: np.ndarray
    order: np.ndarray | None

    @classmethod
    def from_pairs(cls, name: str, i: np.ndarray, j: np.ndarray, n_sources: int) -> Connections:
        """The table of synapses ``(i[k], j[k])``; a stable sort keeps each source's order."""
        if len(i) > _MAX_SYNAPSES:
            raise SimulationError(
                f"synapses {name!r}: {len(i):,} synapses, more than Brian2's int32 synapse "
                f"indices hold ({_MAX_SYNAPSES:,}); split the projection"
            )
        ordered = len(i) < 2 or bool(np.all(i[1:] >= i[:-1]))
        order = None if ordered else np.argsort(i, kind="stable")
        counts = np.bincount(i, minlength=n_sources)
        starts = np.zeros(n_sources + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        targets = (j if order is None else j[order]).astype(np.int32, copy=False)
        return cls(starts=starts, targets=targets, order=order)

    def in_creation_order(self, values: np.ndarray) -> np.ndarray:
        """Per-synapse ``values`` given in the network's order, in Brian2's."""
        return values if self.order is None else values[self.order]

    def in_network_order(self, values: np.ndarray) -> np.ndarray:
        """Per-synapse ``values`` read from Brian2, in the network's order."""
        return in_network_order(values, self.order)


def in_network_order(values: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """Per-synapse ``values`` read from Brian2, in the network's order (``order`` as
    :attr:`Connections.order`, which is all a run keeps of its tables once they are written)."""
    if order is None:
        return values
    restored = np.empty_like(values)
    restored[order] = values
    return restored


def connect_at_start(b2: Any, synapses: Any) -> None:
    """Create ``synapses`` in the binary from ``neuroemu_inputs/<name>.csr``, not from arrays.

    Two C++ functions over the table, loaded on the first call; the targets (4 bytes per
    synapse) are freed once the last one is read, the row starts (per source) stay.
    """
    name = synapses.name
    starts, targets = f"neuroemu_csr_starts_{name}", f"neuroemu_csr_targets_{name}"
    start_fn, target_fn = f"neuroemu_start_{name}", f"neuroemu_target_{name}"
    path = f"{INPUTS_DIR}/{name}.csr"
    code = f"""
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <vector>
static std::vector<int64_t> {starts};
static std::vector<int32_t> {targets};
static void neuroemu_load_{name}() {{
    std::ifstream f("{path}", std::ios::in | std::ios::binary);
    int64_t head[2] = {{-1, -1}};
    f.read(reinterpret_cast<char*>(head), sizeof(head));
    if (!f || head[0] < 0 || head[1] < 0) {{
        std::cerr << "neuroemu: cannot read {path}" << std::endl;
        std::exit(1);
    }}
    {starts}.resize(head[0] + 1);
    {targets}.resize(head[1]);
    f.read(reinterpret_cast<char*>({starts}.data()), (head[0] + 1) * sizeof(int64_t));
    f.read(reinterpret_cast<char*>({targets}.data()), head[1] * sizeof(int32_t));
    if (!f) {{
        std::cerr << "neuroemu: {path} is shorter than its header says" << std::endl;
        std::exit(1);
    }}
}}
static inline int32_t {start_fn}(int32_t i) {{
    if ({starts}.empty()) neuroemu_load_{name}();
    return (int32_t) {starts}[i];
}}
static inline int32_t {target_fn}(int32_t k) {{
    const int32_t target = {targets}[k];
    if ((size_t) k + 1 == {targets}.size()) std::vector<int32_t>().swap({targets});  // done
    return target;
}}
"""
    start = _integer_function(b2)
    start.implementations.add_implementation("cpp", code, name=start_fn)
    target = _integer_function(b2)
    target.implementations.add_implementation(
        "cpp", "", name=target_fn, dependencies={"neuroemu_start": start}
    )
    synapses.connect(
        j="neuroemu_target(k) for k in range(neuroemu_start(i), neuroemu_start(i + 1))",
        namespace={"neuroemu_start": start, "neuroemu_target": target},
    )


def _integer_function(b2: Any) -> Any:
    # The Python side is never called: only cpp_standalone builds these connections.
    return b2.Function(
        lambda *args: None,
        arg_units=[1],
        return_unit=1,
        arg_types=["integer"],
        return_type="integer",
    )


def seed_at_start(device: Any, n_threads: int) -> None:
    """Seed the binary's random streams from ``neuroemu_inputs/seed``, as ``seed(s)`` would."""
    path = f"{INPUTS_DIR}/{SEED_FILE}"
    device.insert_code(
        "main",
        f"""{{
    std::ifstream neuroemu_f("{path}");
    long neuroemu_seed = 0;
    if (!(neuroemu_f >> neuroemu_seed)) {{
        std::cerr << "neuroemu: cannot read the seed from {path}" << std::endl;
        std::exit(1);
    }}
    for (int _i=0; _i<{n_threads}; _i++)
        brian::_random_generators[_i].seed(neuroemu_seed + _i);
}}""",
    )


@dataclass
class RunInputs:
    """The files one run of a compiled binary reads, built before they are written.

    Attributes
    ----------
    seed : int
        Seeds the binary's random streams.
    connections : dict
        Synapses name -> :class:`Connections`.
    values : dict
        Brian2 variable (``"<owner>.<variable>"``) -> its values, in the variable's dtype.
    """

    seed: int
    connections: dict[str, Connections] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def set_value(self, owner: str, variable: str, dtype: np.dtype, values: np.ndarray) -> None:
        """Hand ``values`` to Brian2 variable ``variable`` of object ``owner``, in ``dtype``."""
        self.values[f"{owner}.{variable}"] = np.ascontiguousarray(values, dtype=dtype)

    def write(self, directory: Path) -> list[str]:
        """Write every file into ``directory``; return the run arguments naming them."""
        folder = Path(directory) / INPUTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.iterdir():
            stale.unlink()
        (folder / SEED_FILE).write_text(f"{int(self.seed)}\n")
        for name, table in self.connections.items():
            with open(folder / f"{name}.csr", "wb") as out:
                head = np.array([len(table.starts) - 1, len(table.targets)], dtype=np.int64)
                head.tofile(out)
                table.starts.tofile(out)
                table.targets.tofile(out)
        run_args = []
        for name, values in self.values.items():
            if values.size == 0:  # nothing to set (a Synapses without synapses)
                continue
            values.tofile(folder / f"{name}.dat")
            run_args.append(f"{name}={INPUTS_DIR}/{name}.dat")
        return run_args


def return_freed_memory() -> None:
    """Give freed heap memory back to the system before the binary starts (glibc only).

    The run inputs are built and written per Synapses object, arrays of a few MB that glibc
    keeps on its heap after they are freed: at scale 0.2 of the microcircuit (60 M synapses)
    Python's resident size while the binary ran was 1.79 GiB, against the Network's 0.89 GiB
    of per-synapse arrays. Elsewhere this does nothing.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
