"""Helpers for the TUI tests and bench/tui.py: a real daemon API serving recorded suggestions.

`RecordedDaemon` is the real FastAPI app (guard, token, routes) around a real `DaemonService`,
served by a real uvicorn on 127.0.0.1 and registered in the project's runtime files exactly as
`takeaways start` registers a daemon (lock held, 0600 token, runtime record). The TUI finds and
talks to it with no test hook. Only the service's watcher and model are not started: its store
is filled from recorded suggestions instead, so what the screen shows is repeatable.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import IO, Any

import uvicorn

from takeaways_daemon.api.app import create_app
from takeaways_daemon.api.guard import allowed_hosts_for
from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestions import Suggestion

RECORDED = Path(__file__).with_name("tui_recorded_suggestions.json")
# The recorded suggestions' clock: "now" for age rendering is this plus a fixed offset.
RECORDED_NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recorded_suggestions() -> list[Suggestion]:
    """The recorded suggestions (oldest first, as the store keeps them)."""
    return [Suggestion(**item) for item in json.loads(RECORDED.read_text())]


def many_suggestions(count: int) -> list[Suggestion]:
    """`count` distinct suggestions made from the recorded ones (for the 1,000-row bench)."""
    base = recorded_suggestions()
    made = []
    for index in range(count):
        template = base[index % len(base)]
        made.append(
            template.model_copy(
                update={
                    "id": f"{index:08x}",
                    "path": f"pkg/module_{index % 97}.py",
                    "title": f"{template.title} ({index})",
                    "created_at": RECORDED_NOW - 10 * (count - index),
                }
            )
        )
    return made


class RecordedDaemon:
    """A running daemon API for `root` whose store holds `suggestions`."""

    def __init__(self, root: Path, suggestions: list[Suggestion]) -> None:
        self.root = root.resolve()
        closed = {"prefer": "ollama", "ollama": {"host": f"http://127.0.0.1:{free_port()}"}}
        self.service = DaemonService(self.root, Settings(backend=closed))
        for suggestion in suggestions:
            self.service.store.add(suggestion)
        self.files = ProjectFiles(self.root)
        self._lock: IO[str] | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RecordedDaemon:
        self._lock = self.files.acquire_lock()
        token = self.files.new_token()
        port = free_port()
        app = create_app(
            self.service,
            token=token,
            allowed_hosts=allowed_hosts_for("tcp", port),
            max_body_bytes=1 << 20,
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="critical", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert self._thread.is_alive(), "uvicorn failed to start"
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            time.sleep(0.01)
        record = RuntimeRecord(
            pid=0, root=str(self.root), transport="tcp", address=f"http://127.0.0.1:{port}",
            token_file=str(self.files.token), log_file=str(self.files.log), started_at=time.time(),
        )  # fmt: skip
        self.files.write_runtime(record)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        # Open event streams end at their next keep-alive; don't wait for them.
        self._server.force_exit = True
        self._thread.join(timeout=10)
        self.files.clear()
        if self._lock is not None:
            self._lock.close()


def screen_text(app: Any) -> str:
    """What the terminal shows now, as plain text (one line per row)."""
    update = app.screen._compositor.render_full_update()
    return "\n".join("".join(segment.text for segment in line) for line in update.strips)


def terminal_output(app: Any) -> str:
    """The exact characters Textual would write to the terminal for a full redraw."""
    update = app.screen._compositor.render_full_update()
    return update.render_segments(app.console)
