"""One line at the bottom: is the daemon reachable, which backend and model, the last suggestion's
latency, the queue depth, the watcher mode, and the learning round in progress (when opted in).

At 80 columns a long model name used to push the watcher mode off the line: the model name is
the part that gives way (cut with an ellipsis), never the mode.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from takeaways_daemon.wire import DaemonStatus, LearningView
from tui.display_text import clean, one_line

# How each link state reads, and its style.
LINK_STATES = {
    "connecting": ("◌ connecting", "yellow"),
    "starting": ("◌ starting the daemon", "yellow"),
    "connected": ("● connected", "green"),
    "disconnected": ("○ disconnected, retrying", "bold red"),
    "failed": ("✖ the daemon could not start (see above)", "bold red"),
}


def status_line(link: str, status: DaemonStatus | None, width: int = 200) -> Text:
    """The status bar's text for a link state and the daemon's last `/status` (None: none yet).

    `width` is the room there is: the model's name is shortened so the rest always fits.

    >>> status_line("disconnected", None).plain
    '○ disconnected, retrying'
    """
    label, style = LINK_STATES[link]
    line = Text(label, style=style)
    if link != "connected" or status is None:
        return line
    backend = status.backend
    watcher = status.watcher
    latency = status.metrics.latency_ms.last
    tail = f" │ last {latency / 1000:.1f} s" if latency else " │ last –"
    tail += f" │ queue {watcher.queue_depth} │ {clean(watcher.mode)}"
    tail += learning_segment(status.learning)
    if backend.state == "ready":
        room = width - len(line.plain) - len(tail) - len(" │ ") - len(clean(backend.name)) - 1
        model = one_line(clean(backend.model), max(room, 8))
        line.append(f" │ {clean(backend.name)} {model}")
    elif backend.state == "down":
        line.append(" │ backend down", style="bold red")
    else:
        line.append(" │ loading the model…", style="yellow")
    line.append(tail)
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
        return status_line(self.link, self.status, self.size.width or 200)
