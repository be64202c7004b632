"""`takeaways scan`'s progress on stderr: each task and candidate as it starts, and at the end
why the tasks that found nothing found nothing (a 7-minute silence, then `0 suggestion(s)`, told
the user nothing)."""

from __future__ import annotations

import time
from collections.abc import Callable

from takeaways_daemon.progress import ProgressTracker
from takeaways_daemon.wire import NothingFound, ProgressView


class ScanProgress:
    """Prints a scan's progress through `say`, and sums it up."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.tracker = ProgressTracker()
        self.tracker.changed.subscribe(self._on_change)
        self.nothing_found: list[NothingFound] = []
        self._shown: tuple[str, str, int] | None = None
        self._started = time.monotonic()

    def _on_change(self, view: ProgressView) -> None:
        current = view.current
        if current is not None:
            shown = (current.kind, current.path, current.candidate)
            if shown != self._shown and current.candidate:
                self._shown = shown
                symbol = f" {current.symbol}" if current.symbol else ""
                self.say(
                    f"{current.kind} {current.path}{symbol}: "
                    f"candidate {current.candidate}/{current.candidates}"
                )
        latest = view.recent[0] if view.recent else None
        if latest is not None and latest not in self.nothing_found:
            self.nothing_found.append(latest)
            self.say(f"  nothing: {latest.reason}")

    def summary(self, found: int) -> str:
        """The closing line: how many, how long, and why none when none."""
        seconds = time.monotonic() - self._started
        line = f"{found} suggestion(s) in {seconds:.1f} s"
        if found or not self.nothing_found:
            return line if found or self._shown else f"{line}: no task to run in these files"
        reasons = "; ".join(
            f"{item.kind} {item.path}: {item.reason}" for item in self.nothing_found
        )
        return f"{line}: {reasons}"
