"""Specification of tamper detection: rows edited or moved in the file, and audit log entries
edited, deleted, reordered or cut off. The attacker here edits the SQLite file directly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from history_helpers import keyring_keys, make_record

from takeaways_daemon.history import maintenance
from takeaways_daemon.history.data_key import KeyringKeyStore
from takeaways_daemon.history.store import HistoryStore


@pytest.fixture
def keys() -> KeyringKeyStore:
    return keyring_keys()


@pytest.fixture
def path(tmp_path: Path, keys: KeyringKeyStore) -> Path:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path, keys) as store:
        for number in range(4):
            store.append(make_record(number, created_at=1000.0 + number))
    return path


def tampered_ids(path: Path, keys: KeyringKeyStore) -> dict[str, bool]:
    with HistoryStore(path, keys) as store:
        return {record.id: record.tampered for record in store.iter_all()}


class TestRows:
    def test_a_flipped_byte_marks_that_row_only(self, path: Path, keys: KeyringKeyStore) -> None:
        with sqlite3.connect(path) as raw:
            (summary,) = raw.execute("SELECT summary FROM records WHERE id = 's0000002'").fetchone()
            flipped = bytearray(summary)
            flipped[len(flipped) // 2] ^= 0x01
            raw.execute("UPDATE records SET summary = ? WHERE id = 's0000002'", (bytes(flipped),))
        assert tampered_ids(path, keys) == {
            "s0000003": False, "s0000002": True, "s0000001": False, "s0000000": False,
        }  # fmt: skip
        with HistoryStore(path, keys) as store:
            bad = store.get("s0000002")
            assert bad is not None and bad.tampered and bad.title == "" and bad.prompt == ""
            good = store.get("s0000001")
            assert good is not None and good.title == "Add the missing colon 1"

    def test_two_rows_ciphertexts_swapped_are_detected(
        self, path: Path, keys: KeyringKeyStore
    ) -> None:
        with sqlite3.connect(path) as raw:
            rows = dict(
                raw.execute(
                    "SELECT id, summary FROM records WHERE id IN ('s0000000', 's0000001')"
                ).fetchall()
            )
            raw.execute("UPDATE records SET summary = ? WHERE id = 's0000000'", (rows["s0000001"],))
            raw.execute("UPDATE records SET summary = ? WHERE id = 's0000001'", (rows["s0000000"],))
        result = tampered_ids(path, keys)
        assert result["s0000000"] and result["s0000001"]
        assert not result["s0000002"] and not result["s0000003"]

    def test_fields_swapped_within_a_row_are_detected(
        self, path: Path, keys: KeyringKeyStore
    ) -> None:
        with sqlite3.connect(path) as raw:
            raw.execute(
                "UPDATE records SET summary = detail, detail = summary WHERE id = 's0000003'"
            )
        assert tampered_ids(path, keys)["s0000003"]

    def test_relabelling_a_rows_kind_or_time_is_detected(
        self, path: Path, keys: KeyringKeyStore
    ) -> None:
        with sqlite3.connect(path) as raw:
            raw.execute("UPDATE records SET kind = 'docstring' WHERE id = 's0000000'")
            raw.execute("UPDATE records SET created_at = 5000.0 WHERE id = 's0000001'")
            raw.execute("UPDATE records SET payload_version = 2 WHERE id = 's0000002'")
        result = tampered_ids(path, keys)
        assert result == {
            "s0000000": True, "s0000001": True, "s0000002": True, "s0000003": False,
        }  # fmt: skip


@pytest.fixture
def audited(path: Path, keys: KeyringKeyStore) -> Path:
    """A store with five audit entries of different actions."""
    with HistoryStore(path, keys) as store:
        maintenance.purge(store, ids=("s0000000",))
        store.audited("apply_patch", {"id": "s0000001", "kind": "fix"})
        maintenance.rotate_key(store)
        store.audited("apply_patch", {"id": "s0000002", "kind": "fix"})
        maintenance.records_for_training(store, purpose="test")
        assert store.audit.verify().ok
    return path


def verify(path: Path, keys: KeyringKeyStore) -> list[str]:
    with HistoryStore(path, keys) as store:
        return store.audit.verify().problems


def attack(path: Path, *statements: str) -> None:
    """Edit the log as someone with the file would: first drop the append-only triggers."""
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TRIGGER audit_log_no_update")
        raw.execute("DROP TRIGGER audit_log_no_delete")
        for statement in statements:
            raw.execute(statement)


class TestAuditLog:
    def test_an_intact_log_verifies(self, audited: Path, keys: KeyringKeyStore) -> None:
        with HistoryStore(audited, keys) as store:
            report = store.audit.verify()
            actions = [entry.action for entry in store.audit.entries()]
        assert report.ok and report.entries == 5 and report.head_seq == 5
        assert actions == ["purge", "apply_patch", "key_rotation", "apply_patch", "training_use"]

    def test_the_log_refuses_edits_through_sqlite(self, audited: Path) -> None:
        with sqlite3.connect(audited) as raw, pytest.raises(sqlite3.IntegrityError):
            raw.execute("DELETE FROM audit_log WHERE seq = 2")

    def test_an_edited_entry_is_detected(self, audited: Path, keys: KeyringKeyStore) -> None:
        attack(audited, """UPDATE audit_log SET details = '{"rows": 0}' WHERE seq = 1""")
        assert verify(audited, keys) == ["entry 1 (purge) was edited: its MAC is wrong"]

    def test_a_deleted_entry_is_detected(self, audited: Path, keys: KeyringKeyStore) -> None:
        attack(audited, "DELETE FROM audit_log WHERE seq = 3")
        problems = verify(audited, keys)
        assert "entries 3..3 are missing (deleted)" in problems

    def test_reordered_entries_are_detected(self, audited: Path, keys: KeyringKeyStore) -> None:
        attack(
            audited,
            "UPDATE audit_log SET seq = 100 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = 100",
        )
        problems = verify(audited, keys)
        assert any("does not follow" in problem for problem in problems)
        assert any("was edited" in problem for problem in problems)

    def test_a_cut_tail_is_detected_through_the_keyring_head(
        self, audited: Path, keys: KeyringKeyStore
    ) -> None:
        attack(audited, "DELETE FROM audit_log WHERE seq >= 4")
        assert verify(audited, keys) == [
            "the log ends at entry 3 but the keyring's head is entry 5: entries were cut from "
            "the end"
        ]
