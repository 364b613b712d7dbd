"""What each NIR node type means in neuroemu: neuron nodes as models, linear nodes as synapses.

Two tables, from NIR type name to its translation (no ``if``/``elif`` over types):
:data:`NEURONS` names the ``nir_*`` model (:mod:`neuroemu.network.neuron_models`) and which
NIR field is which parameter; :data:`LINEAR` gives the builder of a linear node's synapse
matrix (:mod:`neuroemu.network.nir_layers`), given the shape of what flows into it. Every
builder checks the node's fields first and names the node when one is wrong. The graph walk
that puts the pieces together is :mod:`neuroemu.network.nir_import`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

from neuroemu.errors import NirError
from neuroemu.network import nir_layers as layers


class NodeChecks:
    """Validation of node fields, raising :class:`NirError` with the file, node and type."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, name: str, node: Any, problem: str) -> NoReturn:
        raise NirError(self.path, name, type(node).__name__, problem)

    def array(self, node: Any, name: str, field: str, ndim: int | None = None) -> np.ndarray:
        value = getattr(node, field, None)
        if value is None:
            self.fail(name, node, f"missing parameter {field!r}")
        array = np.asarray(value, dtype=float)
        if ndim is not None and array.ndim != ndim:
            self.fail(name, node, f"{field} has shape {array.shape}; expected {ndim} dimensions")
        if not np.all(np.isfinite(array)):
            self.fail(name, node, f"{field} has NaN or infinite values")
        return array

    def expect(self, name: str, node: Any, have: int, want: int, shape: Shape, what: str) -> None:
        if have != want:
            self.fail(
                name,
                node,
                f"shape mismatch: its {what} is {want} but its input has "
                f"shape {shape} ({have} elements)",
            )


#: NIR neuron type -> (neuroemu model, NIR field -> parameter name). Time constants must be > 0.
NEURONS: dict[str, tuple[str, dict[str, str]]] = {
    "LIF": (
        "nir_lif",
        {
            "tau": "tau_s",
            "r": "r",
            "v_leak": "v_leak",
            "v_threshold": "v_threshold",
            "v_reset": "v_reset",
        },
    ),
    "CubaLIF": (
        "nir_cuba_lif",
        {
            "tau_syn": "tau_syn_s",
            "tau_mem": "tau_mem_s",
            "r": "r",
            "v_leak": "v_leak",
            "v_threshold": "v_threshold",
            "v_reset": "v_reset",
            "w_in": "w_in",
        },
    ),
    "IF": ("nir_if", {"r": "r", "v_threshold": "v_threshold", "v_reset": "v_reset"}),
    "LI": ("nir_li", {"tau": "tau_s", "r": "r", "v_leak": "v_leak"}),
    "CubaLI": (
        "nir_cuba_li",
        {
            "tau_syn": "tau_syn_s",
            "tau_mem": "tau_mem_s",
            "r": "r",
            "v_leak": "v_leak",
            "w_in": "w_in",
        },
    ),
    "I": ("nir_integrator", {"r": "r"}),
    "Threshold": ("nir_threshold", {"threshold": "threshold"}),
}

Shape = tuple[int, ...]


def _affine(node: Any, shape: Shape, ctx: NodeChecks, name: str) -> layers.LinearMap:
    weight = ctx.array(node, name, "weight", ndim=2)
    bias = ctx.array(node, name, "bias", ndim=1) if hasattr(node, "bias") else None
    ctx.expect(name, node, int(np.prod(shape)), weight.shape[1], shape, "input size")
    if bias is not None and bias.shape != (weight.shape[0],):
        ctx.fail(name, node, f"bias has shape {bias.shape}; expected ({weight.shape[0]},)")
    meta = getattr(node, "metadata", None) or {}
    if "neuroemu_i" in meta and "neuroemu_j" in meta:  # synapses listed by neuroemu's export
        i, j = np.asarray(meta["neuroemu_i"], int), np.asarray(meta["neuroemu_j"], int)
        return layers.structured(weight, bias, i, j)
    return layers.dense(weight, bias)


def _scale(node: Any, shape: Shape, ctx: NodeChecks, name: str) -> layers.LinearMap:
    scale = ctx.array(node, name, "scale").ravel()
    ctx.expect(name, node, int(np.prod(shape)), scale.size, shape, "size")
    return layers.diagonal(scale, shape)


def _delay(node: Any, shape: Shape, ctx: NodeChecks, name: str) -> layers.LinearMap:
    delay = ctx.array(node, name, "delay").ravel()
    ctx.expect(name, node, int(np.prod(shape)), delay.size, shape, "size")
    if np.any(delay < 0):
        ctx.fail(name, node, f"delays must be >= 0 s, found {delay.min()}")
    return layers.diagonal(np.ones(1), shape, delay)


def _identity(node: Any, shape: Shape, ctx: NodeChecks, name: str) -> layers.LinearMap:
    return layers.diagonal(np.ones(1), shape)


def _flatten(node: Any, shape: Shape, ctx: NodeChecks, name: str) -> layers.LinearMap:
    start, end = int(node.start_dim), int(node.end_dim)
    end = len(shape) - 1 if end == -1 else end
    if not 0 <= start <= end < len(shape):
        ctx.fail(name, node, f"start_dim {start} and end_dim {end} do not fit input {shape}")
    out = (*shape[:start], int(np.prod(shape[start : end + 1])), *shape[end + 1 :])
    return layers.diagonal(np.ones(1), out)


def _pair(value: Any) -> tuple[int, int]:
    flat = np.atleast_1d(np.asarray(value)).astype(int).ravel()
    return (int(flat[0]), int(flat[-1]))


