"""Options shared by the commands, defined once so their names, defaults and help read the same.

The convention (``neuroemu --help`` states it): ``--chip`` and ``--gpu`` name one device each and
repeat; ``--max-chips N`` is the chip budget; ``--dt-ms`` overrides the chip's timestep;
``--gpu-scope board|wall`` wherever a GPU is priced. Spellings of earlier versions are kept as
hidden options that still work and say the new spelling (:func:`deprecated_option`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from neuroemu.engine.runner import DEVICES
from neuroemu.gpu.model import SCOPES
from neuroemu.mapping.mapping import STRATEGIES

F = TypeVar("F", bound=Callable[..., Any])


def _each_param_once(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """Refuse a parameter given twice: silently keeping the last one hides a typo."""
    seen: dict[str, str] = {}
    for item in values:
        key = item.split("=", 1)[0].strip()
        if key in seen and key:
            raise click.BadParameter(
                f"{key} is given twice (-p {seen[key]} and -p {item}): expected each parameter once"
            )
        seen[key] = item
    return values


param_option = click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_each_param_once,
    help="Model parameter (repeatable), e.g. -p scale=0.5.",
)

strategy_option = click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    default="fill",
    show_default=True,
    help="fill: in order, core after core; balanced: equal load on every core of the chips "
    "fill needs; min-traffic: graph partitioning to cut inter-core synapses.",
)

max_chips_option = click.option(
    "--max-chips",
    "max_chips",
    type=click.IntRange(min=1),
    default=None,
    help="Chip budget: most chips to use (default: as many as needed, up to the descriptor's "
    "max_chips).",
)

duration_option = click.option(
    "--duration-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=1000.0,
    show_default=True,
    help="Biological time to simulate.",
)

dt_option = click.option(
    "--dt-ms",
    "dt_ms",
    # The bounds every descriptor's timing.dt_ms must meet (spec/chip.py PLAUSIBLE).
    type=click.FloatRange(min=1e-6, max=1e4),
    default=None,
    help="Timestep to emulate the chip at, instead of its descriptor's timing.dt_ms.",
)

seed_option = click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=1,
    show_default=True,
    help="Seed of the model's connectivity and of Brian2.",
)

device_option = click.option(
    "--device",
    type=click.Choice(("auto", *DEVICES)),
    default="auto",
    show_default=True,
    help="Brian2 target: auto (numpy for a short run, nothing to compile; cpp_standalone for "
    "a long one where a compiler exists; says which and why), runtime (cython if a compiler "
    "exists, else numpy), cython, numpy, or cpp (cpp_standalone).",
)


operating_point_option = click.option(
    "--operating-point",
    "operating_point",
    metavar="POINT",
    default=None,
    help="How the chip is run: real-time, fast, slowdown=K or rate=R (inferences per second); "
    "default: the descriptor's (barrier chips fast, tick chips one tick per step, asynchronous "
    "chips real time).",
)

scope_option = click.option(
    "--scope",
    type=click.Choice(("chip", "board", "wall")),
    default="chip",
    show_default=True,
    help="What the chip energy covers: the chips used, the whole boards switched on, or the "
    "wall (boards through their supplies plus the host). --json and traces carry all three.",
)

boards_option = click.option(
    "--boards",
    "n_boards",
    type=click.IntRange(min=1),
    default=None,
    help="Boards switched on, as a published setup states it (board and wall scopes; default: "
    "as many as the chips used fill).",
)

max_neurons_option = click.option(
    "--max-neurons-per-core",
    type=click.IntRange(min=1),
    default=None,
    help="Place at most N neurons on a core, below the chip's own limit (as sPyNNaker users do "
    "so that each core keeps up with the real-time tick).",
)


def chip_option(required: bool, help_text: str) -> Callable[[F], F]:
    """``--chip NAME`` (repeatable): a bundled chip name or a descriptor path."""
    return click.option(
        "--chip",
        "chips",
        multiple=True,
        required=required,
        metavar="NAME",
        help=help_text,
    )


gpu_option = click.option(
    "--gpu",
    "gpus",
    multiple=True,
    metavar="NAME",
    help="Also price the same activity on this GPU, in the event-driven and the dense style "
    "(repeatable; a bundled name or a descriptor path).",
)

gpu_scope_option = click.option(
    "--gpu-scope",
    type=click.Choice(SCOPES),
    default=None,
    help="GPU energy scope: the board (as NVML measures it; the default) or the wall (adds the "
    "host).",
)


def deprecated_option(
    old: str, new: str, target: str, convert: Callable[[Any], Any], **kwargs: Any
) -> Callable[[F], F]:
    """A hidden option spelled as in earlier versions: it still works and says the new spelling.

    Parameters
    ----------
    old, new : str
        The old spelling (``--chips``) and the sentence naming the new one (``--max-chips N``).
    target : str
        The parameter of the command the value goes to (appended when that is a tuple).
    convert : callable
        Turns the old value into the new parameter's value (``'a,b'`` -> ``('a', 'b')``).
    """

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value == ():
            return
        click.echo(f"warning: {old} is deprecated; use {new}", err=True)
        ctx.meta.setdefault("neuroemu_deprecated", []).append((target, convert(value)))

    return click.option(
        old,
        f"_deprecated_{old.strip('-').replace('-', '_')}",
        hidden=True,
        expose_value=False,
        callback=callback,
        **kwargs,
    )


def apply_deprecated(ctx: click.Context, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with what the deprecated spellings gave folded into their new parameters."""
    out = dict(values)
    for target, value in ctx.meta.get("neuroemu_deprecated", []):
        current = out.get(target)
        if isinstance(current, tuple):
            out[target] = (*current, *value)
        elif current is None or current == value:
            out[target] = value
        else:
            raise click.UsageError(
                f"--{target.replace('_', '-')} is given twice (once in a deprecated spelling) "
                f"with different values: {current!r} and {value!r}"
            )
    return out


