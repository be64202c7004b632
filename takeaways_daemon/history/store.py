"""The encrypted history store: SQLite in WAL mode, one sealed summary and detail per row.

Opening checks the data key against a sealed known value before anything is written, so a
wrong or missing key leaves the file untouched. Every write is one transaction; `synchronous =
NORMAL` in WAL mode makes a committed write survive the process being killed (a power cut may
lose the last few). Each transaction re-reads which key generation is current, so a daemon keeps
working across a `takeaways keys rotate` run by another process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from takeaways_daemon import locations
from takeaways_daemon.history import migrations
from takeaways_daemon.history.apply_journal import ApplyJournal
from takeaways_daemon.history.audit_log import AuditEntry, AuditLog, AuditReport
from takeaways_daemon.history.data_key import (
    KeyringKeyStore,
    KeyStore,
    PassphraseFileKeyStore,
    audit_key_name,
    data_key_name,
)
from takeaways_daemon.history.errors import HistoryError, KeyMissing, TamperedRecord, WrongKey
from takeaways_daemon.history.record_cipher import RecordCipher, new_data_key
from takeaways_daemon.history.records import (
    DETAIL_FIELDS,
    SUMMARY_FIELDS,
    HistoryRecord,
    Outcome,
)
from takeaways_daemon.settings import HistorySettings

PAYLOAD_VERSION = 1
"""Version of the sealed payload layout; part of every field's associated data."""
COLUMNS = (
    "uid, id, created_at, updated_at, kind, outcome, rating, latency_ms, payload_version, "
    "summary, detail"
)


class NoHistory(HistoryError):
    """There is no history database yet."""


def row_binding(uid: str, kind: str, created_at: float) -> str:
    """What a row's sealed fields are bound to: its unique key and its never-changing columns."""
    return f"{uid}|{kind}|{created_at!r}"


def key_store_for(settings: HistorySettings) -> KeyStore:
    """The key store the settings choose (keyring unless the passphrase file is opted into)."""
    if settings.key_source == "passphrase-file":
        return PassphraseFileKeyStore(settings.key_file or locations.history_key_file())
    return KeyringKeyStore(settings.keyring_service, timeout_s=settings.keyring_timeout_s)


