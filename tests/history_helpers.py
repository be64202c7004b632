"""Shared pieces of the history tests: a real keyring key store and realistic rows."""

from __future__ import annotations

import secrets
import time

from takeaways_daemon.history.data_key import KeyringKeyStore
from takeaways_daemon.history.records import HistoryRecord

PLANTED = "PLANTED-SECRET-7f3a9c"
"""A string from 'private code' that must never appear in the database file."""


def keyring_keys() -> KeyringKeyStore:
    """The session's real (throwaway) OS keyring, under a service name of its own."""
    return KeyringKeyStore(f"takeaways-test-{secrets.token_hex(4)}")


def make_record(number: int, *, kind: str = "fix", created_at: float | None = None,
                path: str = "calc.py", project: str = "/work/demo") -> HistoryRecord:
    """A row like the daemon writes, with the planted secret in its code and prompt."""
    return HistoryRecord(
        id=f"s{number:07d}",
        kind=kind,
        created_at=time.time() if created_at is None else created_at,
        latency_ms=100.0 + number,
        project=project,
        path=path,
        start_line=1,
        end_line=2,
        title=f"Add the missing colon {number}",
        explanation="The def line lacked its closing colon.",
        diff=f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-def add(a, b)\n+def add(a, b):\n",
        backend="embedded",
        model="gemma-3-270m",
        replacement="def add(a, b):\n",
        original=f"def add(a, b)  # {PLANTED}\n",
        context=f"def add(a, b)  # {PLANTED}\n    return a + b\n",
        prompt=f"### Instruction\nFix the syntax error.\n### Input\n# {PLANTED}\n",
    )  # fmt: skip


def database_bytes(path) -> bytes:  # type: ignore[no-untyped-def]
    """The database and its WAL, as they lie on disk."""
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")
