"""The `PATH` argument every daemon command takes, and finding the project from a subfolder.

Run from `src/pkg/`, `takeaways status` means the project around it, as `git status` does:
the nearest folder upwards that a daemon serves, else the nearest one holding `.git`, else
the folder given. Without this, a subfolder looked like a project of its own, with no daemon.
"""

from __future__ import annotations

from pathlib import Path

import click

from takeaways_daemon.runtime_files import ProjectFiles


def find_project_root(path: Path) -> Path:
    """The project `path` lies in: served by a daemon, else a git work tree, else `path`."""
    start = path.resolve()
    folders = [start, *start.parents]
    for folder in folders:
        if ProjectFiles(folder).is_locked():
            return folder
    for folder in folders:
        if (folder / ".git").exists():
            return folder
    return start


def _to_project(_: click.Context, __: click.Parameter, value: Path | None) -> Path | None:
    return None if value is None else find_project_root(value)


PATH_ARGUMENT = click.argument(
    "path",
    required=False,
    default=".",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    callback=_to_project,
)
"""`[PATH]`: the project folder, or any folder inside it (default: the current folder)."""

PROJECT_OPTION = click.option(
    "--project", "-p", default=None, hidden=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path), callback=_to_project,
    help="The same as PATH (kept for scripts written before PATH was positional).",
)  # fmt: skip


def chosen_project(path: Path, project: Path | None) -> Path:
    """`--project` when a script still passes it, else the positional PATH."""
    return project if project is not None else path
