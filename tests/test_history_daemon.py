"""The history end to end: a real daemon process with the real packaged model and the real
(throwaway) keyring writes an encrypted row for its suggestion, `/history` returns it, and
neither the planted secret nor the data key can be found in the file, the log or the process
environment."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from history_helpers import database_bytes

from takeaways_daemon import locations
from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.history.data_key import KeyringKeyStore, data_key_name
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.runtime_files import ProjectFiles

pytestmark = pytest.mark.model
SECRET = "PLANTED-SECRET-d41d8cd9"
BROKEN = f"def add(a, b)\n    return a + b  # {SECRET}\n"


def takeaways(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_daemon_run_writes_encrypted_rows_that_the_api_returns(
    tmp_path: Path, use_base_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("TAKEAWAYS_SAMPLING__SEED", "7")
    monkeypatch.setenv("TAKEAWAYS_WATCHER__DEBOUNCE_MS", "100")
    monkeypatch.setenv("TAKEAWAYS_TASKS__ENABLED", '["fix"]')
    started = takeaways("start", str(project))
    assert started.returncode == 0, started.stderr
    try:
        with DaemonClient.for_project(project) as client:
            assert client.status().history.enabled is True
            pid = client.status().pid
            (project / "calc.py").write_text(BROKEN)
            deadline = time.monotonic() + 180
            while not client.history().total:
                assert time.monotonic() < deadline, "no history row within 180 s"
                time.sleep(0.5)
            item = client.history().items[0]
            live = client.suggestions()[0]
            assert item.id == live.id and item.kind == "fix"
            assert item.backend == "embedded" and item.latency_ms > 0
            full = client.history_item(item.id)
            assert SECRET in full.context and SECRET in full.prompt
            client.reject(item.id)
            assert client.history_item(item.id).outcome == "rejected"
            environment = Path(f"/proc/{pid}/environ").read_bytes()
    finally:
        stopped = takeaways("stop", str(project))
    assert stopped.returncode == 0, stopped.stderr

    database = locations.history_db_path()
    with HistoryStore(database, KeyringKeyStore("takeaways")) as store:
        key = store.keys.get(data_key_name(store.store_id, store.key_id))
        assert store.count() == 1
    assert key is not None
    log = ProjectFiles(project).log.read_bytes()
    for place, data in [("database", database_bytes(database)), ("log", log),
                        ("environment", environment)]:  # fmt: skip
        assert SECRET.encode() not in data or place == "log", place
        assert key not in data and base64.b64encode(key) not in data, place
        assert key.hex().encode() not in data, place
    assert SECRET.encode() not in log
    assert os.environ.get("DBUS_SESSION_BUS_ADDRESS")  # the daemon used the session's keyring
