"""How the TUI reaches its project's daemon: attach, start it if needed, stop it if asked.

Starting and stopping go through the daemon's lifecycle module, like `takeaways start|stop`
(same log file, same wait-until-it-answers logic); the daemon's output goes to its log, never to
the TUI's screen. Everything else is `DaemonClient` calls, made from worker threads.
The messages below are posted by those workers to the screen that follows the daemon.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from textual.message import Message

from takeaways_daemon import lifecycle
from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.runtime_files import ProjectFiles
from takeaways_daemon.wire import DaemonStatus, ProgressView, Suggestion, SuggestionEventType

# Everything that means "the daemon is not there right now" rather than a bug.
LINK_ERRORS = (TakeawaysError, httpx.HTTPError, OSError, ValueError)


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
    class StartFailed(Message):
        """The daemon this TUI started exited at start; `reason` is its own error line."""

        reason: str
        log: Path | None

    @dataclass
    class ProgressUpdate(Message):
        """What the daemon's model works on now (sent on the event stream as it changes)."""

        progress: ProgressView

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

    def start(self, timeout: float = 120.0, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Make sure a daemon serves the project, starting one if none runs; wait until it answers.

        `cancelled` is polled while waiting: quitting the TUI must not wait for a model to
        load (`DaemonStartCancelled`). The daemon runs in its own session, so it keeps starting.
        """
        result = lifecycle.start(self.root, timeout=timeout, cancelled=cancelled)
        self.started_here = result.started_here

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the daemon (SIGTERM, then wait for it to let go of the project)."""
        lifecycle.stop(self.root, timeout=timeout)
