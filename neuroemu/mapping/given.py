"""A placement the user already has: a core per neuron, or cores per population.

Published layouts put each layer on chosen cores (a compiler's table, a paper's figure), and
``fill`` splits layers differently, which moves time on chip (16 % on a small classifier). A
given placement is read from a file or built in code and then goes through every capacity
check the strategies go through, with the same errors:

- ``.npy``: one integer per neuron, the core of neuron ``k`` (global core number: chip ``c``'s
  cores are ``c * cores_per_chip ...``); ``.npz``: the same array under ``core_of_neuron``;
- ``.yaml``: a population's cores as a list (``[0, 1, 2]``), a range (``"4-7"``) or one core;
  its neurons are split over them in order, in contiguous runs that differ by at most one
  neuron (what chip compilers do with a layer given several cores)::

      format_version: 1
      kind: placement
      populations:
        hidden: "0-3"
        out: [4]

Every population must be placed; the file says which line is wrong otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuroemu.errors import NeuroEmuError
from neuroemu.network.network import Network
from neuroemu.spec.descriptor import line_of, parse_yaml, read_text

#: Largest core number a placement may name: far beyond any chip system, small enough that an
#: array sized by it is never an unbounded allocation.
MAX_CORE = 2**31 - 1

#: Most cores one range may name (a whole SpiNNaker machine has about a million).
MAX_RANGE = 2**24

_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


class PlacementError(NeuroEmuError):
    """A placement file or array that cannot be used, with where and why."""


@dataclass(frozen=True)
class Placement:
    """Where neurons go, as the user gave it.

    Attributes
    ----------
    source : str
        The file (or ``"<array>"``) it came from, for messages and the mapping's notes.
    core_of_neuron : ndarray or None
        One core per neuron, when given that way.
    population_cores : dict
        Population name -> its cores, in order, when given per population.
    lines : dict
        Population name -> line in the file, for messages.
    """

    source: str
    core_of_neuron: np.ndarray | None = None
    population_cores: dict[str, list[int]] = field(default_factory=dict)
    lines: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def per_neuron(cls, cores: Any, source: str = "<array>") -> Placement:
        """A placement from one core per neuron (checked against the network later)."""
        array = np.asarray(cores)
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            raise PlacementError(
                f"{source}: expected a 1-D array of integer cores, one per neuron; got "
                f"{array.dtype} of shape {array.shape}"
            )
        return cls(source, core_of_neuron=array.astype(np.int64, copy=False))

    def cores_for(self, network: Network) -> np.ndarray:
        """The core of every neuron of ``network``.

        Raises
        ------
        PlacementError
            A population is missing or unknown, a core is negative or too large, or the array
            has the wrong length.
        """
        if self.core_of_neuron is not None:
            core = self.core_of_neuron
            if len(core) != network.n_neurons:
                raise PlacementError(
                    f"{self.source}: {len(core):,} cores given, one per neuron, but the network "
                    f"has {network.n_neurons:,} neurons"
                )
            _check_range(core, self.source)
            return core.astype(np.int32)
        names = [pop.name for pop in network.populations]
        for name in self.population_cores:
            if name not in names:
                raise PlacementError(
                    f"{self._at(name)}: no population {name!r} in the network: expected one of "
                    f"{', '.join(names)}"
                )
        missing = [name for name in names if name not in self.population_cores]
        if missing:
            raise PlacementError(
                f"{self.source}: population(s) {', '.join(missing)} are not placed: a given "
                f"placement places every population"
            )
        parts = []
        for pop in network.populations:
            cores = np.asarray(self.population_cores[pop.name], dtype=np.int64)
            _check_range(cores, self._at(pop.name))
            if len(cores) > pop.size:
                raise PlacementError(
                    f"{self._at(pop.name)}: {len(cores)} cores for population {pop.name!r} of "
                    f"{pop.size} neurons: expected at most one core per neuron"
                )
            # Contiguous runs whose sizes differ by at most one neuron, in the cores' order.
            sizes = np.full(len(cores), pop.size // len(cores))
            sizes[: pop.size % len(cores)] += 1
            parts.append(np.repeat(cores, sizes))
        return np.concatenate(parts).astype(np.int32) if parts else np.empty(0, np.int32)

    def _at(self, name: str) -> str:
        line = self.lines.get(name)
        return f"{self.source}:{line}: populations.{name}" if line else self.source


def _check_range(cores: np.ndarray, where: str) -> None:
    if len(cores) and (cores.min() < 0 or cores.max() > MAX_CORE):
        bad = int(cores.min()) if cores.min() < 0 else int(cores.max())
        raise PlacementError(f"{where}: core {bad} is not a core number: expected 0..{MAX_CORE}")


def load_placement(path: str | Path) -> Placement:
    """Read a placement file (``.yaml``, ``.npy`` or ``.npz``), see the module docstring."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        try:
            loaded = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise PlacementError(f"{path}: cannot read the placement: {exc}") from None
        if suffix == ".npz":
            if "core_of_neuron" not in loaded:
                raise PlacementError(
                    f"{path}: expected an array named core_of_neuron; found "
                    f"{', '.join(loaded.files) or 'none'}"
                )
            loaded = loaded["core_of_neuron"]
        return Placement.per_neuron(loaded, str(path))
    if suffix not in (".yaml", ".yml"):
        raise PlacementError(
            f"{path}: expected a placement as .yaml (cores per population), .npy or .npz (a core "
            f"per neuron), got {suffix or 'no suffix'}"
        )
    data, lines = parse_yaml(read_text(path), str(path))
    if not isinstance(data, dict):
        raise PlacementError(f"{path}: expected a YAML mapping, got {type(data).__name__}")
    for key, expected in (("format_version", 1), ("kind", "placement")):
        if data.get(key) != expected:
            raise PlacementError(
                f"{path}:{line_of(lines, (key,)) or 1}: {key}: expected {expected!r}, got "
                f"{data.get(key)!r}"
            )
    unknown = sorted(set(data) - {"format_version", "kind", "populations", "description"})
    if unknown:
        raise PlacementError(
            f"{path}:{line_of(lines, (unknown[0],))}: {unknown[0]}: unknown key; expected "
            f"format_version, kind, description, populations"
        )
    populations = data.get("populations")
    if not isinstance(populations, dict) or not populations:
        raise PlacementError(
            f"{path}:{line_of(lines, ('populations',)) or 1}: populations: expected a mapping of "
            f"population name -> cores"
        )
    cores: dict[str, list[int]] = {}
    where: dict[str, int | None] = {}
    for name, value in populations.items():
        where[str(name)] = line_of(lines, ("populations", name))
        cores[str(name)] = _cores(value, f"{path}:{where[str(name)]}: populations.{name}")
    return Placement(str(path), population_cores=cores, lines=where)


def _cores(value: Any, where: str) -> list[int]:
    """``[0, 1]``, ``"4-7"`` or ``3`` -> a list of cores."""
    if isinstance(value, bool):
        value = None  # a YAML yes/no is not a core
    if isinstance(value, int):
        return [value]
    if isinstance(value, str) and (match := _RANGE.match(value)):
        first, last = int(match[1]), int(match[2])
        if last < first or last > MAX_CORE or last - first >= MAX_RANGE:
            raise PlacementError(
                f"{where}: range {value!r}: expected first-last with first <= last, at most "
                f"{MAX_RANGE:,} cores"
            )
        return list(range(first, last + 1))
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        if len(set(value)) != len(value):
            raise PlacementError(f"{where}: a core is listed twice in {value!r}")
        return list(value)
    raise PlacementError(
        f"{where}: expected a core, a list of cores or a range such as '0-3', got {value!r}"
    )
