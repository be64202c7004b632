"""Commands that packages add to `takeaways` through the `takeaways.commands` entry point.

An entry point names the command and points at a `click.Command`:

    [project.entry-points."takeaways.commands"]
    eval = "training.commands.eval_commands:eval_group"

Our own `data`, `model` and `eval` groups join this way, exactly like a third party's would.
A plugin is imported only when its command runs or when `--help` lists the commands, and one
that fails to import costs one line on stderr, never the other commands.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

import click

from takeaways_daemon.errors import TakeawaysError

ENTRY_POINT_GROUP = "takeaways.commands"


class PluginLoadError(TakeawaysError):
    """A command plugin is installed but cannot be imported, or is not a click command."""


def plugin_entry_points() -> dict[str, EntryPoint]:
    """The installed command plugins by command name (the first one wins on a clash)."""
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry)
    return found


def load_plugin(entry: EntryPoint) -> click.Command:
    """Import one plugin's command; any failure becomes one `PluginLoadError` line."""
    try:
        command = entry.load()
    except Exception as error:  # a plugin may fail in any way while importing
        raise PluginLoadError(
            f"the {entry.name!r} command ({entry.value}) failed to load: "
            f"{type(error).__name__}: {error}"
        ) from None
    if not isinstance(command, click.Command):
        raise PluginLoadError(
            f"the {entry.name!r} command ({entry.value}) is a {type(command).__name__}, "
            "not a click command"
        )
    return command


class PluginGroup(click.Group):
    """A click group whose commands are its own plus the installed plugins, loaded lazily."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins: dict[str, click.Command] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Built-in names plus every plugin that loads (a broken one is named on stderr)."""
        names = set(super().list_commands(ctx))
        for name, entry in plugin_entry_points().items():
            if name in names:
                continue
            try:
                self._load(name, entry)
            except PluginLoadError as error:
                click.echo(f"takeaways: {error}", err=True)
                continue
            names.add(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A built-in command, else the plugin of that name (imported now); None if unknown."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        entry = plugin_entry_points().get(cmd_name)
        return None if entry is None else self._load(cmd_name, entry)

    def _load(self, name: str, entry: EntryPoint) -> click.Command:
        if name not in self._plugins:
            self._plugins[name] = load_plugin(entry)
        return self._plugins[name]
