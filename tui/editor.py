"""Opening a suggestion's file in the user's editor at the right line."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

# Editors that take `-g FILE:LINE` rather than the common `+LINE FILE`.
_GOTO_STYLE = {"code", "codium", "code-insiders", "cursor"}


class NoEditor(Exception):
    """Neither $VISUAL nor $EDITOR is set."""


def editor_command(path: Path, line: int, editor: str | None = None) -> list[str]:
    """The command that opens `path` at `line` in `editor` (default: $VISUAL, then $EDITOR).

    >>> editor_command(Path("/p/calc.py"), 3, "vim -u NONE")
    ['vim', '-u', 'NONE', '+3', '/p/calc.py']
    >>> editor_command(Path("/p/calc.py"), 3, "code --wait")
    ['code', '--wait', '-g', '/p/calc.py:3']
    """
    editor = editor or os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise NoEditor("set $EDITOR (for example `export EDITOR=vim`) to open files from the TUI")
    command = shlex.split(editor)
    if Path(command[0]).name in _GOTO_STYLE:
        return [*command, "-g", f"{path}:{line}"]
    return [*command, f"+{line}", str(path)]
