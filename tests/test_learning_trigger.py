"""When the daemon starts an automatic round: K new accepted suggestions (counted in the real
encrypted history), an idle machine and an idle queue; a round the user's work overtakes is
cancelled; the round runs at nice 19."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from takeaways_daemon import locations
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.learning_paths import learning_state_file
from takeaways_daemon.learning_trigger import (
    RETRY_AFTER_FAILURE_S,
    ROUND_COMMAND,
    LearningTrigger,
    round_log,
    start_round_process,
)
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings, load_settings
from takeaways_daemon.wire import LearningView
from tests.learning_helpers import accepted_fix, record_in_history


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TAKEAWAYS_LEARNING__ENABLED", "true")
    monkeypatch.setenv("TAKEAWAYS_LEARNING__ACCEPTED_PER_ROUND", "3")
    monkeypatch.setenv("TAKEAWAYS_LEARNING__IDLE_QUEUE_S", "60")
    project = tmp_path / "project"
    project.mkdir()
    record_in_history(*[accepted_fix(project, n) for n in range(2)])
    with HistoryStore.open(load_settings().history) as store:
        yield store, project


def test_a_round_starts_only_after_k_accepts_on_an_idle_machine(history) -> None:  # type: ignore[no-untyped-def]
    store, project = history
    queue, load, started = [0], [2.0], []

    def start(command: list[str]) -> subprocess.Popen[bytes]:
        started.append(command)
        return subprocess.Popen(["sleep", "60"], start_new_session=True)

    trigger = LearningTrigger(
        load_settings(), queue_depth=lambda: queue[0], history=store, start=start,
        load_per_core=lambda: load[0],
    )  # fmt: skip
    now = time.monotonic()
    assert trigger.check(now) == "waiting: 2/3 accepted"
    record_in_history(accepted_fix(project, 7))
    assert trigger.check(now) == "waiting: the daemon was busy recently"
    queue[0] = 4
    assert trigger.check(now + 100) == "waiting: the daemon was busy recently"
    queue[0] = 0
    assert trigger.check(now + 170) == "waiting: load 2.00 per core"
    load[0] = 0.1
    assert trigger.check(now + 180) == "round started"
    assert started[0][-3:] == list(ROUND_COMMAND)
    assert trigger.status().round_running is True
    round_log().parent.mkdir(parents=True, exist_ok=True)
    round_log().write_text("learn: stage export [1/6]\nsome output\nlearn: stage train [2/6]\n")
    assert trigger.status().stage == "train"

    # The user starts working hard again: three busy checks cancel the round.
    process = trigger._process
    queue[0] = 2
    assert trigger.check(now + 200) == "round running"
    assert trigger.check(now + 230) == "round running"
    assert trigger.check(now + 260) == "cancelled: busy"
    assert process is not None and process.wait(timeout=10) == -15  # type: ignore[attr-defined]
    assert trigger.status().round_running is False


def test_rows_an_earlier_round_looked_at_do_not_count(history) -> None:  # type: ignore[no-untyped-def]
    store, project = history
    record_in_history(accepted_fix(project, 5))
    learning_state_file().parent.mkdir(parents=True)
    learning_state_file().write_text(f'{{"cursor": {time.time() + 1}}}')
    trigger = LearningTrigger(
        load_settings(), queue_depth=lambda: 0, history=store, start=lambda c: None,
        load_per_core=lambda: 0.0,
    )  # fmt: skip
    assert trigger.check(time.monotonic() + 1000) == "waiting: 0/3 accepted"


def test_the_round_process_runs_at_the_lowest_priority() -> None:
    process = start_round_process([sys.executable, "-c", "import os; print(os.nice(0))"])
    assert process.wait(timeout=30) == 0
    log = (locations.state_dir() / "learning" / "round.log").read_text()
    assert log.strip().splitlines()[-1] == "19"


def test_the_daemon_reports_learning_in_its_status(tmp_path: Path) -> None:
    service = DaemonService(tmp_path, Settings(history={"enabled": False}))
    assert service.status().learning == LearningView(
        enabled=False, round_running=False, stage=None, last_decision="not checked yet",
        rounds_started=0,
    )  # fmt: skip
    assert os.getpid() == service.status().pid


def test_a_failed_round_is_not_retried_at_once(history) -> None:  # type: ignore[no-untyped-def]
    store, project = history
    record_in_history(accepted_fix(project, 9))
    started = []

    def start(command: list[str]) -> subprocess.Popen[bytes]:
        started.append(command)
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])

    trigger = LearningTrigger(
        load_settings(), queue_depth=lambda: 0, history=store, start=start,
        load_per_core=lambda: 0.0,
    )  # fmt: skip
    now = time.monotonic() + 100
    assert trigger.check(now) == "round started"
    trigger._process.wait(timeout=30)  # type: ignore[union-attr]
    # Between its end and the next check, the status says how it ended, not "round running".
    assert trigger.status().last_decision == "round failed (exit 1)"
    assert trigger.check(now + 30).startswith("waiting: the last round failed")
    assert trigger.check(now + 30 + RETRY_AFTER_FAILURE_S) == "round started"
    assert len(started) == 2
