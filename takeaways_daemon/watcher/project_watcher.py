"""The project watcher: watchdog events in, debounced latest-wins `FileChange`s out.

Everything runs on the asyncio loop except watchdog's threads (which only buffer events) and one
worker thread for file reads and tree walks (`ChangeReader`). When idle, nothing is scheduled: no
timers, no polls (in inotify mode).

Normal flow: event → `ChangeQueue.touch` → quiet period → read → `offer`. A burst (more than
`burst_events` per second) or a kernel overflow switches to settling (`BurstGuard`): events only
mark files dirty until the tree is quiet, then one rescan reconciles fingerprints and reads only
what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from watchdog.observers.api import BaseObserver

from takeaways_daemon.settings import WatcherSettings
from takeaways_daemon.watcher.burst_guard import BurstGuard
from takeaways_daemon.watcher.change import FileChange, WatcherStats, WatchMode
from takeaways_daemon.watcher.change_queue import ChangeQueue
from takeaways_daemon.watcher.change_reader import ChangeReader
from takeaways_daemon.watcher.ignore_rules import IgnoreRules
from takeaways_daemon.watcher.observer import (
    EventForwarder,
    ObserverFactory,
    OverflowSignal,
    RawEvent,
    start_observer,
    stop_observer,
)
from takeaways_daemon.watcher.pruned_inotify import refresh_watches

logger = logging.getLogger(__name__)


class ProjectWatcher:
    """Watches one project folder and queues each text file's settled state for analysis."""

    def __init__(
        self,
        root: Path,
        settings: WatcherSettings,
        *,
        observer_factory: ObserverFactory | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.settings = settings
        self.stats = WatcherStats()
        self.mode: WatchMode = "polling" if settings.force_polling else "inotify"
        self._factory = observer_factory
        self._prefix = str(self.root) + os.sep
        self._rules = IgnoreRules(self.root, settings.extra_ignores)
        self._queue = ChangeQueue(
            debounce_s=settings.debounce_ms / 1000,
            max_files=settings.queue_max_files,
            on_due=lambda files: self._reader.mark_due(files),
            stats=self.stats,
        )
        self._burst = BurstGuard(
            limit=settings.burst_events,
            quiet_s=max(self._queue.debounce_s, 0.05),
            on_quiet=self._on_quiet,
        )
        self._reader = ChangeReader(
            self.root,
            self._queue,
            max_file_bytes=settings.max_file_bytes,
            rules=lambda: self._rules,
            settling=lambda: self._burst.settling,
            stats=self.stats,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._observer: BaseObserver | None = None
        self._overflow: OverflowSignal | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def queue_depth(self) -> int:
        """Distinct files with a pending change."""
        return self._queue.depth

    @property
    def is_idle(self) -> bool:
        """Whether nothing is in flight: no quiet periods, reads, settling or runnable rescan."""
        return not (self._queue.waiting_count or self._burst.settling) and self._reader.is_idle

    def pending(self) -> dict[str, FileChange]:
        """A snapshot of the queued changes by relative path, oldest first."""
        return self._queue.pending()

    def add_superseded_listener(self, callback: Callable[[str], None]) -> None:
        """Call `callback(relative)` when queued or handed-out work for a file became stale."""
        self._queue.add_superseded_listener(callback)

    async def next_change(self) -> FileChange:
        """Wait for the next settled change."""
        change = await self._queue.get()
        self._reader.on_consumed()
        return change

    async def start(self) -> None:
        """Start watching (inside the running loop); existing files are recorded, not queued."""
        loop = self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="takeaways-watcher")

        def overflowed() -> None:  # called on watchdog's thread
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(self._on_overflow)

        self._overflow = OverflowSignal(overflowed)
        self._overflow.install()
        forwarder = EventForwarder(loop, self._on_events)
        # Watch first, then walk: a file saved during the walk still produces an event.
        try:
            self._observer, self.mode = await loop.run_in_executor(
                self._executor,
                partial(
                    start_observer,
                    self.root,
                    forwarder,
                    factory=self._factory,
                    force_polling=self.settings.force_polling,
                    polling_interval_s=self.settings.polling_interval_s,
                    skip_dir=lambda path: self._rules.is_ignored(Path(path), is_dir=True),
                ),
            )
            self._reader.known = await self._reader.walk(self._executor)
        except BaseException:
            await self.stop()
            raise
        self._worker = loop.create_task(self._reader.run(self._executor), name="takeaways-watcher")

    async def stop(self) -> None:
        """Stop watching and release the threads; queued changes stay readable."""
        loop = asyncio.get_running_loop()
        if self._overflow is not None:
            self._overflow.remove()
        if self._observer is not None:
            await loop.run_in_executor(None, stop_observer, self._observer)
            self._observer = None
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        self._burst.close()
        self._queue.close()
        if self._executor is not None:
            # Waits for a read in progress, on a helper thread so the loop keeps running.
            await loop.run_in_executor(None, self._executor.shutdown)
            self._executor = None

    # Events (on the loop).

    def _on_events(self, batch: list[RawEvent]) -> None:
        assert self._loop is not None
        now = self._loop.time()
        for event in batch:
            self.stats.events += 1
            if event.is_directory:
                if event.event_type in ("deleted", "moved"):
                    # A folder moved out of the tree reports only itself: touch what it held.
                    self._on_dir_gone(event.src_path, now)
                continue
            self._on_path(event.src_path, now)
            if event.event_type == "moved":
                self._on_path(event.dest_path, now)

    def _on_path(self, path: str, now: float) -> None:
        if not path.startswith(self._prefix):
            return
        relative = path[len(self._prefix) :].replace(os.sep, "/")
        if self._rules.affects_rules(relative):
            self._on_rules_changed()
        if self._rules.is_ignored_relative(relative):
            self.stats.ignored += 1
            return
        if self._burst.note(now):
            logger.info("burst of file events in %s; will rescan once it is quiet", self.root)
            self._begin_settling()
        if self._burst.settling:
            self._queue.invalidate(relative)
            self._reader.defer([relative])
        else:
            self._queue.touch(relative)

    def _on_dir_gone(self, path: str, now: float) -> None:
        if self._burst.settling or not path.startswith(self._prefix):
            return  # while settling, the coming rescan finds whatever the folder held
        relative_dir = path[len(self._prefix) :].replace(os.sep, "/")
        if self._rules.is_ignored_relative(relative_dir, is_dir=True):
            return
        prefix = relative_dir + "/"
        for relative in [known for known in self._reader.known if known.startswith(prefix)]:
            self._on_path(self._prefix + relative, now)

    def _on_overflow(self) -> None:
        assert self._loop is not None
        self.stats.overflows += 1
        self._burst.settle(self._loop.time())
        self._begin_settling()

    def _begin_settling(self) -> None:
        # Per-file work in progress would only see intermediate states: the rescan redoes it.
        self._reader.defer(self._queue.cancel_waiting())
        self._reader.defer_all_due()

    def _on_quiet(self) -> None:
        self._reader.request_rescan()

    def _on_rules_changed(self) -> None:
        # New rules take effect at once; the rescan then adopts newly visible files silently.
        previous, self._rules = self._rules, IgnoreRules(self.root, self.settings.extra_ignores)
        self._reader.request_rescan(previous_rules=previous)
        if self._observer is not None and self._loop is not None:
            # Newly visible folders get inotify watches; newly ignored ones give theirs back.
            self._loop.run_in_executor(None, refresh_watches, self._observer)
