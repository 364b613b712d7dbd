"""The spike trains that feed a NIR graph's Input nodes: from a ``.npz``, NIR recorded data or
a Poisson rate. A graph holds no data, so every import is told where its inputs come from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neuroemu.errors import NirError
from neuroemu.network.network import Input, PoissonInput, SpikeTimesInput
from neuroemu.network.nir_nodes import NodeChecks, Shape


def build_input(
    ctx: NodeChecks,
    name: str,
    node: Any,
    label: str,
    shape: Shape,
    given: Any,
    dt_ms: float | None,
    rate_hz: float | None,
) -> Input:
    """The input of Input node ``name``: its spikes ``given`` (dense or events, see
    :func:`neuroemu.network.nir_import.import_nir`), or Poisson at ``rate_hz`` (10 Hz)."""
    size = int(np.prod(shape))
    if given is None:
        return PoissonInput(label, size, 10.0 if rate_hz is None else float(rate_hz))
    if isinstance(given, tuple):  # events: (flat indices, times in ms)
        index, times_ms = (np.asarray(x) for x in given)
        if len(index) and (index.min() < 0 or index.max() >= size):
            ctx.fail(name, node, f"event indices must lie in [0, {size}), found "
                                            f"[{index.min()}, {index.max()}]")  # fmt: skip
        return SpikeTimesInput(label, size, index.astype(np.int64), times_ms.astype(float))
    array = np.asarray(given)
    if array.ndim < 1 or array.shape[1:] not in (shape, (size,)):
        ctx.fail(
            name,
            node,
            f"the spike array has shape {array.shape}; expected "
            f"(n_steps, {', '.join(map(str, shape))})",
        )
    if dt_ms is None or dt_ms <= 0:
        ctx.fail(name, node, "spikes given without a positive dt_ms")
    if np.any((array != 0) & (array != 1)):
        ctx.fail(name, node, "spike arrays hold 0 or 1 per step and element")
    steps, index = np.nonzero(array.reshape(len(array), size))
    return SpikeTimesInput(label, size, index, steps * float(dt_ms or 0.0))


def read_spikes(path: str | Path) -> tuple[dict[str, Any], float | None]:
    """Input spike trains, from a NumPy ``.npz`` or NIR recorded data (``.h5``).

    A ``.npz`` holds one ``(n_steps, *shape)`` 0/1 array per Input node, under its name, and
    the step ``dt_ms``. An ``.h5`` is read with ``nir.read_data``: for each top-level node, its
    ``output`` observable (else its first), time-gridded (``dt`` in seconds) or events (times
    in seconds); of several samples, the first (neuroemu runs one).

    Returns
    -------
    dict, float or None
        Input name -> dense array or ``(indices, times_ms)``; the step of the dense arrays.
    """
    if Path(path).suffix in (".h5", ".hdf5"):
        return _read_recorded(path)
    try:
        with np.load(str(path)) as data:
            arrays = {key: np.asarray(data[key]) for key in data.files}
    except Exception as exc:
        raise NirError(
            str(path), "", "", f"cannot read spikes: {type(exc).__name__}: {exc}"
        ) from exc
    if "dt_ms" not in arrays:
        raise NirError(str(path), "", "", "a spike file needs dt_ms, the step of its arrays")
    return arrays, float(arrays.pop("dt_ms"))


def _read_recorded(path: str | Path) -> tuple[dict[str, Any], float | None]:
    import nir  # type: ignore[import-untyped]

    try:
        data = nir.read_data(str(path))
    except Exception as exc:
        raise NirError(
            str(path), "", "", f"nir.read_data failed: {type(exc).__name__}: {exc}"
        ) from exc
    out: dict[str, Any] = {}
    for name, node in data.nodes.items():
        if not isinstance(node, nir.NIRNodeData) or not node.observables:
            continue
        obs = node.observables.get("output", next(iter(node.observables.values())))
        if isinstance(obs, nir.TimeGriddedData):
            steps, index = np.nonzero(np.asarray(obs.data[0]))
            out[name] = (index, steps * float(obs.dt) * 1000.0)
        else:
            valid = np.asarray(obs.idx[0]) >= 0
            out[name] = (np.asarray(obs.idx[0])[valid], np.asarray(obs.time[0])[valid] * 1000.0)
    return out, None
