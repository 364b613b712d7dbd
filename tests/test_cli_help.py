"""The command line as a whole: help text everywhere, a fast top-level --help, ``python -m``."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from neuroemu.cli.main import COMMANDS, cli


def _commands() -> list[tuple[str, click.Command]]:
    """Every command and subcommand, with its full name (``chips show``)."""
    ctx = click.Context(cli)
    found = []
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        found.append((name, command))
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command)
            for sub in command.list_commands(sub_ctx):
                found.append((f"{name} {sub}", command.get_command(sub_ctx, sub)))
    return found


@pytest.mark.parametrize(
    "name, command", _commands(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_command_and_option_has_help(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"neuroemu {name} has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert (param.help or "").strip(), f"neuroemu {name} {param.opts[0]} has no help"
    result = CliRunner().invoke(cli, [*name.split(), "--help"], prog_name="neuroemu")
    assert result.exit_code == 0 and "Usage: neuroemu" in result.output


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_lazy_command_table_says_what_each_command_says(name: str) -> None:
    short = COMMANDS[name][2]
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name
    assert short == command.get_short_help_str(limit=1000)


def test_the_top_level_help_lists_every_command_and_the_convention() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name}  " in result.output
    for option in ("--chip NAME", "--gpu NAME", "--max-chips N", "--dt-ms", "--gpu-scope"):
        assert option in result.output


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip()


def test_help_and_import_load_no_heavy_module_and_no_fcntl() -> None:
    """``neuroemu --help`` and ``import neuroemu`` must not pull numpy, scipy or Brian2 (the
    cause of a 1.5 s --help), nor fcntl, which Windows lacks."""
    loaded = _python(
        "import sys\n"
        "import neuroemu\n"
        "from neuroemu.cli.main import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='neuroemu')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('numpy', 'scipy', 'brian2', 'fcntl', 'h5py', 'pydantic')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    assert loaded.splitlines()[-1] == "LOADED []"


def test_python_dash_m_runs_the_same_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "neuroemu", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "Usage: neuroemu" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "neuroemu", "chips", "show", "loihy"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Did you mean 'loihi'" in done.stderr


def test_the_public_api_is_reachable_lazily() -> None:
    import neuroemu

    for name in neuroemu.__all__:
        assert getattr(neuroemu, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        neuroemu.nothing_here  # noqa: B018
