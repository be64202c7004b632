"""A first takeaways-tui: a live list of the daemon's suggestions.

The full app (diffs, accept/reject/rate, history, stats) is the TUI issue's work; this one
starts, attaches to the project's daemon (starting it if needed) and shows suggestions live.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Log

from takeaways_daemon.sanitize import strip_control


class TakeawaysApp(App[None]):
    """Live suggestions for one project."""

    TITLE = "takeaways"
    BINDINGS: ClassVar = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, project: Path) -> None:
        super().__init__()
        self.project = project.resolve()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Log(id="suggestions", highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = str(self.project)
        self.follow()

    @work(thread=True, exclusive=True)
    def follow(self) -> None:
        """Attach to the daemon (starting it if needed) and stream its suggestions."""
        from takeaways_daemon.api_client import DaemonClient
        from takeaways_daemon.errors import DaemonNotRunning

        log = self.query_one(Log)
        try:
            client = DaemonClient.for_project(self.project)
        except DaemonNotRunning:
            self.call_from_thread(log.write_line, "starting the daemon…")
            # Captured: anything the child prints would scribble over the TUI's screen.
            subprocess.run(
                [sys.executable, "-m", "takeaways_daemon", "start", str(self.project)],
                check=False, capture_output=True, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            client = DaemonClient.for_project(self.project)
        with client:
            for item in reversed(client.suggestions(status="open")):
                self.call_from_thread(log.write_line, _row(item))
            for event, data in client.events():
                if event == "added":
                    self.call_from_thread(log.write_line, _row(json.loads(data)))


def _row(item: dict[str, object]) -> str:
    return strip_control(
        f"{item['kind']:<9} {item['path']}:{item['start_line']}  {item['title']}  [{item['id']}]"
    )


def main() -> None:
    """Run `takeaways-tui [PATH]`."""
    project = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    if not project.is_dir():
        sys.exit(f"takeaways-tui: {project} is not a folder")
    TakeawaysApp(project).run()
