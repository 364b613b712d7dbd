"""What the finer counts of the architecture simulators' chip models need, per neuron.

SANA-FE's chip models charge some work more finely than neuroemu's event kinds: the update of a
neuron only when its state changed (apart from the access every neuron pays), a packet to the
neuron's own core as to any other, hops by direction, and the receiving core's work per packet.
A descriptor asks for these (:meth:`~neuroemu.spec.chip.ChipSpec.detail_kinds`); this module
computes, from the mapping and the engine's record, the per-neuron tables and events that
:func:`~neuroemu.accounting.counting.count_events` multiplies by spikes. Like every count, they
are exact: the packets of a neuron's spike are its distinct destination cores, read from the
synapses; a hop is one tile step of dimension-order routing, split by the axis it runs along.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neuroemu.activity import Activity
from neuroemu.errors import NeuroEmuError
from neuroemu.mapping.mapping import Mapping
from neuroemu.network.network import Network


def packet_pattern(mapping: Mapping, own_core: bool) -> sp.csr_matrix:
    """``(n_neurons, n_cores)`` int64 0/1: the cores a spike of each neuron sends a packet to.

    A core receives a packet when it holds at least one target of the neuron; the neuron's own
    core too when ``own_core`` (SANA-FE's axon model), otherwise local targets need none.
    """
    pattern = mapping.dest_synapses.tocsr().copy()
    pattern.data = np.ones(len(pattern.data), dtype=np.int64)
    pattern = pattern.astype(np.int64)
    if not own_core:
        rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
        pattern.data[pattern.indices == mapping.core_of_neuron[rows]] = 0
        pattern.eliminate_zeros()
    return pattern


def packets_per_neuron(mapping: Mapping, own_core: bool) -> dict[str, np.ndarray]:
    """Per neuron: packets one spike sends (``message``) and their hops along x
    (``hop_east_west``) and along y (``hop_north_south``), each an int64 array.

    Hops run on the tile mesh of all chips (as :attr:`Mapping.spike_routing` counts them), so
    ``hop_east_west + hop_north_south`` equals its hop count.
    """
    pattern = packet_pattern(mapping, own_core)
    n_neurons = pattern.shape[0]
    rows = np.repeat(np.arange(n_neurons), np.diff(pattern.indptr))
    cols = pattern.indices
    own = mapping.core_of_neuron[rows]
    xy = mapping.core_xy
    out = {"message": np.bincount(rows, minlength=n_neurons).astype(np.int64)}
    for axis, name in ((0, "hop_east_west"), (1, "hop_north_south")):
        hops = np.abs(xy[cols, axis] - xy[own, axis])
        out[name] = np.bincount(rows, weights=hops, minlength=n_neurons).astype(np.int64)
    return out


def changed_neurons(network: Network, activity: Activity) -> tuple[np.ndarray, np.ndarray]:
    """Global neuron index and step of every (neuron, step) whose state changed, in SANA-FE's
    sense: the engine's record (non-zero potential, input received, or its own dynamics moved
    it, e.g. a bias) united with the neuron's spikes.

    Raises
    ------
    NeuroEmuError
        When the activity carries no such record (the run was not asked to make it).
    """
    if not activity.changed and network.populations:
        raise NeuroEmuError(
            "the chip prices neurons whose state changed (neuron_changed_pj or "
            "neuron_changed_ns), but the run did not record them: simulate with "
            "record_changes=True (the pipeline does so when the chip asks)"
        )
    neurons, steps = [], []
    n_steps = activity.n_steps
    for pop in network.populations:
        offset = network.offsets[pop.name]
        keys = []
        for record in (activity.changed.get(pop.name), activity.spikes.get(pop.name)):
            if record is not None and len(record):
                keys.append(record.step.astype(np.int64) * pop.size + record.neuron)
        if not keys:
            continue
        unique = np.unique(np.concatenate(keys))
        steps.append(unique // pop.size)
        neurons.append(unique % pop.size + offset)
    if not neurons:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    step = np.concatenate(steps)
    keep = step < n_steps
    return np.concatenate(neurons)[keep], step[keep]
