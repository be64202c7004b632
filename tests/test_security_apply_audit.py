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
from security_helpers import running_daemon, takeaways

from takeaways_daemon import locations
from takeaways_daemon.history.data_key import KeyringKeyStore
from takeaways_daemon.history.store import HistoryStore
from tests.loopback_server import free_port

TOKEN = "token-for-apply-audit-tests"
STUB = "def double(x):\n    pass\n"
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