class HistoryStore:
    """Suggestion history, sealed with AES-GCM under a data key from a `KeyStore`."""

    def __init__(self, path: Path, keys: KeyStore, *, create: bool = True) -> None:
        self.path = path
        self.keys = keys
        created = False
        if not path.exists():
            if not create:
                raise NoHistory(f"no history yet at {path}; the daemon records it as it works")
            locations.ensure_private_dir(path.parent)
            # Created 0600 before SQLite opens it; the -wal and -shm files copy this mode.
            with contextlib.suppress(FileExistsError):  # another process just created it
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                created = True
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA secure_delete = ON")
            self.store_id, self._key_id, self._cipher = self._open_or_create()
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self.audit = AuditLog(self._db, keys, self.store_id)
        except BaseException:
            self._db.close()
            if created:  # no key, no store: leave nothing behind
                for leftover in (path, path.with_name(path.name + "-journal")):
                    leftover.unlink(missing_ok=True)
            raise

    @classmethod
    def open(cls, settings: HistorySettings, *, create: bool = True) -> HistoryStore:
        """Open the store the settings name (creating it and its key on first use)."""
        path = settings.db_path or locations.history_db_path()
        return cls(path, key_store_for(settings), create=create)

    # --- opening, keys and transactions -----------------------------------------------------------

    def _meta(self, name: str) -> bytes | str | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        except sqlite3.OperationalError:
            return None  # a new file: no meta table yet
        return row[0] if row else None

    def _load_cipher(self, store_id: str, key_id: str) -> RecordCipher:
        key = self.keys.get(data_key_name(store_id, key_id))
        if key is None:
            raise KeyMissing(
                f"the data key of the history at {self.path} is missing from "
                f"{self.keys.description}; restore it, or move the file aside to start over "
                "(its rows cannot be read without the key)"
            )
        cipher = RecordCipher(key)
        check = self._meta("key_check")
        if not isinstance(check, bytes) or not cipher.opens_key_check(store_id, key_id, check):
            raise WrongKey(
                f"the key in {self.keys.description} does not open the history at {self.path}; "
                "restore the right key, or move the file aside to start over"
            )
        return cipher

    def _open_or_create(self) -> tuple[str, str, RecordCipher]:
        store_id, key_id = self._meta("store_id"), self._meta("key_id")
        if isinstance(store_id, str) and isinstance(key_id, str):
            # Existing store: prove the key before anything (a migration) writes to the file.
            cipher = self._load_cipher(store_id, key_id)
            if migrations.pending(self._db):
                with self.write_transaction():
                    migrations.migrate(self._db)
            return store_id, key_id, cipher
        with self.write_transaction():
            # Another process may have set the store up while we waited for the write lock:
            # making a second store id here would orphan the key its rows are sealed with.
            store_id, key_id = self._meta("store_id"), self._meta("key_id")
            if isinstance(store_id, str) and isinstance(key_id, str):
                return store_id, key_id, self._load_cipher(store_id, key_id)
            migrations.migrate(self._db)
            store_id, key_id = secrets.token_hex(8), secrets.token_hex(4)
            cipher = RecordCipher(key := new_data_key())
            self.keys.put(data_key_name(store_id, key_id), key)
            self.keys.put(audit_key_name(store_id), new_data_key())
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
                [
                    ("store_id", store_id),
                    ("key_id", key_id),
                    ("key_check", cipher.key_check(store_id, key_id)),
                    ("created_at", str(time.time())),
                ],
            )
        return store_id, key_id, cipher

    @contextlib.contextmanager
    def write_transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (taking the database's write lock at once)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def read_transaction(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for reading."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    def current_cipher(self) -> RecordCipher:
        """The cipher for the key generation now current (another process may have rotated)."""
        key_id = self._meta("key_id")
        if key_id != self._key_id:
            assert isinstance(key_id, str)
            self._cipher, self._key_id = self._load_cipher(self.store_id, key_id), key_id
        return self._cipher

    def close(self) -> None:
        """Close the database (WAL contents are checkpointed into the main file)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- sealing (also used by maintenance.py) ----------------------------------------------------

    def seal_record(self, cipher: RecordCipher, record: HistoryRecord) -> tuple[bytes, bytes]:
        binding = row_binding(record.uid, record.kind, record.created_at)
        return (
            cipher.seal(binding, PAYLOAD_VERSION, "summary", record.sealed_part(SUMMARY_FIELDS)),
            cipher.seal(binding, PAYLOAD_VERSION, "detail", record.sealed_part(DETAIL_FIELDS)),
        )

    def unseal_row(self, cipher: RecordCipher, row: tuple, *, detail: bool) -> HistoryRecord:
        uid, id_, created_at, updated_at, kind, outcome, rating, latency_ms, version = row[:9]
        clear: dict[str, Any] = {
            "id": id_, "kind": kind, "created_at": created_at, "updated_at": updated_at,
            "outcome": outcome, "rating": rating, "latency_ms": latency_ms, "uid": uid,
        }  # fmt: skip
        record = HistoryRecord(**clear)
        binding = row_binding(uid, kind, created_at)
        try:
            record.fill(cipher.open(binding, version, "summary", row[9]))
            if detail:
                record.fill(cipher.open(binding, version, "detail", row[10]))
        except TamperedRecord:
            # One bad row must not hide the others: report it, with no payload.
            return HistoryRecord(**clear, tampered=True)
        return record

    # --- rows -------------------------------------------------------------------------------------

    def append(self, record: HistoryRecord) -> HistoryRecord:
        """Store a new row (committed when this returns)."""
        record.uid = record.uid or secrets.token_hex(16)
        record.updated_at = record.updated_at or record.created_at
        with self.write_transaction() as db:
            summary, detail = self.seal_record(self.current_cipher(), record)
            db.execute(
                f"INSERT INTO records ({COLUMNS}, size_bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.uid, record.id, record.created_at, record.updated_at, record.kind,
                    record.outcome, record.rating, record.latency_ms, PAYLOAD_VERSION, summary,
                    detail, len(summary) + len(detail),
                ),
            )  # fmt: skip
        return record

    def record_outcome(
        self,
        suggestion_id: str,
        outcome: Outcome | None = None,
        rating: int | None = None,
        *,
        uid: str | None = None,
    ) -> bool:
        """Set the newest row's outcome and/or rating; False if no row has this id.

        Suggestion ids are 32 random bits and repeat over a long history (and across projects):
        a caller that knows the row's own `uid` passes it so that exactly that row changes.
        """
        sets: list[str] = ["updated_at = ?"]
        values: list[object] = [time.time()]
        if outcome is not None:
            sets.append("outcome = ?")
            values.append(outcome)
        if rating is not None:
            sets.append("rating = ?")
            values.append(rating)
        key: tuple[str, ...]
        if uid is not None:
            target, key = "uid = ? AND id = ?", (uid, suggestion_id)
        else:
            target = "uid = (SELECT uid FROM records WHERE id = ? ORDER BY created_at DESC LIMIT 1)"
            key = (suggestion_id,)
        with self.write_transaction() as db:
            cursor = db.execute(
                f"UPDATE records SET {', '.join(sets)} WHERE {target}", (*values, *key)
            )
            return cursor.rowcount > 0

    def get(self, suggestion_id: str) -> HistoryRecord | None:
        """The newest row with this suggestion id, context and prompt included."""
        with self.read_transaction() as db:
            row = db.execute(
                f"SELECT {COLUMNS} FROM records WHERE id = ? ORDER BY created_at DESC LIMIT 1",
                (suggestion_id,),
            ).fetchone()
            return None if row is None else self.unseal_row(self.current_cipher(), row, detail=True)

    def query(
        self,
        *,
        q: str | None = None,
        kind: str | None = None,
        outcome: str | None = None,
        path: str | None = None,
        project: str | None = None,
        limit: int | None = 50,
        offset: int = 0,
        detail: bool = False,
    ) -> tuple[list[HistoryRecord], int]:
        """Rows newest first, filtered, and how many match in all.

        Kind and outcome filter in SQL; text, path and project are sealed, so those filters
        open each candidate row. A tampered row matches no text or path filter, but is kept
        under a project filter so it is reported rather than hidden.
        """
        where, params = ["1 = 1"], []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if outcome:
            where.append("outcome = ?")
            params.append(outcome)
        clause = " AND ".join(where)
        order = "ORDER BY created_at DESC, rowid DESC"
        with self.read_transaction() as db:
            cipher = self.current_cipher()
            if not (q or path or project):
                total = db.execute(f"SELECT count(*) FROM records WHERE {clause}", params)
                page = db.execute(
                    f"SELECT {COLUMNS} FROM records WHERE {clause} {order} LIMIT ? OFFSET ?",
                    (*params, -1 if limit is None else limit, offset),
                )
                count = total.fetchone()[0]
                return [self.unseal_row(cipher, row, detail=detail) for row in page], count
            matched = []
            for row in db.execute(f"SELECT {COLUMNS} FROM records WHERE {clause} {order}", params):
                record = self.unseal_row(cipher, row, detail=detail)
                if record.tampered:
                    keep = not (q or path)
                else:
                    keep = (
                        (not q or record.matches(q))
                        and (not path or record.path == path)
                        and (not project or record.project == project)
                    )
                if keep:
                    matched.append(record)
        end = None if limit is None else offset + limit
        return matched[offset:end], len(matched)

    def iter_all(self, *, detail: bool = True) -> Iterator[HistoryRecord]:
        """Every row, newest first (one snapshot)."""
        records, _ = self.query(limit=None, detail=detail)
        yield from records

    def count(self) -> int:
        """How many rows the store holds."""
        with self.read_transaction() as db:
            return int(db.execute("SELECT count(*) FROM records").fetchone()[0])

    def total_bytes(self) -> int:
        """The rows' sealed payload size, which retention's `max_mb` limits."""
        with self.read_transaction() as db:
            return int(db.execute("SELECT coalesce(sum(size_bytes), 0) FROM records").fetchone()[0])

    def audited(self, action: str, details: dict[str, Any]) -> AuditEntry:
        """Record a sensitive action that happens outside the store (applying a patch, say)."""
        with self.write_transaction():
            entry = self.audit.append(action, details)
        self.audit.publish_head(entry)
        return entry

    def record_apply(
        self, suggestion_id: str, details: dict[str, Any], *, uid: str | None = None
    ) -> AuditEntry:
        """Mark the suggestion's row accepted and audit the apply, in one transaction."""
        key: tuple[str, ...]
        if uid is not None:
            target, key = "uid = ? AND id = ?", (uid, suggestion_id)
        else:
            target = "uid = (SELECT uid FROM records WHERE id = ? ORDER BY created_at DESC LIMIT 1)"
            key = (suggestion_id,)
        with self.write_transaction() as db:
            db.execute(
                f"UPDATE records SET outcome = 'accepted', updated_at = ? WHERE {target}",
                (time.time(), *key),
            )
            entry = self.audit.append("apply_patch", details)
        self.audit.publish_head(entry)
        return entry

    def verify_audit(self) -> AuditReport:
        """The audit log's own check, plus applies that still wait for their entry."""
        report = self.audit.verify()
        for intent in ApplyJournal.beside(self.path).pending():
            report.problems.append(
                f"{intent.describe()} has no audit entry yet; the daemon for that project "
                "records it once the history is writable (or when it next starts)"
            )
        return report

    def integrity_check(self) -> str:
        """SQLite's own check of the file ("ok" when sound)."""
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    @property
    def key_id(self) -> str:
        """The data key generation in use (changes on rotation)."""
        return self._key_id

    def use_key(self, key_id: str, cipher: RecordCipher) -> None:
        """Switch to a new key generation after a committed rotation."""
        self._key_id, self._cipher = key_id, cipher
