"""The one vocabulary of event kinds, shared by YAML keys, Python fields, HDF5 datasets and CLI.

- ``neuron_update``: one neuron's state advanced by one timestep (every mapped neuron, every step).
- ``synaptic_event``: one spike delivered through one synapse (counted at the postsynaptic core,
  at delivery time, so a delayed spike still in flight when the run ends is not counted).
- ``spike_out``: one spike emitted by a neuron (at its own core).
- ``message``: one spike packet leaving its core for another core that holds at least one of the
  neuron's targets (one packet per destination core, unicast, at the source core; the
  neuron's own core too where the descriptor sets `topology.messages_to_own_core`).
- ``hop``: one router-to-router step of such a packet on the mesh (dimension-order routing; a
  message within a tile has zero hops), charged to the source core.
- ``chip_crossing``: one chip boundary crossed by a packet, charged to the source core.
- ``learning_update``: one plastic synapse's weight updated (pre- or postsynaptic STDP event).
- ``input_event``: one external input spike delivered to a core that holds targets of it.
"""

from __future__ import annotations

EVENT_KINDS: tuple[str, ...] = (
    "neuron_update",
    "synaptic_event",
    "spike_out",
    "message",
    "hop",
    "chip_crossing",
    "learning_update",
    "input_event",
)
