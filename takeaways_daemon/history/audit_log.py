"""An append-only, hash-chained audit log of sensitive actions, kept in the history database.

Each entry carries the MAC of the one before it; the MAC is HMAC-SHA256 under an audit key held
in the key store (keyring), so nobody without the keyring can rewrite the chain to hide an edit,
a deletion or a reordering. The log lives in the same database as the rows so an action and its
entry commit in one transaction (a purge is never unrecorded). What a chain alone cannot show is
a cut tail, so the last entry's sequence and MAC (the head) are also written to the key store
after each commit: a log shorter than its head, or whose entry at the head differs, was cut.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from takeaways_daemon.history.data_key import KeyStore, audit_head_name, audit_key_name
from takeaways_daemon.history.errors import KeyMissing

GENESIS = "0" * 64
SENSITIVE_ACTIONS = ("export", "purge", "retention", "key_rotation", "apply_patch", "training_use")


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action."""

    seq: int
    at: float
    action: str
    details: dict[str, Any]
    prev_mac: str
    mac: str


@dataclass
class AuditReport:
    """What `takeaways audit verify` found."""

    entries: int
    head_seq: int | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the chain is whole and reaches the recorded head."""
        return not self.problems


def entry_mac(key: bytes, seq: int, at: float, action: str, details: str, prev_mac: str) -> str:
    """The MAC binding an entry's content, position and predecessor."""
    message = json.dumps([seq, repr(at), action, details, prev_mac]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class AuditLog:
    """Appends and verifies entries; appends join the caller's open transaction."""

    def __init__(self, db: sqlite3.Connection, keys: KeyStore, store_id: str) -> None:
        self._db = db
        self._keys = keys
        self._store_id = store_id
        key = keys.get(audit_key_name(store_id))
        if key is None:
            raise KeyMissing(
                f"the audit key of history store {store_id} is missing from {keys.description}; "
                "restore the keyring, or move the history database aside to start a new one"
            )
        self._key = key

    def append(self, action: str, details: dict[str, Any]) -> AuditEntry:
        """Add an entry inside the current transaction; call `publish_head` after commit."""
        last = self._db.execute("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
        row = last.fetchone()
        seq, prev_mac = (row[0] + 1, row[1]) if row else (1, GENESIS)
        at = time.time()
        text = json.dumps(details, sort_keys=True)
        mac = entry_mac(self._key, seq, at, action, text, prev_mac)
        self._db.execute(
            "INSERT INTO audit_log (seq, at, action, details, prev_mac, mac) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (seq, at, action, text, prev_mac, mac),
        )
        return AuditEntry(seq, at, action, details, prev_mac, mac)

    def head(self) -> tuple[int, str] | None:
        """The last entry the key store knows of, as (seq, mac)."""
        value = self._keys.get(audit_head_name(self._store_id))
        if value is None:
            return None
        seq, mac = value.decode().split(":", 1)
        return int(seq), mac

    def publish_head(self, entry: AuditEntry) -> None:
        """Record `entry` as the head, unless a later one already is (another process)."""
        current = self.head()
        if current is None or current[0] < entry.seq:
            self._keys.put(audit_head_name(self._store_id), f"{entry.seq}:{entry.mac}".encode())

    def entries(self) -> list[AuditEntry]:
        """Every entry in order (details parsed; unparseable ones as `{"raw": ...}`)."""
        rows = self._db.execute(
            "SELECT seq, at, action, details, prev_mac, mac FROM audit_log ORDER BY seq"
        )
        result = []
        for seq, at, action, details, prev_mac, mac in rows:
            try:
                parsed = json.loads(details)
            except ValueError:
                parsed = {"raw": details}
            result.append(AuditEntry(seq, at, action, parsed, prev_mac, mac))
        return result

    def verify(self) -> AuditReport:
        """Check every MAC, the links between entries, and that the log reaches its head."""
        rows = self._db.execute(
            "SELECT seq, at, action, details, prev_mac, mac FROM audit_log ORDER BY seq"
        ).fetchall()
        head = self.head()
        report = AuditReport(entries=len(rows), head_seq=head[0] if head else None)
        expected_seq, expected_prev = 1, GENESIS
        macs: dict[int, str] = {}
        for seq, at, action, details, prev_mac, mac in rows:
            if seq != expected_seq:
                report.problems.append(
                    f"entries {expected_seq}..{seq - 1} are missing (deleted)"
                    if seq > expected_seq
                    else f"entry {seq} is out of order"
                )
            if prev_mac != expected_prev:
                report.problems.append(f"entry {seq} does not follow the entry before it")
            if not hmac.compare_digest(
                mac, entry_mac(self._key, seq, at, action, details, prev_mac)
            ):
                report.problems.append(f"entry {seq} ({action}) was edited: its MAC is wrong")
            macs[seq] = mac
            expected_seq, expected_prev = seq + 1, mac
        if head is not None:
            head_seq, head_mac = head
            if head_seq not in macs:
                report.problems.append(
                    f"the log ends at entry {expected_seq - 1} but the keyring's head is entry "
                    f"{head_seq}: entries were cut from the end"
                )
            elif not hmac.compare_digest(macs[head_seq], head_mac):
                report.problems.append(f"entry {head_seq} differs from the head in the keyring")
        return report
