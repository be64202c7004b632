"""A fix's check in the history: `verified` and `evidence` are kept, sealed like the code they
name, and rows written before these fields existed still open (real SQLite, real keyring)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from history_helpers import PLANTED, database_bytes, keyring_keys, make_record

from takeaways_daemon.history import store as store_module
from takeaways_daemon.history.records import SUMMARY_FIELDS
from takeaways_daemon.history.store import HistoryStore

EVIDENCE = f"tests/test_{PLANTED}.py::test_total passed; was: assert 6 == 10"


def test_the_evidence_is_kept_encrypted_and_comes_back(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3", keyring_keys()) as store:
        store.append(replace(make_record(1), verified=True, evidence=EVIDENCE))
        store.append(replace(make_record(2), verified=False, evidence="breaks tests/t.py::b"))
        one, two = store.get("s0000001"), store.get("s0000002")
        assert one is not None and (one.verified, one.evidence) == (True, EVIDENCE)
        assert two is not None and two.verified is False
        assert one.item()["verified"] is True and one.item()["evidence"] == EVIDENCE
        assert b"test_total passed" not in database_bytes(store.path)


def test_rows_sealed_before_the_fields_existed_open_as_unchecked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = tuple(name for name in SUMMARY_FIELDS if name not in ("verified", "evidence"))
    with HistoryStore(tmp_path / "history.sqlite3", keyring_keys()) as store:
        with monkeypatch.context() as patched:
            patched.setattr(store_module, "SUMMARY_FIELDS", older)
            store.append(replace(make_record(1), verified=True, evidence=EVIDENCE))
        row = store.get("s0000001")
    assert row is not None and not row.tampered
    assert (row.verified, row.evidence, row.title) == (None, "", "Add the missing colon 1")
