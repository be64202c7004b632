"""Helpers for the TUI tests and bench/tui.py: a real daemon API serving recorded suggestions.

`RecordedDaemon` is the real FastAPI app (guard, token, routes) around a real `DaemonService`,
served by a real uvicorn on 127.0.0.1 and registered in the project's runtime files exactly as
`takeaways start` registers a daemon (lock held, 0600 token, runtime record). The TUI finds and
talks to it with no test hook. Only the service's watcher and model are not started: its store
is filled from recorded suggestions instead, so what the screen shows is repeatable.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any

from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord
from takeaways_daemon.suggestions import Suggestion
from tests.loopback_server import free_port, serving, unstarted_service

RECORDED = Path(__file__).with_name("tui_recorded_suggestions.json")
# The recorded suggestions' clock: "now" for age rendering is this plus a fixed offset.
RECORDED_NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC


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
        self.service = unstarted_service(self.root)
        for suggestion in suggestions:
            self.service.store.add(suggestion)
        self.files = ProjectFiles(self.root)
        self._lock: IO[str] | None = None

    def __enter__(self) -> RecordedDaemon:
        self._lock = self.files.acquire_lock()
        port = free_port()
        self._serving = serving(self.service, token=self.files.new_token(), port=port)
        address = self._serving.__enter__()
        record = RuntimeRecord(
            pid=0, root=str(self.root), transport="tcp", address=address,
            token_file=str(self.files.token), log_file=str(self.files.log), started_at=time.time(),
        )  # fmt: skip
        self.files.write_runtime(record)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._serving.__exit__(None, None, None)
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


async def main_screen_with_rows(app: Any, pilot: Any, timeout: float = 15) -> Any:
    """The app's main screen, once its list shows rows (fails with the screen's text)."""
    from tui.main_screen import MainScreen

    screen = app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    deadline = time.monotonic() + timeout
    while screen.suggestions.row_count == 0:
        assert time.monotonic() < deadline, screen_text(app)
        await pilot.pause(0.05)
    return screen
