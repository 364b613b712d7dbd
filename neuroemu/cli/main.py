"""The ``neuroemu`` command line: a thin click layer over the library.

This is the only place that prints or exits. Library errors (:class:`NeuroEmuError`) are caught
once, in :func:`main`, and shown as ``Error: <message>`` with exit status 1; ``--debug`` shows the
traceback instead. Each command group lives in its own module of :mod:`neuroemu.cli` and is
registered here.
"""

from __future__ import annotations

import click

from neuroemu import __version__
from neuroemu.errors import NeuroEmuError


class _Group(click.Group):
    """A click group that turns library errors into ``Error: ...`` and exit status 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NeuroEmuError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="neuroemu")
@click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Would this spiking network fit on chip X, how fast would it run, at what energy?

    Map a network onto a neuromorphic chip described in a YAML file, run it in Brian2 with the
    chip's timestep and weight precision, count every event per core, and turn the counts into
    energy and time on the chip, side by side with a GPU running the same network.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    """Add the commands of every command module (optional ones only if present)."""
    import importlib

    for name in ("chips", "map", "run", "compare", "trace"):
        try:
            module = importlib.import_module(f"neuroemu.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"neuroemu.cli.{name}":
                raise
            continue
        for command in module.COMMANDS:
            cli.add_command(command)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="neuroemu")


_register()
