"""What the daemon is doing now: the task in flight, the work waiting, and tasks that found nothing.

The engine reports into a `ProgressTracker` (`working_on` a task, each candidate, each discarded
answer); `view()` is what `/status`, the event stream, the TUI's progress line, `takeaways
status` and `takeaways scan` show. A task that ends without a suggestion leaves one sentence
saying why ("3 candidates rejected: the patched file does not parse"), instead of a silence
that only the log explains.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from takeaways_daemon.errors import BackendUnavailable, PromptTooLong
from takeaways_daemon.suggestion_events import Listeners
from takeaways_daemon.tasks import Task
from takeaways_daemon.wire import NothingFound, ProgressView, TaskProgress

RECENT_NOTHING_FOUND = 5


@dataclass
class TaskWork:
    """One task while the model works on it; the engine reports each candidate through it."""

    task: Task
    candidates: int
    on_change: Callable[[], None]
    candidate: int = 0
    started_at: float = field(default_factory=time.monotonic)
    discarded: list[str] = field(default_factory=list)
    """Why each candidate so far was thrown away, in order."""
    produced: bool = False

    def next_candidate(self, number: int) -> None:
        """The model is asked for candidate `number` (1-based) now."""
        self.candidate = number
        self.on_change()

    def discard(self, reason: str) -> None:
        """The last candidate failed a check: `reason` says which."""
        self.discarded.append(reason)

    def kept(self) -> None:
        """The last candidate passed every check."""
        self.produced = True

    def view(self) -> TaskProgress:
        """This task as the wire shows it."""
        return TaskProgress(
            path=self.task.path, kind=self.task.kind, symbol=self.task.symbol,
            candidate=self.candidate, candidates=self.candidates,
            elapsed_s=round(time.monotonic() - self.started_at, 1),
        )  # fmt: skip

    def nothing_found_reason(self) -> str:
        """Why no candidate was kept: the checks' most common complaint, counted."""
        if not self.discarded:
            return "the model gave no answer"
        reason, _ = Counter(self.discarded).most_common(1)[0]
        count = len(self.discarded)
        noun = "candidate" if count == 1 else "candidates"
        return f"{count} {noun} rejected: {reason}"


def failure_reason(error: BaseException) -> str:
    """One sentence for a task that ended in `error` rather than with an answer."""
    if isinstance(error, asyncio.CancelledError):
        return "cancelled (a newer save, or the cancel key)"
    if isinstance(error, BackendUnavailable):
        return f"the model is unavailable: {error}"
    if isinstance(error, PromptTooLong):
        return f"skipped: {error}"
    return f"failed: {error}"


class ProgressTracker:
    """The daemon's (or a scan's) progress, updated by the engine on its event loop."""

    def __init__(self) -> None:
        self.current: TaskWork | None = None
        self.recent: deque[NothingFound] = deque(maxlen=RECENT_NOTHING_FOUND)
        self.tasks_left = 0
        """Tasks of the current change still to run after the one in flight."""
        self.changed: Listeners[ProgressView] = Listeners()
        """Told of every change worth showing (a new task or candidate, a task that ended)."""
        self.extra: Callable[[], dict[str, int]] = dict
        """Counts the tracker does not own (the watcher's queue, interactive requests)."""

    def view(self) -> ProgressView:
        """Now, as the wire shows it."""
        counts = self.extra()
        return ProgressView(
            current=self.current.view() if self.current else None,
            queued=self.tasks_left + counts.get("queued", 0),
            interactive=counts.get("interactive", 0),
            recent=list(reversed(self.recent)),
        )

    def touch(self) -> None:
        """Something shown changed: tell the listeners."""
        self.changed.publish(self.view())

    def nothing_found(self, task: Task, reason: str) -> None:
        """Record that `task` ended without a suggestion, and why."""
        self.recent.append(NothingFound(path=task.path, kind=task.kind, reason=reason))
        self.touch()

    @contextlib.contextmanager
    def working_on(self, task: Task, candidates: int) -> Iterator[TaskWork]:
        """The engine works on `task` inside this block; how it ends is recorded."""
        work = TaskWork(task, candidates, self.touch)
        self.current = work
        self.touch()
        try:
            yield work
        except BaseException as error:
            self.current = None
            self.nothing_found(task, failure_reason(error))
            raise
        self.current = None
        if work.produced:
            self.touch()
        else:
            self.nothing_found(task, work.nothing_found_reason())
