"""One line at the bottom: is the daemon reachable, which backend and model, the last suggestion's
latency, the queue depth, the watcher mode, and the learning round in progress (when opted in)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from takeaways_daemon.wire import DaemonStatus, LearningView
from tui.display_text import clean

# How each link state reads, and its style.
LINK_STATES = {
    "connecting": ("◌ connecting", "yellow"),
    "starting": ("◌ starting the daemon", "yellow"),
    "connected": ("● connected", "green"),
    "disconnected": ("○ disconnected, retrying", "bold red"),
}


def status_line(link: str, status: DaemonStatus | None) -> Text:
    """The status bar's text for a link state and the daemon's last `/status` (None: none yet).

    >>> status_line("disconnected", None).plain
    '○ disconnected, retrying'
    """
    label, style = LINK_STATES[link]
    line = Text(label, style=style)
    if link != "connected" or status is None:
        return line
    backend = status.backend
    if backend.state == "ready":
        line.append(f" │ {clean(backend.name)} {clean(backend.model)}")
    elif backend.state == "down":
        line.append(" │ backend down", style="bold red")
    else:
        line.append(" │ loading the model…", style="yellow")
    latency = status.metrics.latency_ms.last
    line.append(f" │ last {latency / 1000:.1f} s" if latency else " │ last –")
    watcher = status.watcher
    line.append(f" │ queue {watcher.queue_depth} │ {clean(watcher.mode)}")
    line.append(learning_segment(status.learning))
    return line


def learning_segment(learning: LearningView) -> str:
    """The learning loop's part of the line: empty when off, the round's stage while one runs.

    >>> learning_segment(LearningView(enabled=True, round_running=True, stage="gate"))
    ' │ learning: gate'
    """
    if not learning.enabled:
        return ""
    if learning.round_running:
        return f" │ learning: {clean(learning.stage or 'starting')}"
    return " │ learning on"


class StatusBar(Static):
    """The daemon's state at a glance."""

    link: reactive[str] = reactive("connecting")
    status: reactive[DaemonStatus | None] = reactive(None)

    def render(self) -> Text:
        return status_line(self.link, self.status)
