"""Whole-store operations, each one transaction with its audit entry: export, purge, retention,
key rotation, and handing rows to training."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from takeaways_daemon.history.data_key import data_key_name
from takeaways_daemon.history.errors import ExportRefused, HistoryError, TamperedRecord
from takeaways_daemon.history.record_cipher import RecordCipher, new_data_key
from takeaways_daemon.history.records import HistoryRecord
from takeaways_daemon.history.store import COLUMNS, PAYLOAD_VERSION, HistoryStore


def export_jsonl(store: HistoryStore, destination: Path, **filters: Any) -> int:
    """Write matching rows, decrypted, as JSON lines to a new 0600 file; audited. Never
    overwrites: the export is plain text, so an existing file is left for the user to judge."""
    records, _ = store.query(limit=None, detail=True, **filters)
    try:
        descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ExportRefused(f"{destination} exists; choose a new file name") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            for record in reversed(records):  # oldest first reads naturally in a file
                handle.write(json.dumps(record.full_item(), ensure_ascii=False) + "\n")
        # The file exists only if its export is on record.
        store.audited(
            "export",
            {"path": str(destination.resolve()), "rows": len(records), "filters": filters},
        )
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    return len(records)


def purge(
    store: HistoryStore,
    *,
    everything: bool = False,
    before: float | None = None,
    ids: tuple[str, ...] = (),
    tampered: bool = False,
) -> int:
    """Delete rows (all, created before a time, by suggestion id, or failing authentication)."""
    if not (everything or before is not None or ids or tampered):
        raise HistoryError("say what to purge: everything, rows before a date, ids, or tampered")
    with store.write_transaction() as db:
        if everything:
            uids = [row[0] for row in db.execute("SELECT uid FROM records")]
        else:
            chosen: set[str] = set()
            if before is not None:
                found = db.execute("SELECT uid FROM records WHERE created_at < ?", (before,))
                chosen.update(row[0] for row in found)
            for suggestion_id in ids:
                found = db.execute("SELECT uid FROM records WHERE id = ?", (suggestion_id,))
                chosen.update(row[0] for row in found)
            if tampered:
                cipher = store.current_cipher()
                for row in db.execute(f"SELECT {COLUMNS} FROM records").fetchall():
                    if store.unseal_row(cipher, row, detail=True).tampered:
                        chosen.add(row[0])
            uids = sorted(chosen)
        db.executemany("DELETE FROM records WHERE uid = ?", [(uid,) for uid in uids])
        criteria = {
            "everything": everything, "before": before, "ids": list(ids), "tampered": tampered,
        }  # fmt: skip
        entry = store.audit.append("purge", {"rows": len(uids), **criteria})
    store.audit.publish_head(entry)
    return len(uids)


def apply_retention(
    store: HistoryStore, *, max_age_days: float, max_mb: float, now: float | None = None
) -> int:
    """Delete rows past the age limit, then the oldest until the size limit holds (0: no limit)."""
    now = time.time() if now is None else now
    with store.write_transaction() as db:
        removed = 0
        if max_age_days > 0:
            cutoff = now - max_age_days * 86400
            removed += db.execute("DELETE FROM records WHERE created_at < ?", (cutoff,)).rowcount
        if max_mb > 0:
            limit = int(max_mb * 1024 * 1024)
            total = db.execute("SELECT coalesce(sum(size_bytes), 0) FROM records").fetchone()[0]
            doomed = []
            if total > limit:
                oldest = db.execute("SELECT uid, size_bytes FROM records ORDER BY created_at")
                for uid, size in oldest:
                    if total <= limit:
                        break
                    doomed.append((uid,))
                    total -= size
            db.executemany("DELETE FROM records WHERE uid = ?", doomed)
            removed += len(doomed)
        if not removed:
            return 0
        details = {"rows": removed, "max_age_days": max_age_days, "max_mb": max_mb}
        entry = store.audit.append("retention", details)
    store.audit.publish_head(entry)
    return removed


def rotate_key(store: HistoryStore) -> int:
    """Re-encrypt every row under a new data key in one transaction; the old key is then
    deleted. The new key is stored first, so a crash at any point leaves a key that opens the
    store in the key store."""
    new_id = secrets.token_hex(4)
    new_key = new_data_key()
    new_cipher = RecordCipher(new_key)
    store.keys.put(data_key_name(store.store_id, new_id), new_key)
    try:
        with store.write_transaction() as db:
            old_cipher, old_id = store.current_cipher(), store.key_id
            updates, bad = [], []
            for row in db.execute(f"SELECT {COLUMNS} FROM records").fetchall():
                record = store.unseal_row(old_cipher, row, detail=True)
                if record.tampered:
                    bad.append(record.id)
                    continue
                summary, detail = store.seal_record(new_cipher, record)
                updates.append((summary, detail, PAYLOAD_VERSION, len(summary) + len(detail),
                                record.uid))  # fmt: skip
            if bad:
                raise TamperedRecord(
                    f"{len(bad)} rows fail authentication ({', '.join(bad[:5])}); nothing was "
                    "rotated; remove them with `takeaways history purge --tampered` first"
                )
            db.executemany(
                "UPDATE records SET summary = ?, detail = ?, payload_version = ?, size_bytes = ? "
                "WHERE uid = ?",
                updates,
            )
            db.executemany(
                "UPDATE meta SET value = ? WHERE name = ?",
                [(new_id, "key_id"), (new_cipher.key_check(store.store_id, new_id), "key_check")],
            )
            entry = store.audit.append(
                "key_rotation", {"rows": len(updates), "old_key_id": old_id, "new_key_id": new_id}
            )
    except BaseException:
        store.keys.delete(data_key_name(store.store_id, new_id))
        raise
    store.use_key(new_id, new_cipher)
    store.keys.delete(data_key_name(store.store_id, old_id))
    store.audit.publish_head(entry)
    return len(updates)


def records_for_training(
    store: HistoryStore, purpose: str, outcomes: tuple[str, ...] = ("accepted",)
) -> list[HistoryRecord]:
    """Rows to train on (accepted ones by default); the use is audited before they are given."""
    chosen: list[HistoryRecord] = []
    for outcome in outcomes:
        records, _ = store.query(outcome=outcome, limit=None, detail=True)
        chosen.extend(record for record in records if not record.tampered)
    store.audited(
        "training_use", {"purpose": purpose, "rows": len(chosen), "outcomes": list(outcomes)}
    )
    return chosen
