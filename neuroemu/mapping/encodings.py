"""Which encoding each projection is stored with on a chip, and what its storage costs.

A projection is stored *explicitly* (every synapse, at the bits per synapse of one of the chip's
``core.synapse_encodings``) unless the chip declares a shared-weight encoding
(``core.shared_encodings.conv``, :class:`~neuroemu.spec.chip.SharedEncoding`) and the projection
carries its convolution (:class:`~neuroemu.network.structure.ConvStructure`); then only the
kernel is stored. :func:`choose_encodings` makes that choice once per mapping and says why;
the kernel arithmetic (weights per output channel, power-of-two address padding) lives here so
that the packer, the exact recount and the layer-by-layer mapping share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroemu.errors import CapacityError
from neuroemu.network.network import Network, Projection
from neuroemu.network.structure import ConvStructure
from neuroemu.spec.chip import ChipSpec, SharedEncoding


def next_power_of_two(n: int) -> int:
    """Smallest power of two ``>= n`` (``2^ceil(log2 n)``; 1 for n <= 1)."""
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


def border_taps(size_in: int, size_out: int, kernel: int, stride: int, pad: int, dil: int) -> int:
    """Kernel taps stored along one axis when each border case keeps its own copy.

    Input position ``i`` reaches output ``o`` through tap ``k`` when ``o * stride + k * dil -
    pad == i``; the taps valid for ``i`` form its mask. nengo-loihi's ``conv2d_loihi_weights``
    stores one weight set per distinct mask (an axon's compartment base plus index must stay
    inside the layer), holding the valid taps only: this returns the sum of the valid taps over
    the distinct masks (``kernel^2`` for stride 1 on an input of at least ``2 kernel - 1``).
    """
    masks = set()
    for i in range(size_in):
        mask = []
        for k in range(kernel):
            offset = i + pad - k * dil
            mask.append(offset % stride == 0 and 0 <= offset // stride < size_out)
        if any(mask):
            masks.add(tuple(mask))
    return sum(sum(mask) for mask in masks)


def weights_per_channel(conv: ConvStructure, shared: SharedEncoding) -> int:
    """Weights a core stores per output channel of ``conv`` it holds (``per: core``)."""
    if shared.kernel_copies == "one":
        return conv.weights_per_out_channel
    (h_in, w_in), (h_out, w_out) = conv.in_shape[1:], conv.out_shape[1:]
    rows = border_taps(
        h_in, h_out, conv.kernel[0], conv.stride[0], conv.padding[0], conv.dilation[0]
    )
    cols = border_taps(
        w_in, w_out, conv.kernel[1], conv.stride[1], conv.padding[1], conv.dilation[1]
    )
    return conv.in_shape[0] // conv.groups * rows * cols


def layer_memory(conv: ConvStructure, shared: SharedEncoding) -> tuple[int, int]:
    """Kernel entries and neuron entries of a whole layer on one core (``per: layer``).

    With ``address_padding: power_of_two`` (sinabs ``DynapcnnLayer.memory_summary``): kernel
    ``C_in x 2^ceil(log2(kh kw)) x 2^ceil(log2(C_out))``, neurons ``C_out x 2^ceil(log2 H) x
    2^ceil(log2 W)``; a grouped convolution is stored as a dense one (the address has no group
    field). Without padding: ``C_out x C_in / groups x kh x kw`` and ``C_out x H x W``.
    """
    c_in, c_out = conv.in_shape[0], conv.out_shape[0]
    if shared.address_padding == "power_of_two":
        kernel = (
            c_in * next_power_of_two(conv.kernel[0] * conv.kernel[1]) * next_power_of_two(c_out)
        )
        _, h, w = conv.out_shape
        return kernel, c_out * next_power_of_two(h) * next_power_of_two(w)
    return conv.n_weights, conv.n_out


@dataclass(frozen=True)
class ProjectionEncoding:
    """How one projection is stored on the chip.

    Attributes
    ----------
    projection : str
    encoding : str
        ``conv`` (the chip's shared-weight encoding) or the name of the explicit synapse
        encoding (``sparse``, ``dense``, ``crossbar``...).
    reason : str
        Why, in words (``conv: chip stores kernels per core`` ...).
    bits_per_synapse : int
        Bits per synapse of an explicit encoding (0 for ``conv``).
    bits_per_channel : int
        Kernel bits per output channel a core holds (``conv`` with ``per: core``; else 0).
    conv : ConvStructure or None
        The convolution the kernel is sized from (for a layer chip, the 1x1 convolution over all
        presynaptic neurons that stands for a projection without structure).
    per_pixel_axons : bool
        A core receives the projection through one input axon per input pixel (all channels
        of a pixel share it), not one per presynaptic neuron.
    axon_slots : int
        Output-axon slots such a pixel axon takes on the sending core, per core it reaches.
    """

    projection: str
    encoding: str
    reason: str
    bits_per_synapse: int = 0
    bits_per_channel: int = 0
    conv: ConvStructure | None = None
    per_pixel_axons: bool = False
    axon_slots: int = 1

    @property
    def shared(self) -> bool:
        return self.encoding == "conv"

    def summary(self) -> dict[str, object]:
        return {"projection": self.projection, "encoding": self.encoding, "reason": self.reason}


def _map_shape(network: Network, group: str) -> tuple[int, int, int] | None:
    """The ``(C, H, W)`` shape of a population or input, where a convolution gives it."""
    for proj in network.projections:
        if proj.structure is not None and proj.post == group:
            return proj.structure.out_shape
        if proj.structure is not None and proj.pre == group:
            return proj.structure.in_shape
    return None


def _is_one_to_one(proj: Projection, n_pre: int, n_post: int) -> bool:
    return (
        n_pre == n_post == proj.n_synapses
        and len(np.unique(proj.i)) == n_pre
        and len(np.unique(proj.j)) == n_post
    )


def _layer_stand_in(
    network: Network, proj: Projection, n_pre: int, n_post: int
) -> tuple[ConvStructure, str]:
    """The convolution a layer chip stores for a projection without structure, and why.

    As sinabs converts layers: a one-to-one projection is a 1x1 kernel on each channel of the
    map; any other is a ``Linear`` layer after flattening, a kernel as large as the
    presynaptic map (``C x H x W`` where a convolution gives the shape, else ``n_pre`` channels
    of 1 x 1) onto ``n_post`` channels.
    """
    shape = _map_shape(network, proj.pre)
    if _is_one_to_one(proj, n_pre, n_post):
        one = shape or _map_shape(network, proj.post) or (1, 1, n_pre)
        if one[0] == 1:
            return ConvStructure(one, one, (1, 1)), "one-to-one: a 1x1 kernel"
        return (
            ConvStructure(one, one, (1, 1), groups=one[0]),
            "one-to-one: a 1x1 kernel per channel",
        )
    c, h, w = shape if shape is not None else (n_pre, 1, 1)
    conv = ConvStructure((c, h, w), (n_post, 1, 1), (h, w))
    return conv, f"as a dense layer: a {h}x{w} kernel over {c} channels"


def _check_layer_limits(proj: Projection, conv: ConvStructure, shared: SharedEncoding) -> None:
    """Refuse a convolution a layer chip's cores cannot hold (kernel, stride, padding, sizes)."""
    checks = [
        ("max_kernel", max(conv.kernel), "kernel side"),
        ("max_stride", max(conv.stride), "stride"),
        ("max_padding", max(conv.padding), "padding"),
        ("max_channels", max(conv.in_shape[0], conv.out_shape[0]), "channels"),
        ("max_input_size", max(conv.in_shape[1:]), "input map side"),
        ("max_output_size", max(conv.out_shape[1:]), "output map side"),
    ]
    for field, need, what in checks:
        limit = getattr(shared, field)
        if limit is not None and need > limit.require():
            raise CapacityError(
                field, f"projection {proj.name!r}", need, limit.require(),
                f"projection {proj.name!r} has a {what} of {need}; the chip's convolution "
                f"cores take at most {limit.require()} (core.shared_encodings.conv.{field}).",
                "Change the layer (smaller kernel, stride, padding or maps); no mapping "
                "strategy changes this.",
            )  # fmt: skip
    odd = [s for s in conv.stride if s & (s - 1)]
    if shared.strides_power_of_two and odd:
        raise CapacityError(
            "max_stride", f"projection {proj.name!r}", odd[0], 0,
            f"projection {proj.name!r} has stride {conv.stride}; the chip's convolution cores "
            f"take strides that are powers of two (core.shared_encodings.conv).",
            "Use a stride of 1, 2, 4 or 8.",
        )  # fmt: skip


def choose_encoding(network: Network, proj: Projection, chip: ChipSpec) -> ProjectionEncoding:
    """The encoding ``proj`` is stored with on ``chip``, and why.

    Raises
    ------
    CapacityError
        A convolution that a layer chip's cores cannot hold (kernel size, stride...).
    """
    core = chip.core
    shared = core.conv_encoding
    if shared is not None and proj.structure is not None:
        conv = proj.structure
        if shared.per == "layer":
            _check_layer_limits(proj, conv, shared)
            return ProjectionEncoding(
                proj.name, "conv", "conv: chip stores each layer's kernel on one core", conv=conv
            )
        per_channel = weights_per_channel(conv, shared) * shared.bits_per_weight.require()
        copies = " (a copy per border case)" if shared.kernel_copies == "per_border" else ""
        pixels = shared.input_axons == "per_pixel"
        axons = "; one input axon per input pixel" if pixels else ""
        return ProjectionEncoding(
            proj.name,
            "conv",
            f"conv: chip stores kernels per core{copies}{axons}",
            bits_per_channel=per_channel,
            conv=conv,
            per_pixel_axons=pixels,
            axon_slots=shared.axon_slots.require() if shared.axon_slots is not None else 1,
        )
    n_pre = next(g.size for g in (*network.populations, *network.inputs) if g.name == proj.pre)
    n_post = network.population(proj.post).size
    if shared is not None and shared.per == "layer":
        # The stand-in's shape may be a guess: the chip's layer limits are checked on
        # convolutions as written only.
        conv, how = _layer_stand_in(network, proj, n_pre, n_post)
        return ProjectionEncoding(
            proj.name,
            "conv",
            f"conv: chip stores every layer as a kernel; without structure, {how}",
            conv=conv,
        )
    why = "projection has no structure" if shared is not None else "chip has no shared encoding"
    if core.dense_encoding is not None and proj.n_synapses == n_pre * n_post:
        name = core.dense_encoding
        why += "; all-to-all, so the dense encoding"
    else:
        name = core.default_encoding
    return ProjectionEncoding(
        proj.name, name, f"explicit: {why}", bits_per_synapse=core.bits_per_synapse(name)
    )


def choose_encodings(network: Network, chip: ChipSpec) -> dict[str, ProjectionEncoding]:
    """Projection name -> :class:`ProjectionEncoding`, for every projection of ``network``."""
    return {proj.name: choose_encoding(network, proj, chip) for proj in network.projections}
