"""History writes wait out another process's write lock instead of losing the row."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from takeaways_daemon.history.background_writer import BackgroundWriter
from takeaways_daemon.metrics import Metrics


def test_a_write_blocked_by_another_connection_lands_once_the_lock_is_released(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "locked.sqlite3"
    setup = sqlite3.connect(db_path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE rows (n INTEGER)")
    setup.close()

    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # what `keys rotate` does for its whole run
    writer_db = sqlite3.connect(db_path, isolation_level=None, timeout=0.05,
                                check_same_thread=False)  # fmt: skip
    metrics = Metrics()
    writer = BackgroundWriter(metrics, patience_s=30)
    submitted_at = time.monotonic()
    for n in range(3):
        writer.submit("insert", lambda n=n: writer_db.execute("INSERT INTO rows VALUES (?)", (n,)))
    assert time.monotonic() - submitted_at < 1.0, "submitting must never wait for the lock"

    threading.Timer(0.5, lambda: holder.execute("COMMIT")).start()
    assert writer.flush(timeout_s=20)
    writer.close()

    rows = [n for (n,) in sqlite3.connect(db_path).execute("SELECT n FROM rows")]
    assert rows == [0, 1, 2], "every write lands, in order"
    assert metrics.counters.get("history_lock_waits", 0) > 0
    assert metrics.counters.get("history_errors", 0) == 0


def test_a_write_that_fails_for_another_reason_is_counted_and_the_next_still_runs(
    tmp_path: Path,
) -> None:
    metrics = Metrics()
    writer = BackgroundWriter(metrics)
    done: list[str] = []

    def broken() -> None:
        raise ValueError("not a lock problem")

    writer.submit("broken", broken)
    writer.submit("fine", lambda: done.append("fine"))
    writer.close()
    assert done == ["fine"]
    assert metrics.counters["history_errors"] == 1
