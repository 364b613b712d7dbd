"""Placing a network on the cores of a chip under every core limit (fill, balanced, min-traffic)."""
