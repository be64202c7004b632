"""The lifecycle module starts, finds and stops a project's real daemon, and says which it did.

Real processes on a temporary project (no model needed: the API answers while the backend is
still being chosen). The CLI and the TUI both read these typed results; nothing parses output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from takeaways_daemon import lifecycle
from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.errors import DaemonNotRunning
from takeaways_daemon.runtime_files import ProjectFiles
from tui.daemon_link import DaemonLink


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def test_start_spawns_a_daemon_that_answers_then_a_second_start_attaches(project: Path) -> None:
    first = lifecycle.start(project, timeout=60)
    try:
        assert first.started_here
        assert first.root == project.resolve()
        assert first.address.startswith("unix:")
        with DaemonClient.for_project(project) as client:
            assert client.health()
            assert client.record.pid == first.pid
        second = lifecycle.start(project, timeout=60)
        assert not second.started_here
        assert second.pid == first.pid and second.address == first.address
    finally:
        stopped = lifecycle.stop(project, timeout=30)
    assert stopped.pid == first.pid
    files = ProjectFiles(project)
    assert not files.is_locked()
    assert not files.runtime.exists()


def test_the_daemons_output_goes_to_its_log_not_the_callers_stdout(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    result = lifecycle.start(project, timeout=60)
    lifecycle.stop(project, timeout=30)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    assert f"daemon {result.pid} serving" in result.log.read_text()


def test_stop_without_a_daemon_says_how_to_start_one(project: Path) -> None:
    with pytest.raises(DaemonNotRunning, match="takeaways start"):
        lifecycle.stop(project)


def test_a_daemon_that_dies_at_start_is_a_failure_quoting_its_log(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAKEAWAYS_API__TRANSPORT", "carrier-pigeon")
    with pytest.raises(lifecycle.DaemonStartFailed, match="exited at start"):
        lifecycle.start(project, timeout=60)
    assert not ProjectFiles(project).is_locked()


def test_the_cli_and_the_tui_share_the_lifecycle(project: Path) -> None:
    """`takeaways start` finds the TUI's daemon as already running; the TUI knows it started it."""
    link = DaemonLink(project)
    link.start(timeout=60)
    try:
        assert link.started_here
        shown = subprocess.run(
            [sys.executable, "-m", "takeaways_daemon", "start", str(project)],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith("already running for")
        other = DaemonLink(project)
        other.start(timeout=60)
        assert not other.started_here
    finally:
        link.stop()
    assert not link.is_running()
