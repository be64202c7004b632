"""The files that let clients find a project's daemon: lock, pid, token, runtime record, log.

All live in the project's private state folder (0700). The lock is held for the daemon's
whole life, so a second daemon for the same root refuses to start, and a crashed daemon's stale
record is recognised because nobody holds the lock any more.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from takeaways_daemon import locations
from takeaways_daemon.errors import DaemonNotRunning, TakeawaysError


class DaemonAlreadyRunning(TakeawaysError):
    """Another daemon serves this project."""


@dataclass(frozen=True)
class RuntimeRecord:
    """How to reach a running daemon."""

    pid: int
    root: str
    transport: str
    address: str
    """`unix:/path/to/api.sock` or `http://127.0.0.1:PORT`."""
    token_file: str
    log_file: str
    started_at: float


# sun_path holds 108 bytes with its NUL; deep state folders (tests, long home paths) overflow it.
_MAX_SOCKET_PATH = 100


def _socket_path(state_dir: Path) -> Path:
    preferred = state_dir / "api.sock"
    if len(os.fsencode(preferred)) <= _MAX_SOCKET_PATH:
        return preferred
    short_dir = Path(tempfile.gettempdir()) / f"takeaways-{os.getuid()}"
    return short_dir / f"{state_dir.name}.sock"


class ProjectFiles:
    """Paths of one project's daemon files."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.dir = locations.project_state_dir(self.root)
        self.lock = self.dir / "daemon.lock"
        self.pid = self.dir / "daemon.pid"
        self.token = self.dir / "token"
        self.socket = _socket_path(self.dir)
        self.runtime = self.dir / "runtime.json"
        self.log = self.dir / "daemon.log"

    def prepare(self) -> None:
        """Create the private folder."""
        locations.ensure_private_dir(self.dir)
        # The socket may live in a folder under the shared temp folder (see `_socket_path`).
        shared = self.socket.parent != self.dir
        locations.ensure_private_dir(self.socket.parent, in_shared_folder=shared)
        (self.dir / "root").write_text(str(self.root))

    def acquire_lock(self) -> IO[str]:
        """Hold the project lock for as long as the returned handle stays open."""
        self.prepare()
        handle = self.lock.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DaemonAlreadyRunning(
                f"a daemon already serves {self.root}; see `takeaways status {self.root}`"
            ) from None
        return handle

    def is_locked(self) -> bool:
        """True while some daemon holds the lock."""
        if not self.lock.exists():
            return False
        with self.lock.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def new_token(self) -> str:
        """A fresh bearer token in a 0600 file (a new one each start)."""
        token = secrets.token_urlsafe(32)
        self.token.unlink(missing_ok=True)
        descriptor = os.open(self.token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(token)
        return token

    def write_runtime(self, record: RuntimeRecord) -> None:
        """Publish how to reach the daemon (written last, once the API listens)."""
        temp = self.runtime.with_suffix(".tmp")
        temp.write_text(json.dumps(asdict(record), indent=2))
        temp.replace(self.runtime)
        self.pid.write_text(str(record.pid))

    def read_runtime(self) -> RuntimeRecord:
        """The running daemon's record, or `DaemonNotRunning`."""
        if not self.is_locked() or not self.runtime.exists():
            raise DaemonNotRunning(
                f"no daemon runs for {self.root}; start one with `takeaways start {self.root}`"
            )
        data: dict[str, Any] = json.loads(self.runtime.read_text())
        return RuntimeRecord(**data)

    def clear(self) -> None:
        """Remove the records of a daemon that has stopped."""
        for path in (self.runtime, self.pid, self.socket, self.token):
            path.unlink(missing_ok=True)
