"""Entry point: the command group, and typed errors turned into one readable line.

The daemon's own commands are listed here; `data`, `model` and `eval` (and any third party's
commands) join through the `takeaways.commands` entry point (see `plugins`).
"""

from __future__ import annotations

import sys

import click

from takeaways_daemon.cli import (
    config_commands,
    daemon_commands,
    history_commands,
    scan_command,
    stats_command,
    suggestion_commands,
)
from takeaways_daemon.cli.plugins import PluginGroup


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="takeaways")
def cli() -> None:
    """takeaways: a private coding assistant that lives on your machine.

    Start with `takeaways watch PATH` (foreground) or `takeaways start PATH` (background), then
    use `takeaways-tui`, `takeaways suggestions` and `takeaways apply ID`.
    """


for module in (
    daemon_commands,
    suggestion_commands,
    scan_command,
    config_commands,
    history_commands,
    stats_command,
):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    """Run the CLI; library errors become `takeaways: …` and an exit code, never a traceback."""
    from takeaways_daemon.errors import TakeawaysError
    from takeaways_daemon.history import session_keyring
    from takeaways_daemon.sanitize import strip_control

    try:
        # A keyring `make run` started on a headless machine serves commands typed elsewhere too.
        session_keyring.adopt()
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except TakeawaysError as error:
        # Messages quote file names, which may carry terminal escape codes.
        click.echo(f"takeaways: {strip_control(str(error))}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
