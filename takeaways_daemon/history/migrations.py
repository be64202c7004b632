"""Numbered schema migrations, recorded in the database and run (in order, once) on every open.

Add a change as a new `@migration` function at the end; never edit one that has shipped.
Columns that stay in clear text are those queries need (times, kind, outcome, rating, latency,
sizes); everything taken from the user's code or the model is sealed in `summary` and `detail`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[int, str, Migration]] = []


def migration(function: Migration) -> Migration:
    """Register `function` as the next numbered migration."""
    MIGRATIONS.append((len(MIGRATIONS) + 1, function.__name__, function))
    return function


@migration
def create_records_meta_and_audit_log(db: sqlite3.Connection) -> None:
    """Rows, store metadata (ids, key check), and the append-only audit log."""
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
    db.execute(
        """CREATE TABLE records (
            uid TEXT PRIMARY KEY,
            id TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            kind TEXT NOT NULL,
            outcome TEXT NOT NULL,
            rating INTEGER,
            latency_ms REAL NOT NULL,
            payload_version INTEGER NOT NULL,
            summary BLOB NOT NULL,
            detail BLOB NOT NULL,
            size_bytes INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX records_by_time ON records (created_at)")
    # `id` is the live suggestion's short id, unique only among the daemon's current suggestions.
    db.execute("CREATE INDEX records_by_suggestion_id ON records (id)")
    db.execute(
        """CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            action TEXT NOT NULL,
            details TEXT NOT NULL,
            prev_mac TEXT NOT NULL,
            mac TEXT NOT NULL
        )"""
    )
    # Our own code never edits the log; the MAC chain catches anyone who drops these triggers.
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
        )


@migration
def index_records_by_kind_and_outcome(db: sqlite3.Connection) -> None:
    """List filters by kind and outcome without a full scan."""
    db.execute("CREATE INDEX records_by_kind_outcome ON records (kind, outcome, created_at)")


def applied(db: sqlite3.Connection) -> set[int]:
    """Numbers of the migrations this database has run (empty for a new file)."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return set()
    return {row[0] for row in db.execute("SELECT id FROM schema_migrations")}


def pending(db: sqlite3.Connection) -> list[tuple[int, str, Migration]]:
    """Migrations not yet run on this database, in order."""
    done = applied(db)
    return [entry for entry in MIGRATIONS if entry[0] not in done]


def migrate(db: sqlite3.Connection, upto: int | None = None) -> list[str]:
    """Run pending migrations inside the caller's transaction; returns their names."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    names = []
    for number, name, function in pending(db):
        if upto is not None and number > upto:
            break
        function(db)
        db.execute(
            "INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)",
            (number, name, time.time()),
        )
        names.append(name)
    return names
