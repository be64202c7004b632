"""Applies and their audit entries never part: an intent is on disk before a file is patched.

A suggestion's audit entry is written by the history writer thread, which may wait minutes for
another process's write lock (`takeaways keys rotate` holds it). A daemon killed meanwhile left
a patched file with no audit entry, its row "ignored", and `audit verify` saying intact. So before
patching, the daemon writes an intent file (fsynced) naming the suggestion, its file and the
file's hash before and after; it is removed once the audit entry has committed. The next daemon
for that project settles what is left (`settle_leftovers`), and `audit verify` reports intents
still waiting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from takeaways_daemon import locations
from takeaways_daemon.errors import PatchRejected
from takeaways_daemon.history.background_writer import is_lock_error
from takeaways_daemon.patches import (
    read_source,
    remove_leftover_temp_files,
    resolve_inside,
    sha256_text,
)

if TYPE_CHECKING:
    from takeaways_daemon.history.store import HistoryStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyIntent:
    """An apply about to happen (or that happened without its audit entry yet)."""

    suggestion_id: str
    kind: str
    project: str
    path: str
    before_sha256: str
    after_sha256: str
    row_uid: str | None
    at: float
    name: str
    """The intent's file name in the journal."""

    def describe(self) -> str:
        """One line for `audit verify`."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.at))
        return f"suggestion {self.suggestion_id} applied to {self.project}/{self.path} at {when}"


class ApplyJournal:
    """A private folder of intent files, one per apply whose audit entry is not yet committed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def beside(cls, database: Path) -> ApplyJournal:
        """The journal of the history database at `database`."""
        return cls(database.with_name(database.name + ".applying"))

    def begin(
        self,
        *,
        suggestion_id: str,
        kind: str,
        project: Path,
        path: str,
        before_sha256: str,
        after_text: str,
        row_uid: str | None,
    ) -> ApplyIntent:
        """Durably record that `path` is about to be patched (call right before writing it)."""
        locations.ensure_private_dir(self.folder)
        intent = ApplyIntent(
            suggestion_id=suggestion_id, kind=kind, project=str(project), path=path,
            before_sha256=before_sha256, after_sha256=sha256_text(after_text), row_uid=row_uid,
            at=time.time(), name=f"{time.time_ns()}-{secrets.token_hex(4)}.json",
        )  # fmt: skip
        temporary = self.folder / f".{intent.name}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(asdict(intent), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.folder / intent.name)
        _sync_folder(self.folder)  # the rename itself must survive a crash too
        return intent

    def done(self, intent: ApplyIntent) -> None:
        """The audit entry committed (or the patch never landed): forget the intent."""
        (self.folder / intent.name).unlink(missing_ok=True)

    def pending(self, project: Path | None = None) -> list[ApplyIntent]:
        """Intents not yet settled, oldest first (of one project, or of all)."""
        found: list[ApplyIntent] = []
        if not self.folder.is_dir():
            return found
        for file in sorted(self.folder.glob("*.json")):
            try:
                intent = ApplyIntent(**json.loads(file.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as error:
                log.warning("unreadable apply intent %s: %s", file.name, error)
                continue
            if project is None or intent.project == str(project):
                found.append(intent)
        return found


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _current_sha256(project: Path, relative: str) -> str | None:
    try:
        return sha256_text(read_source(resolve_inside(project, relative)))
    except Exception:  # gone, unreadable, replaced by something else: it matches neither hash
        return None


def settle_leftovers(journal: ApplyJournal, history: HistoryStore, project: Path) -> int:
    """Audit the applies a killed daemon left unaudited (marking their rows accepted).

    Returns how many were recorded. A file still holding its old text was never patched, so its
    intent is just dropped; one holding neither text is audited as unconfirmed. Intents whose
    entry cannot be written now (the database is locked) are kept for the next start.
    """
    recorded = 0
    for intent in journal.pending(project):
        # A kill inside the write left its temp file beside the target: not the user's file.
        with contextlib.suppress(OSError, PatchRejected):
            remove_leftover_temp_files(resolve_inside(project, intent.path))
        current = _current_sha256(project, intent.path)
        if current == intent.before_sha256:
            journal.done(intent)
            continue
        details = {
            "id": intent.suggestion_id,
            "kind": intent.kind,
            "recovered": True,
            "file_matches_patch": current == intent.after_sha256,
        }
        try:
            history.record_apply(intent.suggestion_id, details, uid=intent.row_uid)
        except sqlite3.OperationalError as error:
            if not is_lock_error(error):
                raise
            # Another process holds the history: starting must not wait on it. The intent stays,
            # `audit verify` reports it, and the next start records it (and marks the row).
            log.warning("history busy; the apply of %s is audited later", intent.suggestion_id)
            continue
        journal.done(intent)
        recorded += 1
    if recorded:
        log.warning("recorded %d apply(s) left unaudited by a daemon that stopped", recorded)
    return recorded
