"""Exact per-core event counts from spikes and a mapping, and their price in energy and time."""
