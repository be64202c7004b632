"""One line above the status bar: what the model works on now, what waits, and what found nothing.

"fix calc.py greet · candidate 2/3 · 12 s · 1 queued · x cancels" while a task runs; while idle,
the latest task that produced nothing and why ("types calc.py: 3 candidates rejected: …"), so a
save that yields nothing is not a silent one. The elapsed time ticks here between the daemon's
updates (which come on the event stream when something changes, and with each `/status`).
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from takeaways_daemon.wire import ProgressView
from tui.display_text import clean, one_line

TICK_S = 1.0


def progress_text(
    progress: ProgressView | None, elapsed_extra_s: float = 0.0, width: int = 78
) -> Text:
    """The progress line for `progress` (None: nothing known yet), cut to `width` columns.

    >>> from takeaways_daemon.wire import TaskProgress
    >>> task = TaskProgress(path="calc.py", kind="fix", candidate=2, candidates=3, elapsed_s=11.6)
    >>> progress_text(ProgressView(current=task, queued=1), 0.5).plain
    '⟳ fix calc.py · candidate 2/3 · 12 s · 1 queued · x cancels'
    >>> progress_text(ProgressView()).plain
    '○ idle: save a file to get suggestions'
    """
    if progress is None:
        return Text("")
    current = progress.current
    waiting = []
    if progress.queued:
        waiting.append(f"{progress.queued} queued")
    if progress.interactive:
        waiting.append(f"{progress.interactive} interactive first")
    if current is not None:
        symbol = f" {current.symbol}" if current.symbol else ""
        seconds = round(current.elapsed_s + elapsed_extra_s)
        tail = " · ".join(
            [f"candidate {current.candidate}/{current.candidates}", f"{seconds} s", *waiting,
             "x cancels"]
        )  # fmt: skip
        # A long path gives way: the candidate, the time and the cancel key always show.
        head = one_line(f"{current.kind} {current.path}{symbol}", max(width - len(tail) - 5, 8))
        line = Text("⟳ ", style="bold yellow")
        line.append(one_line(f"{head} · {tail}", width - 2))
        return line
    if progress.recent:
        latest = progress.recent[0]
        line = Text("○ found nothing: ", style="dim")
        said = f"{latest.kind} {latest.path}: {latest.reason}"
        line.append(one_line(clean(said), max(width - len(line.plain), 10)), style="yellow")
        return line
    idle = "idle: save a file to get suggestions" if not waiting else " · ".join(waiting)
    return Text(f"○ {idle}", style="dim")


class ProgressLine(Static):
    """The daemon's progress, always visible."""

    progress: reactive[ProgressView | None] = reactive(None)

    def on_mount(self) -> None:
        self._received_at = time.monotonic()
        self.set_interval(TICK_S, self._tick)

    def watch_progress(self) -> None:
        self._received_at = time.monotonic()

    def _tick(self) -> None:
        if self.progress is not None and self.progress.current is not None:
            self.refresh()

    def render(self) -> Text:
        extra = time.monotonic() - self._received_at if self.progress else 0.0
        return progress_text(self.progress, extra, max(self.size.width, 20))
