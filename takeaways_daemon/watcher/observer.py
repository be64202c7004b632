"""The watchdog edge: start an observer (polling when inotify's limits are hit) and forward events.

Watchdog calls handlers on its own thread; `EventForwarder` only buffers there and wakes the
asyncio loop once per batch, so everything else runs on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from takeaways_daemon.watcher.change import WatchMode
from takeaways_daemon.watcher.pruned_inotify import pruned_observer

logger = logging.getLogger(__name__)

ObserverFactory = Callable[[], BaseObserver]

WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
"""Opens and read-only closes are left out: the watcher's own reads would otherwise wake it."""

LIMIT_ERRNOS = frozenset({errno.ENOSPC, errno.EMFILE})
"""inotify's answers when the watch (ENOSPC) or instance (EMFILE) limit is reached."""

_OVERFLOW_LOGGER = "watchdog.observers.inotify_c"
_OVERFLOW_MESSAGE = "Inotify queue overflowed"


class RawEvent(NamedTuple):
    """One watchdog event, reduced to what the watcher needs."""

    event_type: str
    is_directory: bool
    src_path: str
    dest_path: str


class EventForwarder(FileSystemEventHandler):
    """Buffers events on watchdog's thread and hands them to `sink` on the loop, in batches."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sink: Callable[[list[RawEvent]], None]):
        self._loop = loop
        self._sink = sink
        self._buffer: deque[RawEvent] = deque()
        self._scheduled = False

    def dispatch(self, event: FileSystemEvent) -> None:
        """Buffer one event (watchdog's thread) and wake the loop unless a wake-up is on its way."""
        self._buffer.append(
            RawEvent(
                event.event_type,
                event.is_directory,
                os.fsdecode(event.src_path),
                os.fsdecode(event.dest_path),
            )
        )
        if not self._scheduled:
            self._scheduled = True
            with contextlib.suppress(RuntimeError):  # the loop closed while watchdog stops
                self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        # Clear the flag before draining: an event appended after this line schedules a new flush.
        self._scheduled = False
        batch: list[RawEvent] = []
        while self._buffer:
            batch.append(self._buffer.popleft())
        if batch:
            self._sink(batch)


class OverflowSignal(logging.Filter):
    """Calls back when watchdog logs an inotify queue overflow.

    Watchdog rebuilds its watches after an overflow but tells handlers nothing; its warning is
    the only signal, so a filter on its logger listens for it (and lets the record through). The
    warning does not say which observer overflowed: every watcher in the process rescans.
    """

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__()
        self._callback = callback

    def filter(self, record: logging.LogRecord) -> bool:
        """Spot the overflow warning."""
        if str(record.msg).startswith(_OVERFLOW_MESSAGE):
            self._callback()
        return True

    def install(self) -> None:
        """Start listening."""
        logging.getLogger(_OVERFLOW_LOGGER).addFilter(self)

    def remove(self) -> None:
        """Stop listening."""
        logging.getLogger(_OVERFLOW_LOGGER).removeFilter(self)


def start_observer(
    root: Path,
    handler: FileSystemEventHandler,
    *,
    factory: ObserverFactory | None,
    force_polling: bool,
    polling_interval_s: float,
    skip_dir: Callable[[str], bool],
) -> tuple[BaseObserver, WatchMode]:
    """Watch `root` recursively without following links; fall back to polling at inotify's limit."""
    if not force_polling:
        observer: BaseObserver | None = None
        try:
            observer = factory() if factory else pruned_observer(skip_dir)
            _schedule_and_start(observer, root, handler)
            return observer, "inotify"
        except OSError as error:
            if error.errno not in LIMIT_ERRNOS:
                raise
            if observer is not None:
                stop_observer(observer)
            logger.warning(
                "Cannot watch %s with inotify (%s); polling every %.1fs instead. To get instant "
                "updates back, raise fs.inotify.max_user_watches / max_user_instances (sysctl).",
                root,
                error.strerror or error,
                polling_interval_s,
            )
    polling = PollingObserverVFS(
        os.lstat, _pruned_listdir(skip_dir), polling_interval=polling_interval_s
    )
    _schedule_and_start(polling, root, handler)
    return polling, "polling"


def stop_observer(observer: BaseObserver) -> None:
    """Stop an observer, even one whose start failed half-way, and wait for its threads."""
    try:
        observer.stop()
        if observer.is_alive():
            observer.join(timeout=5)
    except Exception:
        logger.exception("stopping the file observer failed")


def _schedule_and_start(
    observer: BaseObserver, root: Path, handler: FileSystemEventHandler
) -> None:
    observer.schedule(
        handler, str(root), recursive=True, event_filter=WATCHED_EVENTS, follow_symlink=False
    )
    observer.start()


def _pruned_listdir(
    skip_dir: Callable[[str], bool],
) -> Callable[[str | None], Iterator[os.DirEntry]]:
    # Polling walks the whole tree every interval: leave ignored folders (node_modules) out of it.
    def listdir(path: str | None) -> Iterator[os.DirEntry]:
        with os.scandir(path) as entries:
            kept = [
                entry
                for entry in entries
                if not (entry.is_dir(follow_symlinks=False) and skip_dir(entry.path))
            ]
        return iter(kept)

    return listdir
