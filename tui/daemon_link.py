"""How the TUI reaches its project's daemon: attach, start it if needed, stop it if asked.

Starting and stopping go through the CLI's own `takeaways start|stop` (same log file, same
wait-until-it-answers logic), with output captured: anything the child printed would scribble
over the TUI's screen. Everything else is `DaemonClient` calls, made from worker threads.
The messages below are posted by those workers to the screen that follows the daemon.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from textual.message import Message

from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.runtime_files import ProjectFiles
from takeaways_daemon.wire import DaemonStatus, Suggestion, SuggestionEventType

START_POLL_S = 0.1
# Everything that means "the daemon is not there right now" rather than a bug.
LINK_ERRORS = (TakeawaysError, httpx.HTTPError, OSError, ValueError)


class DaemonStartFailed(TakeawaysError):
    """`takeaways start` could not start the daemon (its log says why)."""


class DaemonStartCancelled(TakeawaysError):
    """The TUI was closed while it waited for the daemon to start (the daemon keeps starting)."""


class DaemonLink:
    """One project's daemon, as seen from the TUI."""

    @dataclass
    class Connected(Message):
        """The event stream is (re)attached; `suggestions` is the daemon's list, newest first."""

        suggestions: list[Suggestion]

    @dataclass
    class Disconnected(Message):
        """The daemon stopped answering; the TUI keeps retrying."""

        reason: str

    @dataclass
    class Starting(Message):
        """No daemon ran, so the TUI is starting one (the model loads in the background)."""

    @dataclass
    class Changed(Message):
        """A suggestion was added, changed (status, rating, lines) or removed by the daemon."""

        event: SuggestionEventType
        suggestion: Suggestion

    @dataclass
    class StatusUpdate(Message):
        """The daemon's `/status`: backend, model, watcher, queue and metrics."""

        status: DaemonStatus

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.started_here = False
        """True once this TUI started the daemon (only then may it offer to stop it)."""

    def is_running(self) -> bool:
        """Whether some daemon holds this project's lock."""
        return ProjectFiles(self.root).is_locked()

    def client(self, timeout: float = 10.0) -> DaemonClient:
        """A client for the running daemon; raises `DaemonNotRunning` if there is none."""
        return DaemonClient.for_project(self.root, timeout=timeout)

    def _cli(self, command: str) -> list[str]:
        """The `takeaways COMMAND ROOT` command line, run with this interpreter."""
        return [sys.executable, "-m", "takeaways_daemon", command, str(self.root)]

    def start(self, timeout: float = 120.0, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Start the daemon in the background (`takeaways start`), waiting until it answers.

        `cancelled` is polled while waiting: quitting the TUI must not wait for a model to
        load. The daemon runs in its own session, so it keeps starting when the wait is cut.
        """
        waiter = subprocess.Popen(
            self._cli("start"),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                stdout, stderr = waiter.communicate(timeout=START_POLL_S)
                break
            except subprocess.TimeoutExpired:
                if cancelled() or time.monotonic() > deadline:
                    waiter.kill()
                    waiter.communicate()
                    if cancelled():
                        raise DaemonStartCancelled("closed while the daemon was starting") from None
                    raise DaemonStartFailed(f"no answer within {timeout:.0f} s") from None
        if waiter.returncode != 0:
            lines = (stderr or stdout).strip().splitlines()
            raise DaemonStartFailed(lines[-1] if lines else f"exit code {waiter.returncode}")
        self.started_here = "already running" not in stdout

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the daemon (`takeaways stop`)."""
        result = subprocess.run(
            self._cli("stop"), capture_output=True, text=True, stdin=subprocess.DEVNULL,
            timeout=timeout, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            raise TakeawaysError(lines[-1] if lines else "the daemon did not stop")