def _conv(node: Any, shape: Shape, ctx: NodeChecks, name: str, one_d: bool) -> layers.LinearMap:
    weight = ctx.array(node, name, "weight", ndim=3 if one_d else 4)
    if one_d:  # a 1-D convolution is a 2-D one over a height of 1
        weight = weight[:, :, None, :]
    dims = 1 if one_d else 2
    if len(shape) != dims + 1:
        ctx.fail(
            name,
            node,
            f"expected a (channels, {'N' if one_d else 'H, W'}) input, got shape {shape}",
        )
    in_shape = (shape[0], 1, shape[1]) if one_d else (shape[0], shape[1], shape[2])
    groups = int(node.groups)
    if groups < 1 or shape[0] != weight.shape[1] * groups or weight.shape[0] % groups:
        ctx.fail(
            name,
            node,
            f"weight {weight.shape} with groups={groups} needs "
            f"{weight.shape[1] * groups} input channels; the input has "
            f"{shape[0]} (shape {shape})",
        )

    def lift(value: Any, height: int) -> tuple[int, int]:
        return (height, int(np.asarray(value).ravel()[0])) if one_d else _pair(value)

    stride, dilation = lift(node.stride, 1), lift(node.dilation, 1)
    if isinstance(node.padding, str):
        if node.padding == "valid":
            padding = (0, 0)
        elif any(k % 2 == 0 for k in weight.shape[2:]) or max(stride) > 1:
            ctx.fail(name, node, "padding='same' is supported for odd kernels at stride 1 only")
        else:
            padding = layers.same_padding(weight.shape[2:], dilation)  # type: ignore[assignment]
    else:
        padding = lift(node.padding, 0)
    declared = getattr(node, "input_shape", None)
    if declared is not None and tuple(np.atleast_1d(declared)) != tuple(shape[1:]):
        ctx.fail(
            name,
            node,
            f"input_shape {tuple(np.atleast_1d(declared))} does not match "
            f"the input's spatial shape {tuple(shape[1:])}",
        )
    bias = ctx.array(node, name, "bias").ravel()
    result = layers.conv2d(weight, bias, in_shape, stride, padding, dilation, groups)
    meta = getattr(node, "metadata", None) or {}
    if "neuroemu_i" in meta and "neuroemu_j" in meta:  # the taps neuroemu's export kept
        i, j = np.asarray(meta["neuroemu_i"], int), np.asarray(meta["neuroemu_j"], int)
        result = layers.restrict(result, i, j)
    if one_d:
        return layers.LinearMap(
            result.values,
            result.pattern,
            result.bias,
            (result.out_shape[0], result.out_shape[2]),
            structure=result.structure,
        )
    return result


def _pool(node: Any, shape: Shape, ctx: NodeChecks, name: str, average: bool) -> layers.LinearMap:
    if len(shape) != 3:
        ctx.fail(name, node, f"expected a (channels, H, W) input, got shape {shape}")
    return layers.pool2d(
        (shape[0], shape[1], shape[2]),
        _pair(node.kernel_size),
        _pair(node.stride),
        _pair(node.padding),
        average,
    )


Builder = Callable[[Any, Shape, NodeChecks, str], layers.LinearMap]

#: NIR linear node type -> builder of its synapse matrix, given the input's shape.
LINEAR: dict[str, Builder] = {
    "Affine": _affine,
    "Linear": _affine,
    "Scale": _scale,
    "Delay": _delay,
    "Flatten": _flatten,
    "Conv1d": lambda n, s, c, name: _conv(n, s, c, name, one_d=True),
    "Conv2d": lambda n, s, c, name: _conv(n, s, c, name, one_d=False),
    "SumPool2d": lambda n, s, c, name: _pool(n, s, c, name, average=False),
    "AvgPool2d": lambda n, s, c, name: _pool(n, s, c, name, average=True),
    "Input": _identity,  # of a nested graph: passes its input on
    "Output": _identity,
}

SUPPORTED = sorted({"Input", "Output", "NIRGraph", *NEURONS, *LINEAR})

#: Neuron nodes whose output is their potential, not spikes: a chip sends only spikes, so
#: they can only be read out (feed an Output), never feed another node.
NON_SPIKING = ("LI", "CubaLI", "I")


def _parameter(values: np.ndarray) -> float | np.ndarray:
    """One value when every neuron has it (so populations can share a Brian2 group)."""
    flat = np.asarray(values, dtype=float).ravel()
    return float(flat[0]) if len(flat) and np.all(flat == flat[0]) else flat


def neuron_parameters(
    ctx: NodeChecks, name: str, node: Any, shape: Shape, bias: np.ndarray
) -> tuple[str, dict[str, float | np.ndarray]]:
    """The ``nir_*`` model of a neuron node and its parameters: one value where all neurons
    share it, else one per neuron; ``bias`` (the Affine biases feeding it) where not zero."""
    model, fields = NEURONS[type(node).__name__]
    parameters: dict[str, float | np.ndarray] = {}
    for field, key in fields.items():
        values = ctx.array(node, name, field)
        if values.shape not in (shape, ()):
            ctx.fail(
                name,
                node,
                f"shape mismatch: {field} has shape {values.shape}, "
                f"{next(iter(fields))} has {shape}",
            )
        if key.endswith("_s") and np.any(values <= 0):
            ctx.fail(name, node, f"{field} must be > 0 s (a time constant), found {values.min()}")
        parameters[key] = _parameter(np.broadcast_to(values, shape))
    if np.any(bias != 0):
        parameters["bias"] = _parameter(bias)
    return model, parameters
