"""The exceptions neuroemu raises; each keeps its facts as attributes so callers can act on them.

The CLI catches :class:`NeuroEmuError` once and prints its message; library code never exits.
"""

from __future__ import annotations


class NeuroEmuError(Exception):
    """Base class of every error neuroemu raises on purpose."""


class DescriptorError(NeuroEmuError):
    """A chip, GPU or experiment file is malformed.

    Attributes
    ----------
    path : str
        The file (or ``"<string>"``).
    line : int or None
        1-based line of the offending field, where known.
    field : str
        Dotted path of the field (``core.neurons``), or ``""`` for the whole file.
    problem : str
        What was expected and what was found.
    """

    def __init__(self, path: str, line: int | None, field: str, problem: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem
        where = f"{path}:{line}" if line is not None else path
        prefix = f"{where}: {field}: " if field else f"{where}: "
        super().__init__(prefix + problem)


class DescriptorErrors(DescriptorError):
    """Several problems found in one file; the message lists them all, one per line."""

    def __init__(self, errors: list[DescriptorError]) -> None:
        first = errors[0]
        super().__init__(first.path, first.line, first.field, first.problem)
        self.errors = errors
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        return self.args[0]


class NetworkError(NeuroEmuError):
    """A network is malformed (bad indices, lengths, NaN weights, unknown population...)."""


class ModelError(NeuroEmuError):
    """A model file or a model parameter (``-p key=value``) is wrong."""


class CapacityError(NeuroEmuError):
    """The network does not fit the chip.

    Attributes
    ----------
    resource : str
        The capacity that binds (``neurons``, ``synapse_memory_bits``, ``fan_in``, ...).
    where : str
        The core, neuron or population concerned.
    needed, limit : float
        What is needed and what the chip offers.
    remedy : str
        What the user can do, or ``""`` if nothing helps.
    """

    def __init__(
        self, resource: str, where: str, needed: float, limit: float, message: str, remedy: str = ""
    ) -> None:
        self.resource = resource
        self.where = where
        self.needed = needed
        self.limit = limit
        self.remedy = remedy
        super().__init__(message + (f" {remedy}" if remedy else ""))


class GpuMemoryError(NeuroEmuError):
    """The network does not fit a GPU's device memory in an execution style.

    Attributes
    ----------
    gpu, style : str
        The GPU descriptor and the execution style.
    needed, available : float
        Bytes the network needs and bytes the board has.
    """

    def __init__(self, gpu: str, style: str, needed: float, available: float, message: str):
        self.gpu, self.style, self.needed, self.available = gpu, style, needed, available
        super().__init__(message)


class UnpricedError(NeuroEmuError):
    """An energy was asked for that the descriptor marks as unknown (never priced as zero)."""


class NoGpuError(NeuroEmuError):
    """No usable NVIDIA GPU, driver, NVML energy counter or CUDA-enabled PyTorch here."""


class SimulationError(NeuroEmuError):
    """The engine could not run the network (bad equations, failed compilation...)."""


class RunInterrupted(NeuroEmuError):
    """The simulation stopped before its end (Ctrl-C): nothing of it may pass for a full run.

    Attributes
    ----------
    steps_done, n_steps : int
        Steps simulated, and steps asked for.
    """

    def __init__(self, steps_done: int, n_steps: int, partial: object = None) -> None:
        self.steps_done, self.n_steps = steps_done, n_steps
        # The Activity of the steps done (the engine attaches it), for --keep-partial.
        self.partial = partial
        super().__init__(
            f"interrupted after {steps_done} of {n_steps} steps: no result was kept (a partial "
            f"run is never saved as complete)"
        )


class TraceError(NeuroEmuError):
    """A trace file is unreadable, corrupted or from a newer format version."""


class NirError(NeuroEmuError):
    """A NIR graph neuroemu cannot import or a network it cannot export to NIR.

    Attributes
    ----------
    path : str
        The ``.nir`` file, or ``"<graph>"`` for a graph given in memory.
    node : str
        The node (dotted for nested graphs: ``block.lif``) or population concerned; ``""`` for
        the whole graph.
    node_type : str
        Its NIR type (``LIF``, ``Conv2d``) or neuron model; ``""`` when unknown.
    problem : str
        What was expected and what was found, with the fix where there is one.
    """

    def __init__(self, path: str, node: str, node_type: str, problem: str) -> None:
        self.path, self.node, self.node_type, self.problem = path, node, node_type, problem
        where = f"node {node!r} ({node_type}): " if node and node_type else ""
        where = f"node {node!r}: " if node and not node_type else where
        super().__init__(f"{path}: {where}{problem}")


class NeuroEmuWarning(UserWarning):
    """Something a user should know about a run that still goes on (the CLI shows one line)."""


class QuantisationWarning(NeuroEmuWarning):
    """Quantising weights to the chip's precision changed them beyond rounding (weights that
    were non-zero became zero)."""
