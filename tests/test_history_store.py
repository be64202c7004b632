"""Specification of the encrypted history store, on real SQLite files with keys in the real
(throwaway) OS keyring."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from history_helpers import PLANTED, database_bytes, keyring_keys, make_record

from takeaways_daemon.history import maintenance, migrations
from takeaways_daemon.history.data_key import KeyringKeyStore, data_key_name
from takeaways_daemon.history.errors import ExportRefused, HistoryError
from takeaways_daemon.history.stats import history_stats
from takeaways_daemon.history.store import HistoryStore, NoHistory


@pytest.fixture
def keys() -> KeyringKeyStore:
    return keyring_keys()


@pytest.fixture
def store(tmp_path: Path, keys: KeyringKeyStore) -> HistoryStore:
    opened = HistoryStore(tmp_path / "history.sqlite3", keys)
    yield opened
    opened.close()


class TestStorage:
    def test_a_new_store_is_a_private_wal_database(self, store: HistoryStore) -> None:
        assert store.path.stat().st_mode & 0o777 == 0o600
        with sqlite3.connect(store.path) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def test_rows_come_back_newest_first_with_every_field(self, store: HistoryStore) -> None:
        base = time.time()
        for number in range(3):
            store.append(make_record(number, created_at=base + number))
        records, total = store.query()
        assert total == 3
        assert [r.id for r in records] == ["s0000002", "s0000001", "s0000000"]
        full = store.get("s0000001")
        assert full is not None
        assert full.title == "Add the missing colon 1"
        assert PLANTED in full.context and PLANTED in full.prompt
        assert full.replacement == "def add(a, b):\n"
        assert full.latency_ms == 101.0 and full.model == "gemma-3-270m"
        assert not full.tampered

    def test_the_planted_secret_and_the_key_never_reach_the_file(
        self, store: HistoryStore, keys: KeyringKeyStore
    ) -> None:
        for number in range(20):
            store.append(make_record(number))
        key = keys.get(data_key_name(store.store_id, store.key_id))
        assert key is not None and len(key) == 32
        on_disk = database_bytes(store.path)
        assert PLANTED.encode() not in on_disk
        assert b"missing colon" not in on_disk  # titles are sealed too
        assert key not in on_disk and base64.b64encode(key) not in on_disk
        assert key.hex().encode() not in on_disk

    def test_outcome_and_rating_are_recorded_on_the_newest_row(self, store: HistoryStore) -> None:
        store.append(make_record(1))
        assert store.record_outcome("s0000001", "accepted", 1)
        assert not store.record_outcome("nope", "rejected")
        record = store.get("s0000001")
        assert record is not None
        assert (record.outcome, record.rating) == ("accepted", 1)
        assert record.updated_at >= record.created_at

    def test_processes_opening_a_new_store_at_once_share_one_store_and_key(
        self, tmp_path: Path, keys: KeyringKeyStore
    ) -> None:
        """Threads stand in for the daemon and a CLI run racing to create the file."""
        path = tmp_path / "history.sqlite3"
        start = threading.Barrier(4)

        def open_and_append(number: int) -> str:
            start.wait()
            with HistoryStore(path, keys) as racer:
                racer.append(make_record(number))
                return racer.store_id

        with ThreadPoolExecutor(4) as pool:
            store_ids = set(pool.map(open_and_append, range(4)))
        assert len(store_ids) == 1
        with HistoryStore(path, keys) as reopened:
            records = list(reopened.iter_all())
        assert sorted(r.id for r in records) == [f"s{n:07d}" for n in range(4)]
        assert not any(r.tampered for r in records)

    def test_missing_database_is_not_created_by_readers(self, tmp_path: Path) -> None:
        with pytest.raises(NoHistory, match="no history yet"):
            HistoryStore(tmp_path / "none.sqlite3", keyring_keys(), create=False)
        assert not (tmp_path / "none.sqlite3").exists()


class TestQueries:
    def test_filters_by_kind_outcome_path_and_project(self, store: HistoryStore) -> None:
        store.append(make_record(1, kind="fix", path="a.py"))
        store.append(make_record(2, kind="docstring", path="b.py"))
        store.append(make_record(3, kind="fix", path="b.py", project="/other"))
        store.record_outcome("s0000003", "rejected")
        assert [r.id for r in store.query(kind="docstring")[0]] == ["s0000002"]
        assert [r.id for r in store.query(outcome="rejected")[0]] == ["s0000003"]
        assert {r.id for r in store.query(path="b.py")[0]} == {"s0000002", "s0000003"}
        assert {r.id for r in store.query(project="/work/demo")[0]} == {"s0000001", "s0000002"}

    def test_search_is_a_case_insensitive_substring_of_decrypted_text(
        self, store: HistoryStore
    ) -> None:
        store.append(make_record(1))
        special = make_record(2)
        special.explanation = "Uses the Walrus operator"
        store.append(special)
        assert [r.id for r in store.query(q="walrus OPERATOR")[0]] == ["s0000002"]
        assert [r.id for r in store.query(q="B/CALC.PY")[0]] == ["s0000002", "s0000001"]
        assert store.query(q="nothing like this")[1] == 0

    def test_paging_reports_the_total(self, store: HistoryStore) -> None:
        for number in range(7):
            store.append(make_record(number, created_at=1000.0 + number))
        page, total = store.query(limit=3, offset=3)
        assert total == 7
        assert [r.id for r in page] == ["s0000003", "s0000002", "s0000001"]
        page, total = store.query(q="colon", limit=2, offset=6)
        assert (total, [r.id for r in page]) == (7, ["s0000000"])

    def test_stats_count_kinds_outcomes_ratings_and_latency(self, store: HistoryStore) -> None:
        for number, kind in enumerate(["fix", "fix", "docstring", "explain"]):
            store.append(make_record(number, kind=kind))
        store.record_outcome("s0000000", "accepted", 1)
        store.record_outcome("s0000001", "rejected", -1)
        store.record_outcome("s0000002", "accepted")
        numbers = history_stats(store)
        assert numbers["total"] == 4
        assert numbers["by_kind"] == {"fix": 2, "docstring": 1, "explain": 1}
        assert numbers["outcomes"] == {"accepted": 2, "rejected": 1, "open": 1}
        assert numbers["acceptance_rate"] == pytest.approx(2 / 3)
        assert numbers["ratings"] == {"up": 1, "down": 1}
        assert numbers["latency_ms"] == {"p50": 101.0, "p95": 103.0}
        assert history_stats(store, project="/elsewhere")["total"] == 0


class TestMaintenance:
    def test_export_writes_decrypted_jsonl_once_and_is_audited(
        self, store: HistoryStore, tmp_path: Path
    ) -> None:
        store.append(make_record(1))
        store.append(make_record(2, kind="docstring"))
        target = tmp_path / "out.jsonl"
        assert maintenance.export_jsonl(store, target, kind="fix") == 1
        rows = [json.loads(line) for line in target.read_text().splitlines()]
        assert rows[0]["id"] == "s0000001" and PLANTED in rows[0]["prompt"]
        assert target.stat().st_mode & 0o777 == 0o600
        with pytest.raises(ExportRefused, match="exists"):
            maintenance.export_jsonl(store, target)
        assert len(target.read_text().splitlines()) == 1
        (entry,) = store.audit.entries()
        assert entry.action == "export" and entry.details["rows"] == 1

    def test_purge_needs_a_criterion_and_is_audited(self, store: HistoryStore) -> None:
        for number in range(4):
            store.append(make_record(number, created_at=1000.0 + number))
        with pytest.raises(HistoryError, match="say what to purge"):
            maintenance.purge(store)
        assert maintenance.purge(store, before=1002.0) == 2
        assert maintenance.purge(store, ids=("s0000003",)) == 1
        assert [r.id for r in store.query()[0]] == ["s0000002"]
        assert [e.details["rows"] for e in store.audit.entries()] == [2, 1]
        assert maintenance.purge(store, everything=True) == 1
        assert store.count() == 0

    def test_retention_drops_old_rows_then_oldest_beyond_the_size(
        self, store: HistoryStore
    ) -> None:
        now = time.time()
        store.append(make_record(0, created_at=now - 40 * 86400))
        for number in range(1, 11):
            store.append(make_record(number, created_at=now - 100 + number))
        assert maintenance.apply_retention(store, max_age_days=30, max_mb=0, now=now) == 1
        row_bytes = store.total_bytes() / 10
        limit_mb = row_bytes * 4.5 / (1024 * 1024)
        removed = maintenance.apply_retention(store, max_age_days=0, max_mb=limit_mb, now=now)
        assert removed == 6
        assert [r.id for r in store.query()[0]] == ["s0000010", "s0000009", "s0000008", "s0000007"]
        assert maintenance.apply_retention(store, max_age_days=30, max_mb=limit_mb) == 0
        assert [e.action for e in store.audit.entries()] == ["retention", "retention"]

    def test_training_use_is_audited_and_takes_accepted_rows(self, store: HistoryStore) -> None:
        store.append(make_record(1))
        store.append(make_record(2))
        store.record_outcome("s0000002", "accepted")
        chosen = maintenance.records_for_training(store, purpose="retrain v2")
        assert [r.id for r in chosen] == ["s0000002"]
        (entry,) = store.audit.entries()
        assert entry.action == "training_use" and entry.details["rows"] == 1


class TestMigrations:
    def test_migrations_are_numbered_recorded_and_run_on_open(
        self, tmp_path: Path, keys: KeyringKeyStore
    ) -> None:
        path = tmp_path / "history.sqlite3"
        HistoryStore(path, keys).close()
        with sqlite3.connect(path) as raw:
            recorded = raw.execute("SELECT id, name FROM schema_migrations ORDER BY id").fetchall()
        assert recorded == [(number, name) for number, name, _ in migrations.MIGRATIONS]

    def test_an_older_database_is_brought_up_to_date_and_keeps_its_rows(
        self, tmp_path: Path, keys: KeyringKeyStore
    ) -> None:
        path = tmp_path / "history.sqlite3"
        with HistoryStore(path, keys) as store:
            store.append(make_record(1))
        # Roll the file back to what version 1 of the schema left behind.
        with sqlite3.connect(path) as raw:
            raw.execute("DROP INDEX records_by_kind_outcome")
            raw.execute("DELETE FROM schema_migrations WHERE id > 1")
        with HistoryStore(path, keys) as store:
            assert store.get("s0000001") is not None
        with sqlite3.connect(path) as raw:
            assert raw.execute("SELECT max(id) FROM schema_migrations").fetchone()[0] == len(
                migrations.MIGRATIONS
            )
            indexes = {row[1] for row in raw.execute("PRAGMA index_list(records)")}
        assert "records_by_kind_outcome" in indexes
