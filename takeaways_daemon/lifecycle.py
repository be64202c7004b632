"""Start and stop a project's daemon: spawn it, wait until it answers, or find the one running.

The CLI (`takeaways start|stop`) and the TUI both call these functions and read the typed
results; nobody parses another process's output to learn who owns the daemon. The daemon's own
output goes to its log file, never to the caller's terminal (a TUI's screen would be scribbled
over).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord

POLL_S = 0.1
# What a daemon that is still starting (or a crashed one's stale record) looks like to a client.
_NOT_ANSWERING_YET = (TakeawaysError, httpx.HTTPError, OSError, ValueError)


class DaemonStartFailed(TakeawaysError):
    """The daemon could not start, or did not answer in time (its log says why)."""

    def __init__(self, message: str, *, reason: str = "", log: Path | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        """The daemon's own error line (what it printed before exiting), with its fixes; or ""."""
        self.log = log


ERROR_PREFIX = "takeaways: "
"""How the CLI prints a typed error (cli/main.py): the daemon's own last word in its log."""


def daemon_error(log_text: str) -> str:
    """The daemon's own error in the log text it wrote at start: its last `takeaways: …` line.

    >>> daemon_error("INFO started\\ntakeaways: wrong passphrase for keys.json\\n")
    'wrong passphrase for keys.json'
    """
    for line in reversed(log_text.splitlines()):
        if line.startswith(ERROR_PREFIX):
            return line.removeprefix(ERROR_PREFIX).strip()
    return ""


class DaemonStartCancelled(TakeawaysError):
    """The caller gave up waiting (say, the TUI was closed); the daemon keeps starting."""


@dataclass(frozen=True)
class StartResult:
    """A daemon that answers, and whether this call started it."""

    started_here: bool
    """True when this call spawned it; False when one already served the project."""
    pid: int
    address: str
    """`unix:/path/to/api.sock` or `http://127.0.0.1:PORT`."""
    root: Path
    log: Path


@dataclass(frozen=True)
class StopResult:
    """The daemon that was stopped."""

    pid: int
    root: Path


def start(
    root: Path,
    *,
    timeout: float = 60.0,
    cancelled: Callable[[], bool] = lambda: False,
    environment: Mapping[str, str] | None = None,
) -> StartResult:
    """Make sure a daemon serves `root` and answers; spawn one in the background if none runs.

    `cancelled` is polled while waiting, so a caller that quits need not wait for a model to
    load; the daemon runs in its own session and keeps starting. `environment` adds variables
    (settings overrides such as `--model`) to a daemon started here.
    """
    files = ProjectFiles(root)
    if files.is_locked():
        return _result(_wait_until_answering(files, None, timeout, cancelled), started_here=False)
    files.prepare()
    with files.log.open("ab") as log:
        log_start = log.tell()  # what this daemon writes starts here: earlier runs' errors are old
        process = subprocess.Popen(
            [sys.executable, "-m", "takeaways_daemon", "serve", str(files.root)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            env={**os.environ, **(environment or {})},
        )  # fmt: skip
    record = _wait_until_answering(files, process, timeout, cancelled, log_start)
    return _result(record, started_here=record.pid == process.pid)


def stop(root: Path, timeout: float = 15.0) -> StopResult:
    """SIGTERM the daemon serving `root` and wait until it has let go of the project.

    Raises `DaemonNotRunning` when none runs, `TakeawaysError` when it outlives `timeout`.
    """
    files = ProjectFiles(root)
    record = files.read_runtime()
    # It may have exited between reading the record and the signal: stopped all the same.
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while files.is_locked():
        if time.monotonic() > deadline:
            raise TakeawaysError(f"daemon {record.pid} did not stop within {timeout:.0f} s")
        time.sleep(0.05)
    return StopResult(pid=record.pid, root=files.root)


def _wait_until_answering(
    files: ProjectFiles,
    process: subprocess.Popen[bytes] | None,
    timeout: float,
    cancelled: Callable[[], bool],
    log_start: int = 0,
) -> RuntimeRecord:
    """Poll until some daemon for the project answers `/health`; return its record.

    With `process` (the daemon we spawned), its early exit is a failure, unless another
    daemon won the race for the project lock, which then counts as already running.
    """
    deadline = time.monotonic() + timeout
    while True:
        record = _answering_record(files)
        # While our daemon lives, a record naming another pid is a crashed daemon's leftover.
        if record is not None and (process is None or record.pid == process.pid):
            return record
        if process is not None and process.poll() is not None:
            if files.is_locked():
                process = None  # another daemon holds the project: wait for that one instead
                continue
            written = _log_since(files.log, log_start)
            reason = daemon_error(written)
            summary = reason or f"code {process.returncode}; the end of its log:\n{written[-2000:]}"
            raise DaemonStartFailed(
                f"the daemon exited at start: {summary}\n(log: {files.log})",
                reason=reason, log=files.log,
            )  # fmt: skip
        if process is None and not files.is_locked():
            raise DaemonStartFailed(f"the daemon serving {files.root} exited; see {files.log}")
        if cancelled():
            raise DaemonStartCancelled("stopped waiting while the daemon was starting")
        if time.monotonic() > deadline:
            raise DaemonStartFailed(
                f"the daemon did not answer within {timeout:.0f} s; see {files.log}"
            )
        time.sleep(POLL_S)


def _log_since(log: Path, offset: int) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def _answering_record(files: ProjectFiles) -> RuntimeRecord | None:
    """The running daemon's record if it answers now, else None (still starting, or stale)."""
    try:
        with DaemonClient.for_project(files.root, timeout=2) as client:
            client.health()
            return client.record
    except _NOT_ANSWERING_YET:
        return None


def _result(record: RuntimeRecord, *, started_here: bool) -> StartResult:
    return StartResult(
        started_here=started_here, pid=record.pid, address=record.address,
        root=Path(record.root), log=Path(record.log_file),
    )  # fmt: skip
