"""The structure a projection was built from, where one weight serves many synapses.

A convolution stores its synapses explicitly in a :class:`~neuroemu.network.network.Projection`
(``i``, ``j``, ``weight``: the simulator and the exact event count need every one), but a chip
with a shared-weight encoding (Loihi's convolutional axons, Loihi 2's convolutional connectivity,
Speck's kernel memory) stores only the kernel. :class:`ConvStructure` keeps what such a chip needs
to size that storage: the input and output shapes, the kernel, stride, padding, dilation and
groups, with the same meaning as ``torch.nn.Conv2d`` and NIR's ``Conv2d`` node.

Neurons of a feature map are numbered channel-major, as ``numpy.ravel`` of a ``(C, H, W)``
array: neuron ``c * H * W + y * W + x``.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroemu.errors import NetworkError

Shape3 = tuple[int, int, int]
Pair = tuple[int, int]


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length along one axis (the formula of ``torch.nn.Conv2d``)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvStructure:
    """A 2-D convolution from a ``(C_in, H_in, W_in)`` map to a ``(C_out, H_out, W_out)`` map.

    Attributes
    ----------
    in_shape, out_shape : (channels, height, width)
    kernel, stride, padding, dilation : (rows, columns)
    groups : int
        Input and output channels split into ``groups`` independent convolutions (depthwise when
        ``groups == C_in``); each output channel sees ``C_in / groups`` input channels.
    """

    in_shape: Shape3
    out_shape: Shape3
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1

    def __post_init__(self) -> None:
        for name in ("in_shape", "out_shape", "kernel", "stride", "padding", "dilation"):
            value = tuple(int(v) for v in getattr(self, name))
            object.__setattr__(self, name, value)
            low = 0 if name == "padding" else 1
            if any(v < low for v in value):
                raise NetworkError(f"convolution {name} must be >= {low} everywhere, got {value}")
        c_in, h_in, w_in = self.in_shape
        c_out, h_out, w_out = self.out_shape
        if self.groups < 1 or c_in % self.groups or c_out % self.groups:
            raise NetworkError(
                f"convolution groups={self.groups} must divide both channel counts "
                f"(in {c_in}, out {c_out})"
            )
        expected = tuple(
            conv_output_size(size, k, s, p, d)
            for size, k, s, p, d in zip(
                (h_in, w_in), self.kernel, self.stride, self.padding, self.dilation, strict=True
            )
        )
        if expected != (h_out, w_out):
            raise NetworkError(
                f"convolution output is {h_out} x {w_out}, but a {self.in_shape} input with "
                f"kernel {self.kernel}, stride {self.stride}, padding {self.padding} and "
                f"dilation {self.dilation} gives {expected[0]} x {expected[1]}"
            )

    @property
    def n_in(self) -> int:
        """Neurons (or input sources) of the input map."""
        c, h, w = self.in_shape
        return c * h * w

    @property
    def n_out(self) -> int:
        """Neurons of the output map."""
        c, h, w = self.out_shape
        return c * h * w

    @property
    def weights_per_out_channel(self) -> int:
        """Kernel weights one output channel holds: ``C_in / groups x kh x kw``."""
        return self.in_shape[0] // self.groups * self.kernel[0] * self.kernel[1]

    @property
    def n_weights(self) -> int:
        """Distinct weights of the whole convolution (the kernel tensor's size)."""
        return self.out_shape[0] * self.weights_per_out_channel
