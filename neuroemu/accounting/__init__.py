"""Exact per-core event counts from spikes and a mapping, and their price in energy and time.

Counting (:mod:`~neuroemu.accounting.counting`) knows nothing of prices; pricing
(:mod:`~neuroemu.accounting.pricing`) applies a chip's price table and latency model to counts.
"""

from neuroemu.accounting.counting import EventCounts, count_events
from neuroemu.accounting.inferences import InferenceResults, count_inferences
from neuroemu.accounting.pricing import estimate_energy, time_on_chip_s

__all__ = [
    "EventCounts",
    "InferenceResults",
    "count_events",
    "count_inferences",
    "estimate_energy",
    "time_on_chip_s",
]
