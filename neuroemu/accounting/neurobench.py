"""The metrics the NeuroBench harness defines for spiking networks, per projection and layer.

Synaptic operations (effective accumulates: each spike times its non-zero fan-out), activation
sparsity, connection sparsity and memory footprint, as Yik et al. define them ("NeuroBench: A
Framework for Benchmarking Neuromorphic Computing Algorithms and Systems", Nature
Communications 16, 2025) and the harness computes them (github.com/NeuroBench/neurobench,
``neurobench/metrics/``); see :class:`NeuroBenchMetrics` for each definition. Kept apart from
the per-layer event counts (:mod:`neuroemu.accounting.layers`), which price a chip; these
metrics describe the network and its activity whatever the chip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neuroemu.activity import Activity
from neuroemu.network.network import Network


@dataclass(frozen=True, eq=False)
class NeuroBenchMetrics:
    """The NeuroBench harness's metrics of a spiking network, per projection and in total.

    Definitions follow the harness (Yik et al., "The neurobench framework for benchmarking
    neuromorphic computing algorithms and systems", Nature Communications 16, 2025;
    github.com/NeuroBench/neurobench, ``neurobench/metrics/``), with a projection as its
    connection layer (its weight matrix, ``pre.size x post.size``, a missing synapse a zero
    weight; synapses between the same pair add up, as in one matrix) and a population as its
    spiking neuron layer:

    - **synaptic operations** (``workload/synaptic_operations.py``): ``effective_acs`` counts,
      for binary (spike) inputs, one accumulate per spike per non-zero weight of its fan-out
      (``Effective_ACs``; an SNN has no ``Effective_MACs``); ``dense_ops`` counts every weight
      at every step whether or not a spike came (``Dense``: ``n_steps x pre.size x post.size``).
      NeuroBench has no delays: every spike of the run counts, also one whose delayed delivery
      falls after the end (unlike ``synaptic_event``), and zero weights never count (unlike
      ``synaptic_event``). The harness reports both per sample: see :attr:`n_samples`.
    - **activation sparsity** (``workload/activation_sparsity.py``): zero activations over all
      activations of the spiking layers, ``1 - spikes / (neurons x steps)``; inputs are data,
      not layer outputs, and do not count.
    - **connection sparsity** (``static/connection_sparsity.py``): zero weights over all weights
      of the connection layers, ``1 - non-zero pairs / (pre.size x post.size)``.
    - **memory footprint** (``static/footprint.py``): bytes of every parameter tensor
      (``numel x element_size``). ``footprint_bytes`` counts what this network stores: per
      synapse its weight, delay (one value when homogeneous) and ``i``, ``j`` indices, and per
      population its neuron parameters (8 bytes a scalar, an array per neuron where given);
      ``dense_footprint_bytes`` counts the weights as the dense matrix a NeuroBench model would
      hold (``pre.size x post.size x`` the weight's bytes) plus the same neuron parameters.

    Attributes
    ----------
    effective_acs, dense_ops : ndarray
        int64 per projection (whole run, not per sample).
    n_nonzero_weights, n_possible_weights : ndarray
        int64 per projection: non-zero entries and size of its weight matrix.
    projection_bytes, projection_dense_bytes : ndarray
        int64 per projection: footprint of its parameters (stored, and as a dense matrix).
    neuron_bytes : ndarray
        int64 per group: its neuron parameters (0 for inputs).
    n_spikes, n_activations : ndarray
        int64 per group: spikes emitted and ``size x n_steps`` (0 for inputs, which NeuroBench
        does not count).
    n_samples : float
        Inferences in the run where the network defines them (``inference_ms``), else 1: the
        harness averages synaptic operations per sample.
    """

    effective_acs: np.ndarray
    dense_ops: np.ndarray
    n_nonzero_weights: np.ndarray
    n_possible_weights: np.ndarray
    projection_bytes: np.ndarray
    projection_dense_bytes: np.ndarray
    neuron_bytes: np.ndarray
    n_spikes: np.ndarray
    n_activations: np.ndarray
    n_samples: float

    @property
    def activation_sparsity(self) -> float:
        """``1 - spikes / (neurons x steps)`` over all populations."""
        total = int(self.n_activations.sum())
        return 1.0 - int(self.n_spikes.sum()) / total if total else 0.0

    @property
    def connection_sparsity(self) -> float:
        """Zero weights over all weights of all projections (0 without projections)."""
        total = int(self.n_possible_weights.sum())
        return 1.0 - int(self.n_nonzero_weights.sum()) / total if total else 0.0

    @property
    def footprint_bytes(self) -> int:
        return int(self.projection_bytes.sum() + self.neuron_bytes.sum())

    @property
    def dense_footprint_bytes(self) -> int:
        return int(self.projection_dense_bytes.sum() + self.neuron_bytes.sum())

    def totals(self) -> dict[str, float]:
        """The harness's figures for the whole network (synaptic operations per sample)."""
        return {
            "effective_acs_per_sample": float(self.effective_acs.sum()) / self.n_samples,
            "dense_ops_per_sample": float(self.dense_ops.sum()) / self.n_samples,
            "activation_sparsity": self.activation_sparsity,
            "connection_sparsity": self.connection_sparsity,
            "footprint_bytes": self.footprint_bytes,
            "dense_footprint_bytes": self.dense_footprint_bytes,
            "n_samples": self.n_samples,
        }


def neurobench_metrics(network: Network, activity: Activity) -> NeuroBenchMetrics:
    """NeuroBench's synaptic operations, sparsities and footprint of a run (see
    :class:`NeuroBenchMetrics` for the definitions and where the harness states them)."""
    import scipy.sparse as sp

    groups = (*network.populations, *network.inputs)
    size = {g.name: g.size for g in groups}
    spikes_of = {}
    for g in groups:
        spikes = activity.spikes.get(g.name)
        neuron = np.zeros(0, np.int64) if spikes is None else spikes.neuron.astype(np.int64)
        spikes_of[g.name] = np.bincount(neuron, minlength=g.size).astype(np.int64)
    acs, dense, nonzero, possible, stored, as_dense = ([] for _ in range(6))
    for proj in network.projections:
        n_pre, n_post = size[proj.pre], size[proj.post]
        matrix = sp.csr_matrix((proj.weight.astype(float), (proj.i, proj.j)), shape=(n_pre, n_post))
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        fan_out = np.diff(matrix.indptr).astype(np.int64)
        acs.append(int(spikes_of[proj.pre] @ fan_out))
        dense.append(activity.n_steps * n_pre * n_post)
        nonzero.append(matrix.nnz)
        possible.append(n_pre * n_post)
        delay_bytes = np.asarray(proj.delay_ms).nbytes
        stored.append(proj.weight.nbytes + delay_bytes + proj.i.nbytes + proj.j.nbytes)
        as_dense.append(n_pre * n_post * proj.weight.itemsize)
    neuron_bytes = [_neuron_bytes(p) for p in network.populations] + [0] * len(network.inputs)
    n_spikes = [int(spikes_of[p.name].sum()) for p in network.populations]
    n_activations = [p.size * activity.n_steps for p in network.populations]
    n_samples = 1.0
    if network.inference_ms:
        n_samples = activity.n_steps * activity.dt_ms / network.inference_ms
    pad = [0] * len(network.inputs)

    def ints(values: list[int]) -> np.ndarray:
        return np.array(values, dtype=np.int64)

    return NeuroBenchMetrics(
        effective_acs=ints(acs),
        dense_ops=ints(dense),
        n_nonzero_weights=ints(nonzero),
        n_possible_weights=ints(possible),
        projection_bytes=ints(stored),
        projection_dense_bytes=ints(as_dense),
        neuron_bytes=ints(neuron_bytes),
        n_spikes=ints(n_spikes + pad),
        n_activations=ints(n_activations + pad),
        n_samples=n_samples,
    )


def _neuron_bytes(pop: Any) -> int:
    """A population's neuron parameters: 8 bytes a shared value, an array where per neuron."""
    per_neuron = pop.per_neuron_parameters
    arrays = sum(np.asarray(pop.parameters[k], dtype=float).nbytes for k in per_neuron)
    shared = len(pop.neuron_model.parameters)
    return int(8 * shared + arrays)
