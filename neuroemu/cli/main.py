"""The ``neuroemu`` command line: a thin click layer over the library.

This is the only place that prints or exits. Library errors (:class:`NeuroEmuError`) are caught
once, in :class:`_Group`, and shown as ``Error: <message>`` with exit status 1; ``--debug``
shows the traceback instead. Each command lives in the module of :mod:`neuroemu.cli` named after
it and is imported only when it runs (or its own ``--help`` is asked for), so ``neuroemu
--help`` does not load numpy, scipy or the engine.
"""

from __future__ import annotations

import importlib
import signal
import warnings
from typing import TextIO

import click

from neuroemu.cli import startup
from neuroemu.cli.exit_codes import EXIT_INTERRUPTED
from neuroemu.errors import NeuroEmuError, RunInterrupted

# Command -> (module, function, one-line help). The help is repeated here so that the top-level
# --help need not import every command; tests/test_cli_help.py checks it equals the command's
# own.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "chips": (
        "neuroemu.cli.chips",
        "chips",
        "List, show and check chip and GPU descriptors (chips/*.yaml, chips/gpu/*.yaml).",
    ),
    "map": (
        "neuroemu.cli.map",
        "map_command",
        "Map MODEL (a bundled model name, a .py file or a .nir graph) onto the cores of a chip.",
    ),
    "run": (
        "neuroemu.cli.run",
        "run_command",
        "Map MODEL onto a chip, run it in Brian2, and report events, energy and time on chip.",
    ),
    "compare": (
        "neuroemu.cli.compare",
        "compare",
        "Run MODEL once and compare its energy and time on chips and GPUs in one table.",
    ),
    "experiment": (
        "neuroemu.cli.experiment",
        "experiment_command",
        "Run an EXPERIMENT file: every chip x seed, one trace per run, a CSV results table.",
    ),
    "export": (
        "neuroemu.cli.export",
        "export_command",
        "Write MODEL (a bundled model, a .py file or a .nir file) as a NIR graph.",
    ),
    "models": (
        "neuroemu.cli.models",
        "models",
        "List the bundled models (models/*.py) with their sizes and references.",
    ),
    "sweep": (
        "neuroemu.cli.sweep",
        "sweep_command",
        "Run a SWEEP file on Dask: every job once, resumable, with result tables.",
    ),
    "plot-sweep": (
        "neuroemu.cli.plot_sweep",
        "plot_sweep_command",
        "Draw a PNG from a sweep's RESULTS (its output folder or its summary table).",
    ),
    "inspect": (
        "neuroemu.cli.inspect",
        "inspect_command",
        "Summarise a TRACE file (.h5) without loading its spikes.",
    ),
    "validate": (
        "neuroemu.cli.validate",
        "validate_command",
        "Price every public validation case at its published operating point and scope.",
    ),
    "plot": (
        "neuroemu.cli.plot",
        "plot_command",
        "Draw a PNG from one TRACE (raster, rates, cores, layers), or compare several (energy).",
    ),
}


class _Group(click.Group):
    """Commands loaded on first use; library errors become ``Error: ...`` and exit status 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, name, _ = entry
        with startup.command_import():
            command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from :data:`COMMANDS`, without importing the commands."""
        rows = [(name, short) for name, (_, _, short) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RunInterrupted as exc:
            click.echo(f"Interrupted: {exc}", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (KeyboardInterrupt, Terminated) as exc:
            code = exc.code if isinstance(exc, Terminated) else EXIT_INTERRUPTED
            click.echo("Interrupted: nothing was written that claims to be complete", err=True)
            ctx.exit(code)
        except NeuroEmuError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            # The last line of defence: every library writer turns its own OSError into a
            # message that names the file; one that escapes still ends in a message, not a
            # traceback (a full disk, a vanished folder, a permission change mid-run).
            if (ctx.obj or {}).get("debug"):
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            raise click.ClickException(
                f"the operating system refused a file operation{where}: {exc.strerror or exc}"
            ) from None
        except MemoryError:
            if (ctx.obj or {}).get("debug"):
                raise
            raise click.ClickException(
                "ran out of memory; run a smaller network (a lower scale parameter) or a "
                "shorter duration, or on a machine with more memory"
            ) from None


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``, as click's own option prints it, with the version read only when asked
    (click's needs it when the command is defined, at every start-up)."""
    if not value or ctx.resilient_parsing:
        return
    from neuroemu import __version__

    click.echo(f"neuroemu, version {__version__}")
    ctx.exit()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Would this spiking network fit on chip X, how fast would it run, at what energy?

    Map a network onto a neuromorphic chip described in a YAML file, run it in Brian2 with the
    chip's timestep and weight precision, count every event per core, and turn the counts into
    energy and time on the chip, side by side with a GPU running the same network.

    \b
    One convention for every command:
      --chip NAME     a bundled chip or a descriptor path; repeat it to price on more chips
      --gpu NAME      also price on this GPU (repeatable)
      --max-chips N   the chip budget (default: as many as the network needs)
      --dt-ms DT      emulate the chip at this timestep instead of its descriptor's
      --gpu-scope S   board (as NVML measures) or wall (adds the host), wherever a GPU is priced
      --json          plain data instead of tables
    MODEL is a bundled model (cuba, coba, microcircuit), a .py file with build(**params), or a
    .nir graph (inputs: -p spikes=inputs.npz or -p rate_hz=20);
    `neuroemu chips list` names the bundled chips and GPUs.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    warnings.showwarning = _show_warning


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that ``finally`` blocks remove their
    temporary files; the exit status is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.code = 128 + signum


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """neuroemu's own warnings as one ``Warning:`` line each; others as Python shows them."""
    if category.__module__.startswith("neuroemu"):
        click.echo(f"Warning: {message}", err=True)
        return
    _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main() -> None:
    """Entry point of the console script and of ``python -m neuroemu``.

    A process that runs one command and exits starts and ends faster than a library user's
    (:mod:`neuroemu.cli.startup`: Brian2 imported the lean way, the garbage collector paused
    while modules import, no freeing of every object at exit), with the same results. :func:`cli`
    alone, as tests and scripts call it in their own process, does none of that.
    """
    startup.begin()
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):  # SIGHUP does not exist on Windows
            signal.signal(getattr(signal, name), _terminate)
    try:
        cli(prog_name="neuroemu")
    except SystemExit as exc:  # click ends every command this way
        startup.exit_now(exc.code)
        raise