def names(text: str) -> tuple[str, ...]:
    """``'a, b,'`` -> ``('a', 'b')``: the comma lists of earlier versions."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


i_know_option = click.option(
    "--i-know",
    "allow_large",
    is_flag=True,
    help="Run even when the run's memory estimate exceeds the memory this machine has "
    "available (the estimate is checked after mapping, before the simulation starts).",
)


placement_option = click.option(
    "--placement",
    "placement_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Place the network as this file says instead of by a strategy: a .yaml of cores per "
    "population ('hidden: \"0-3\"') or a .npy/.npz of one core per neuron; every capacity "
    "check still applies.",
)


def read_placement(placement_file: str | None) -> Any:
    """The Placement a ``--placement`` file gives, or None."""
    if placement_file is None:
        return None
    from neuroemu.mapping.given import load_placement

    return load_placement(placement_file)


quantise_option = click.option(
    "--quantise/--no-quantise",
    "quantise",
    default=True,
    show_default=True,
    help="Round weights to the chip's weight_bits, as the chip stores them; --no-quantise runs "
    "the weights as written (a warning names projections whose weights rounding zeroes).",
)


set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="[DEVICE:]FIELD=VALUE",
    help="Override a descriptor field (repeatable), e.g. --set core.synapse_memory_bits=2097152; "
    "without DEVICE: every chip, with it the chip or GPU of that name. The derived descriptor is "
    "validated like a file, marked estimated, and its name records the setting.",
)


steps_per_inference_option = click.option(
    "--steps-per-inference",
    "steps_per_inference",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="Run the network as a stream of inferences of K steps, every population's state reset "
    "to rest at each boundary (replaces a schedule the model states); counts, time and energy "
    "are then reported per inference too, and energy per inference uses K x dt.",
)

reset_offsets_option = click.option(
    "--reset-offsets",
    "reset_offsets",
    type=click.Choice(("none", "layer")),
    default="none",
    show_default=True,
    help="With --steps-per-inference: reset every population at the boundary (none), or each "
    "one step per layer later (layer: the steps a spike needs to reach it from the inputs, as "
    "lava-dl staggers its resets).",
)
