"""Which Python runs a project's tests in the sandbox, why that one, and what it needs mounted.

The project's own environment comes first (a configured path, then `.venv/`, then `venv/`), since
its tests import its dependencies; the daemon's interpreter is the fallback. Nothing here runs the
chosen interpreter: its folders are found by reading the file system only, because the project's
interpreter is project-controlled and runs only inside the sandbox.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

InterpreterSource = Literal["configured", "project", "daemon"]

PROJECT_ENVIRONMENTS = (".venv", "venv")
"""Folders, relative to the project root, searched for the project's own environment."""


@dataclass(frozen=True)
class ProjectInterpreter:
    """The interpreter for a project's tests: where it is, where it came from, what it needs."""

    python: Path
    """The path run inside the sandbox (a venv's `bin/python`, unresolved, so its venv applies)."""
    source: InterpreterSource
    reason: str
    """Why this one, in words, for `takeaways status`."""
    mounts: tuple[Path, ...]
    """Folders outside /usr bound read-only so it can start: its venv and its base installation."""

    def describe(self) -> str:
        """One line for `takeaways status`: the path and why it was chosen."""
        return f"{self.python} ({self.reason})"


def find_interpreter(project_root: Path, configured: Path | None = None) -> ProjectInterpreter:
    """Choose the interpreter for `project_root`'s tests: configured, the project's, or ours."""
    root = project_root.resolve()
    skipped = ""
    if configured is not None:
        python = _python_in(configured if configured.is_absolute() else root / configured)
        if python is not None:
            return ProjectInterpreter(
                python, "configured", "fix.python setting", _mounts(python, root)
            )
        skipped = f"fix.python {configured} has no Python; "
    for name in PROJECT_ENVIRONMENTS:
        python = _python_in(root / name)
        if python is not None:
            reason = f"{skipped}the project's own {name}/"
            return ProjectInterpreter(python, "project", reason, _mounts(python, root))
    names = " or ".join(f"{name}/" for name in PROJECT_ENVIRONMENTS)
    daemon = Path(sys.executable)
    mounts = _distinct([Path(sys.prefix), Path(sys.base_prefix), _installation(daemon)], root)
    return ProjectInterpreter(
        daemon, "daemon", f"{skipped}the daemon's own: the project has no {names}", mounts
    )


def _python_in(location: Path) -> Path | None:
    """The Python executable at `location`: the file itself, or a venv folder's `bin/python`."""
    if location.is_dir():
        location = location / "bin" / "python"
    return location if location.is_file() and os.access(location, os.X_OK) else None


def _mounts(python: Path, root: Path) -> tuple[Path, ...]:
    """The venv holding `python` and the installation its symlinks lead to, outside the project."""
    venv = python.parent.parent
    folders = [venv] if (venv / "pyvenv.cfg").is_file() else []
    folders.append(_installation(python))
    home = _venv_home(venv)
    if home is not None:
        folders.append(home.parent)
    return _distinct(folders, root)


def _installation(python: Path) -> Path:
    """The prefix of the real interpreter behind `python`'s symlinks (`<prefix>/bin/python3.x`)."""
    return Path(os.path.realpath(python)).parent.parent


def _venv_home(venv: Path) -> Path | None:
    """The `home` a venv's pyvenv.cfg names (the folder of its base interpreter), if any."""
    try:
        lines = (venv / "pyvenv.cfg").read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            return Path(value.strip())
    return None


def _distinct(folders: list[Path], root: Path) -> tuple[Path, ...]:
    """Folders worth binding: real Python installations or venvs, not /usr, the project or $HOME.

    The folders come from project files (symlinks, pyvenv.cfg), so a hostile project could name
    any folder; only one that holds a Python standard library or a pyvenv.cfg is bound, and never
    the user's home folder itself or one that contains it.
    """
    home = Path.home().resolve()
    chosen: list[Path] = []
    for folder in folders:
        folder = Path(os.path.realpath(folder))
        if folder.is_relative_to("/usr") or folder.is_relative_to(root) or folder in chosen:
            continue
        if home.is_relative_to(folder) or folder == Path("/"):
            continue
        if (folder / "pyvenv.cfg").is_file() or any((folder / "lib").glob("python3*/os.py")):
            chosen.append(folder)
    return tuple(chosen)
