"""Per-file debounce plus a bounded, latest-wins queue of settled changes (pure asyncio).

A file's life here: `touch` (an event) starts or restarts its quiet period and supersedes any
queued or handed-out work for it; when the quiet period ends the owner is told (`on_due`), reads
the file and `offer`s the result; the engine takes it with `get`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable

from takeaways_daemon.watcher.change import FileChange, WatcherStats

logger = logging.getLogger(__name__)

SupersededListener = Callable[[str], None]


class ChangeQueue:
    """Debounces touches per file and holds at most `max_files` pending changes, newest per file."""

    def __init__(
        self,
        *,
        debounce_s: float,
        max_files: int,
        on_due: Callable[[list[str]], None],
        stats: WatcherStats | None = None,
    ) -> None:
        self.debounce_s = debounce_s
        self.max_files = max_files
        self.stats = stats if stats is not None else WatcherStats()
        self._on_due = on_due
        # Deadlines are "now + constant" and touching moves a file to the end, so the order of this
        # dict is the order of the deadlines: one timer for the earliest serves every file.
        self._waiting: OrderedDict[str, float] = OrderedDict()
        self._pending: OrderedDict[str, FileChange] = OrderedDict()
        self._delivered: set[str] = set()
        self._listeners: list[SupersededListener] = []
        self._timer: asyncio.TimerHandle | None = None
        self._ready = asyncio.Event()

    @property
    def depth(self) -> int:
        """Distinct files with a pending change."""
        return len(self._pending)

    @property
    def is_full(self) -> bool:
        """Whether a change for a file not already pending would be refused."""
        return len(self._pending) >= self.max_files

    @property
    def waiting_count(self) -> int:
        """Files still inside their quiet period."""
        return len(self._waiting)

    def add_superseded_listener(self, callback: SupersededListener) -> None:
        """Call `callback(relative)` whenever queued or handed-out work for a file becomes stale."""
        self._listeners.append(callback)

    def touch(self, relative: str) -> None:
        """Record an event for a file: its quiet period (re)starts and older work is superseded."""
        loop = asyncio.get_running_loop()
        if relative in self._waiting:
            self.stats.coalesced += 1
            self._waiting.move_to_end(relative)
        else:
            self.invalidate(relative)
        deadline = loop.time() + self.debounce_s
        self._waiting[relative] = deadline
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._fire)

    def is_waiting(self, relative: str) -> bool:
        """Whether the file is inside its quiet period (a read of it now may already be stale)."""
        return relative in self._waiting

    def cancel_waiting(self) -> list[str]:
        """Forget every quiet period (the owner will rescan instead) and return those files."""
        files = list(self._waiting)
        self._waiting.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return files

    def invalidate(self, relative: str) -> bool:
        """Drop the file's pending change; tell listeners if work for it was queued or taken."""
        superseded = False
        if self._pending.pop(relative, None) is not None:
            self.stats.coalesced += 1
            superseded = True
        if relative in self._delivered:
            self._delivered.discard(relative)
            superseded = True
        if superseded:
            self._notify(relative)
        return superseded

    def offer(self, change: FileChange) -> bool:
        """Queue a settled change, replacing the file's older one; False if the queue is full."""
        relative = change.relative
        if relative not in self._pending and self.is_full:
            return False
        self.invalidate(relative)
        self._pending[relative] = change
        self._ready.set()
        return True

    async def get(self) -> FileChange:
        """Wait for and take the oldest pending change."""
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        relative, change = self._pending.popitem(last=False)
        self._delivered.add(relative)
        return change

    def pending(self) -> dict[str, FileChange]:
        """A snapshot of the pending changes by relative path, oldest first."""
        return dict(self._pending)

    def close(self) -> None:
        """Stop the debounce timer; pending changes stay readable."""
        self.cancel_waiting()

    def _fire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        # The loop may run a timer up to one clock tick early; count those files as due.
        now = loop.time() + 0.001
        due: list[str] = []
        while self._waiting:
            relative, deadline = next(iter(self._waiting.items()))
            if deadline > now:
                self._timer = loop.call_at(deadline, self._fire)
                break
            self._waiting.popitem(last=False)
            due.append(relative)
        if due:
            self._on_due(due)

    def _notify(self, relative: str) -> None:
        for callback in self._listeners:
            try:
                callback(relative)
            except Exception:
                logger.exception("superseded listener failed for %s", relative)
