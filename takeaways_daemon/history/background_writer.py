"""History writes off the event loop: one thread, in order, waiting out other writers.

`takeaways keys rotate` or a large purge in another process holds SQLite's write lock for as long
as it runs. Writing from the daemon's event loop would freeze its API meanwhile, and giving up
after SQLite's busy timeout would lose the row. So the daemon hands each write to this thread,
which keeps order and retries a locked database until `patience_s` runs out.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable

from takeaways_daemon.metrics import Metrics

log = logging.getLogger(__name__)


def is_lock_error(error: BaseException) -> bool:
    """Whether SQLite refused because another connection holds the database."""
    return isinstance(error, sqlite3.OperationalError) and (
        "locked" in str(error) or "busy" in str(error)
    )


class BackgroundWriter:
    """Runs submitted writes one at a time on its own thread, retrying while the db is locked."""

    def __init__(self, metrics: Metrics, *, patience_s: float = 600.0) -> None:
        self.metrics = metrics
        self.patience_s = patience_s
        self._queue: queue.Queue[tuple[str, Callable[[], object]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()

    def submit(self, what: str, action: Callable[[], object]) -> None:
        """Queue `action`; `what` names it in the log if it fails."""
        self._queue.put((what, action))

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every write submitted so far is done; False if that took too long."""
        done = threading.Event()
        self._queue.put(("flush", done.set))
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 30.0) -> None:
        """Finish the queued writes, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("history: %d writes still queued at shutdown", self._queue.qsize())

    @property
    def pending(self) -> int:
        """Writes waiting (for `status`)."""
        return self._queue.qsize()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            self._run_one(*item)

    def _run_one(self, what: str, action: Callable[[], object]) -> None:
        deadline = time.monotonic() + self.patience_s
        delay = 0.05
        while True:
            try:
                action()
                return
            except Exception as error:
                if is_lock_error(error) and time.monotonic() < deadline:
                    self.metrics.count("history_lock_waits")
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                self.metrics.count("history_errors")
                log.error("history: %s failed: %s", what, error)
                return
