"""Specification: an applied patch and its audit entry never part, even under SIGKILL.

The daemon's API runs in a real child process (the real service with the real encrypted history
in the throwaway keyring, on a loopback uvicorn). Another connection holds the history's write
lock, as `takeaways keys rotate` does, while a suggestion is accepted; the child is killed with
SIGKILL before its audit write could run. The next real daemon for the project must record it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from history_helpers import keyring_keys
from security_helpers import running_daemon, takeaways

from takeaways_daemon import locations
from takeaways_daemon.history.apply_journal import ApplyJournal, settle_leftovers
from takeaways_daemon.history.data_key import KeyringKeyStore
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.patches import sha256_text
from tests.loopback_server import free_port

TOKEN = "token-for-apply-audit-tests"
STUB = "def double(x):\n    pass\n"
PATCHED = "def double(x):\n    return x * 2\n"
SERVER = """
import sys, time
from pathlib import Path
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.tasks import Task
from tests.loopback_server import serving

root, port, token = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
closed = {"prefer": "ollama", "ollama": {"host": "http://127.0.0.1:9"}}
service = DaemonService(root, Settings(backend=closed))
task = Task(
    kind="complete", path="calc.py", language="python", file_text=(root / "calc.py").read_text(),
    shown_start=1, shown_end=2, target_start=2, target_end=2, indent="    ", symbol="double",
)
suggestion = build_suggestion(task, Answer("complete", "Double", "Times two.", "return x * 2"))
service.store.add(suggestion)
assert service.recorder.flush()
with serving(service, token=token, port=port):
    print(suggestion.id, flush=True)
    time.sleep(300)
"""


def test_an_apply_killed_before_its_audit_write_is_audited_by_the_next_daemon(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "calc.py").write_text(STUB)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(project), str(port), TOKEN],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        suggestion_id = child.stdout.readline().strip()
        assert suggestion_id, "the API process did not start"
        locker = sqlite3.connect(locations.history_db_path(), isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # what `keys rotate` holds while it re-seals rows
        try:
            response = httpx.post(
                f"http://127.0.0.1:{port}/suggestions/{suggestion_id}/accept",
                headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            assert "return x * 2" in (project / "calc.py").read_text()
            time.sleep(0.3)  # the history writer is now waiting for the lock
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    # Killed: the apply is not yet in the log, and verify says so instead of "intact".
    waiting = takeaways("audit", "verify")
    assert waiting.returncode == 1, waiting.stdout
    assert suggestion_id in waiting.stdout + waiting.stderr

    with running_daemon(project, TAKEAWAYS_HISTORY__ENABLED="true"):
        pass  # starting is what settles the leftover apply

    with HistoryStore(locations.history_db_path(), KeyringKeyStore("takeaways")) as store:
        applies = [entry for entry in store.audit.entries() if entry.action == "apply_patch"]
        assert [entry.details["id"] for entry in applies] == [suggestion_id]
        assert applies[0].details["recovered"] is True
        assert applies[0].details["file_matches_patch"] is True
        row = store.get(suggestion_id)
        assert row is not None and row.outcome == "accepted"
        assert store.verify_audit().ok
    intact = takeaways("audit", "verify")
    assert intact.returncode == 0, intact.stdout + intact.stderr


class TestSettlingLeftovers:
    """`settle_leftovers` on a real store and real files, one case per state the file can be in."""

    def leftover(self, tmp_path: Path, text_now: str) -> tuple[HistoryStore, ApplyJournal, Path]:
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        store = HistoryStore(tmp_path / "history.sqlite3", keyring_keys())
        journal = ApplyJournal.beside(store.path)
        journal.begin(
            suggestion_id="abc123", kind="complete", project=project, path="calc.py",
            before_sha256=sha256_text(STUB), after_text=PATCHED, row_uid=None,
        )  # fmt: skip
        (project / "calc.py").write_text(text_now)
        return store, journal, project

    def test_a_file_still_holding_its_old_text_was_never_patched(self, tmp_path: Path) -> None:
        store, journal, project = self.leftover(tmp_path, STUB)
        with store:
            assert settle_leftovers(journal, store, project) == 0
            assert store.audit.entries() == [] and journal.pending() == []

    def test_a_file_edited_since_is_audited_as_unconfirmed(self, tmp_path: Path) -> None:
        store, journal, project = self.leftover(tmp_path, PATCHED + "# edited\n")
        with store:
            assert settle_leftovers(journal, store, project) == 1
            (entry,) = store.audit.entries()
            assert entry.details["file_matches_patch"] is False
            assert journal.pending() == [] and store.verify_audit().ok

    def test_a_locked_history_keeps_the_intent_for_the_next_start(self, tmp_path: Path) -> None:
        store, journal, project = self.leftover(tmp_path, PATCHED)
        with store:
            locker = sqlite3.connect(store.path, isolation_level=None)
            locker.execute("BEGIN IMMEDIATE")
            try:
                assert settle_leftovers(journal, store, project) == 0  # waits out busy_timeout
            finally:
                locker.execute("ROLLBACK")
                locker.close()
            assert len(journal.pending()) == 1
            assert not store.verify_audit().ok
            assert settle_leftovers(journal, store, project) == 1
            assert store.verify_audit().ok
