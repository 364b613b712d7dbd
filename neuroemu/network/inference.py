"""A network run as a stream of inferences: steps per inference and when state is reset.

Convolutional classifiers and regressors on neuromorphic chips run one input sample after
another: a fixed number of timesteps per sample, with neuron state reset between samples.
lava-dl resets every layer each ``steps`` steps, layer ``k`` ``k`` steps after the first (a
spike needs one step per layer to reach it), hence a per-population offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neuroemu.errors import NetworkError


@dataclass(frozen=True)
class InferenceSchedule:
    """Steps per inference and which populations are reset, every ``steps`` steps.

    Attributes
    ----------
    steps : int
        Timesteps of one inference.
    reset : tuple of str or None
        Populations whose state returns to rest at each inference boundary; ``None``: every
        population; ``()``: none (inferences only divide the results).
    offsets : dict of str to int
        Steps by which a population's reset follows the inference boundary (default 0): a
        population ``p`` is reset at the start of every step ``t`` with
        ``t >= offsets[p]`` and ``(t - offsets[p]) % steps == 0``, ``t > 0``.
    """

    steps: int
    reset: tuple[str, ...] | None = None
    offsets: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise NetworkError(
                f"an inference needs a whole number of steps >= 1, got {self.steps!r}"
            )
        if self.reset is not None:
            object.__setattr__(self, "reset", tuple(self.reset))
        object.__setattr__(self, "offsets", dict(self.offsets))
        for name, offset in self.offsets.items():
            if (
                isinstance(offset, bool)
                or not isinstance(offset, int)
                or not 0 <= offset < self.steps
            ):
                raise NetworkError(
                    f"reset offset of {name!r} must be a whole number of steps in "
                    f"[0, {self.steps}), got {offset!r}"
                )

    def without(self, names: set[str]) -> InferenceSchedule:
        """The schedule with populations ``names`` left out of its resets and offsets (a chip's
        view of a network whose host-side populations become inputs)."""
        reset = None if self.reset is None else tuple(n for n in self.reset if n not in names)
        offsets = {n: k for n, k in self.offsets.items() if n not in names}
        return InferenceSchedule(self.steps, reset, offsets)

    def reset_populations(self, names: list[str]) -> list[str]:
        """Which of ``names`` (the network's populations, in order) are reset."""
        return list(names) if self.reset is None else [n for n in names if n in self.reset]

    def resets_at(self, population: str, n_steps: int) -> list[int]:
        """The steps of a run of ``n_steps`` at whose start ``population`` is reset (none when
        the schedule does not reset it)."""
        if self.reset is not None and population not in self.reset:
            return []
        offset = self.offsets.get(population, 0)
        first = offset if offset > 0 else self.steps
        return list(range(first, n_steps, self.steps))


# How a run staggers its resets: all at the boundary, or by layer (pipeline.layer_offsets).
OFFSET_STYLES = ("none", "layer")
