"""Options shared by several commands (``run``, ``map``, ``compare``), defined once so their
names, defaults and help read the same everywhere."""

from __future__ import annotations

import click

from neuroemu.engine.runner import DEVICES

STRATEGY_CHOICES = ("fill", "balanced", "min-traffic")

param_option = click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Model parameter (repeatable), e.g. -p scale=0.5.",
)

strategy_option = click.option(
    "--strategy",
    type=click.Choice(STRATEGY_CHOICES),
    default="fill",
    show_default=True,
    help="fill: in order, core after core; balanced: equal load on every core of the chips "
    "fill needs; min-traffic: graph partitioning to cut inter-core synapses.",
)

n_chips_option = click.option(
    "--chips",
    "n_chips",
    type=click.IntRange(min=1),
    default=None,
    help="Most chips to use (default: as many as needed, up to the descriptor's max_chips).",
)

duration_option = click.option(
    "--duration-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=1000.0,
    show_default=True,
    help="Biological time to simulate.",
)

seed_option = click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Seed of the model's connectivity and of Brian2.",
)

device_option = click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="runtime",
    show_default=True,
    help="Brian2 target: runtime (cython if a compiler exists, else numpy), cython, numpy, "
    "or cpp (cpp_standalone, best for long runs).",
)
