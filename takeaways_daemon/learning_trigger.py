"""When the daemon starts an automatic learning round, and when it cancels one.

The daemon never imports training: a round is the command `takeaways learn now --auto`, started
as a child process at the lowest CPU priority (nice 19) so suggestions are never blocked. A round
starts only when learning is on, K new suggestions were accepted since the last round, the
machine is idle (1-minute load per core under the setting) and the daemon's own queue has been
empty for a while. If the queue stays busy while a round runs (the user is working hard again),
the round is terminated; rounds are safe to kill at any point, and the next starts clean.
Settings are re-read at each check, so `takeaways learn on|off` takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from takeaways_daemon import locations
from takeaways_daemon.learning_paths import last_cursor
from takeaways_daemon.settings import LearningSettings, Settings, load_settings
from takeaways_daemon.wire import LearningView

if TYPE_CHECKING:
    from takeaways_daemon.history.store import HistoryStore

log = logging.getLogger(__name__)

ROUND_COMMAND = ("learn", "now", "--auto")
STAGE_MARKER = "learn: stage "
"""How a round announces each stage on stderr (the round's log); the status shows the last."""
BUSY_CHECKS_TO_CANCEL = 3
RETRY_AFTER_FAILURE_S = 3600.0
"""A round that failed is not retried for this long (it would likely fail again at once)."""
"""Consecutive checks with work queued, while a round runs, that cancel it."""


class RoundProcess(Protocol):
    """The running round, as far as the trigger needs it (a `subprocess.Popen`)."""

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...


def accepted_since(store: HistoryStore, cursor: float) -> int:
    """Accepted suggestions changed after `cursor` (counted in SQL: nothing is decrypted)."""
    with store.read_transaction() as db:
        row = db.execute(
            "SELECT count(*) FROM records WHERE outcome = 'accepted' AND updated_at > ?", (cursor,)
        ).fetchone()
    return int(row[0])


def load_per_core() -> float:
    """The 1-minute load average divided by the cores this process may use."""
    return os.getloadavg()[0] / max(1, len(os.sched_getaffinity(0)))


def round_log() -> Path:
    """Where automatic rounds write their progress."""
    return locations.state_dir() / "learning" / "round.log"


def current_stage(log_path: Path) -> str | None:
    """The stage the round's log announced last (read from its last 4 KiB)."""
    try:
        with log_path.open("rb") as handle:
            handle.seek(max(0, log_path.stat().st_size - 4096))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    stages = [
        line[len(STAGE_MARKER) :] for line in tail.splitlines() if line.startswith(STAGE_MARKER)
    ]
    return stages[-1].split(" ")[0] if stages else None


def start_round_process(command: list[str]) -> subprocess.Popen[bytes]:
    """Start the round at nice 19, its output appended to the learning log."""
    log_path = round_log()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    nice = shutil.which("nice")
    argv = [nice, "-n", "19", *command] if nice else command
    with log_path.open("ab") as output:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True
        )


def round_command() -> list[str]:
    """`takeaways learn now --auto`, run by this interpreter."""
    launcher = "from takeaways_daemon.cli.main import main; main()"
    return [sys.executable, "-c", launcher, *ROUND_COMMAND]


class LearningTrigger:
    """Decides, at each check, whether to start or cancel an automatic round."""

    def __init__(
        self,
        settings: Settings,
        *,
        queue_depth: Callable[[], int],
        history: HistoryStore | None = None,
        start: Callable[[list[str]], RoundProcess | None] = start_round_process,
        load_per_core: Callable[[], float] = load_per_core,
        reload_settings: Callable[[], LearningSettings] | None = None,
    ) -> None:
        self._settings = settings.learning
        self._reload = reload_settings or (lambda: load_settings().learning)
        self._queue_depth = queue_depth
        self._history = history
        self._start = start
        self._load = load_per_core
        self._process: RoundProcess | None = None
        self._queue_busy_since_check = 0
        self._last_busy = time.monotonic()
        self._retry_at = 0.0
        self.last_decision = "not checked yet"
        self.rounds_started = 0

    def check(self, now: float | None = None) -> str:
        """One decision (returned, and kept for `status`)."""
        now = time.monotonic() if now is None else now
        with contextlib.suppress(Exception):  # a broken config file keeps the last settings
            self._settings = self._reload()
        learning = self._settings
        busy = self._queue_depth() > 0
        if busy:
            self._last_busy = now
        self.last_decision = self._decide(learning, busy, now)
        return self.last_decision

    def _decide(self, learning: LearningSettings, busy: bool, now: float) -> str:
        if self._process is not None and self._process.poll() is None:
            self._queue_busy_since_check = self._queue_busy_since_check + 1 if busy else 0
            if not learning.enabled or self._queue_busy_since_check >= BUSY_CHECKS_TO_CANCEL:
                self.cancel()
                return (
                    "cancelled: learning turned off" if not learning.enabled else "cancelled: busy"
                )
            return "round running"
        if self._process is not None and self._process.poll() not in (0, None):
            self._retry_at = now + RETRY_AFTER_FAILURE_S  # see the round's log for why
        self._process = None
        if not learning.enabled:
            return "off"
        if self._history is None:
            return "no history to learn from"
        waiting = accepted_since(self._history, last_cursor())
        if waiting < learning.accepted_per_round:
            return f"waiting: {waiting}/{learning.accepted_per_round} accepted"
        if now < self._retry_at:
            return f"waiting: the last round failed; retrying in {self._retry_at - now:.0f} s"
        if now - self._last_busy < learning.idle_queue_s:
            return "waiting: the daemon was busy recently"
        if (load := self._load()) >= learning.idle_max_load:
            return f"waiting: load {load:.2f} per core"
        self._process = self._start(round_command())
        self._queue_busy_since_check = 0
        self.rounds_started += 1
        return "round started"

    def cancel(self) -> None:
        """Stop a running round (SIGTERM to its process group; it is safe to kill)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        pid = getattr(process, "pid", None)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if pid is not None:
                os.killpg(pid, signal.SIGTERM)
            else:
                process.send_signal(signal.SIGTERM)

    async def run(self) -> None:
        """Check every `check_interval_s` until cancelled (then stop a running round)."""
        try:
            while True:
                await asyncio.sleep(self._settings.check_interval_s)
                try:
                    self.check()
                except Exception:  # the trigger must never take the daemon down
                    log.exception("learning trigger check failed")
        finally:
            self.cancel()

    def status(self) -> LearningView:
        """What `takeaways status` and the TUI show about learning."""
        running = self._process is not None and self._process.poll() is None
        decision = self.last_decision
        if self._process is not None and not running:  # ended since the last check
            code = self._process.poll()
            decision = "round finished" if code == 0 else f"round failed (exit {code})"
        return LearningView(
            enabled=self._settings.enabled,
            round_running=running,
            stage=current_stage(round_log()) if running else None,
            last_decision=decision,
            rounds_started=self.rounds_started,
        )
