"""One line at the bottom: is the daemon reachable, which backend and model, the last suggestion's
latency, the queue depth and the watcher mode."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.display_text import clean

# How each link state reads, and its style.
LINK_STATES = {
    "connecting": ("◌ connecting", "yellow"),
    "starting": ("◌ starting the daemon", "yellow"),
    "connected": ("● connected", "green"),
    "disconnected": ("○ disconnected, retrying", "bold red"),
}


def status_line(link: str, status: dict[str, Any]) -> Text:
    """The status bar's text for a link state and the daemon's last `/status`.

    >>> status_line("disconnected", {}).plain
    '○ disconnected, retrying'
    """
    label, style = LINK_STATES[link]
    line = Text(label, style=style)
    if link != "connected" or not status:
        return line
    backend = status.get("backend", {})
    name, model, state = backend.get("name"), backend.get("model"), backend.get("state")
    if state == "ready":
        line.append(f" │ {clean(name)} {clean(model)}")
    elif state == "down":
        line.append(" │ backend down", style="bold red")
    else:
        line.append(" │ loading the model…", style="yellow")
    latency = status.get("metrics", {}).get("latency_ms", {}).get("last")
    line.append(f" │ last {latency / 1000:.1f} s" if latency else " │ last –")
    watcher = status.get("watcher", {})
    line.append(f" │ queue {watcher.get('queue_depth', 0)} │ {clean(watcher.get('mode', '?'))}")
    return line


class StatusBar(Static):
    """The daemon's state at a glance."""

    link: reactive[str] = reactive("connecting")
    status: reactive[dict[str, Any]] = reactive(dict)

    def render(self) -> Text:
        return status_line(self.link, self.status)
