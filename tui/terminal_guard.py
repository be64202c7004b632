"""Keep other programs' stderr off the TUI's screen.

Libraries loaded into the TUI's process (dbus, gcr and GLib via the keyring) and programs it
starts may write warnings to file descriptor 2, which is the terminal: they were drawn over the
TUI. Textual draws through `sys.__stderr__`, so while the app runs, descriptor 2 points at a
log file in the project's state folder and Textual gets its own copy of the terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from takeaways_daemon.runtime_files import ProjectFiles

LOG_NAME = "tui-stderr.log"


def stray_output_log(root: Path) -> Path:
    """Where the stray stderr of the TUI for `root` goes."""
    return ProjectFiles(root).dir / LOG_NAME


@contextlib.contextmanager
def stray_output_to_log(root: Path) -> Iterator[Path | None]:
    """Inside: fd 2 writes to the log, `sys.__stderr__` (Textual's output) to the terminal.

    Does nothing when stderr is not a terminal (tests, pipes): then nothing is drawn over.
    """
    stream = sys.__stderr__
    if stream is None or not stream.isatty():
        yield None
        return
    files = ProjectFiles(root)
    files.prepare()
    log_path = files.dir / LOG_NAME
    stream.flush()
    terminal_fd = os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    terminal = os.fdopen(terminal_fd, "w", buffering=1, encoding=stream.encoding)
    saved_fd = os.dup(2)
    saved = (sys.__stderr__, sys.stderr)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.__stderr__ = sys.stderr = terminal  # type: ignore[misc]
    try:
        yield log_path
    finally:
        terminal.flush()
        sys.__stderr__, sys.stderr = saved  # type: ignore[misc]
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        terminal.close()
