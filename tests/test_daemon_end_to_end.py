"""The daemon end to end, as a user runs it: real processes, real watchdog, the real packaged model.

Editing a file with a syntax error makes a fix suggestion from gemma-3-270m (llama-cpp-python),
visible through the API; applying it fixes the file on disk.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.runtime_files import ProjectFiles

pytestmark = pytest.mark.model
BROKEN = "def add(a, b)\n    return a + b\n\n\nprint(add(1, 2))\n"


def takeaways(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def wait_for(condition, timeout: float, interval: float = 0.25):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s")


@pytest.fixture
def project(tmp_path: Path, use_base_model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("demo\n")
    # A fixed seed makes the real model's answers repeatable on one machine.
    monkeypatch.setenv("TAKEAWAYS_SAMPLING__SEED", "7")
    monkeypatch.setenv("TAKEAWAYS_WATCHER__DEBOUNCE_MS", "100")
    return root


def test_saving_a_broken_file_yields_a_fix_that_applies(project: Path) -> None:
    """start → save a syntax error → fix listed by the API → apply → the file parses; stop."""
    started = takeaways("start", str(project))
    assert started.returncode == 0, started.stderr
    try:
        with DaemonClient.for_project(project) as client:
            status = client.status()
            assert status.watcher.mode == "inotify"
            (project / "calc.py").write_text(BROKEN)
            fixes = wait_for(lambda: client.suggestions(kind="fix"), timeout=180)
            fix = fixes[0]
            assert fix.path == "calc.py"
            assert fix.backend == "embedded"
            assert fix.start_line == 1
            assert "def add(a, b):" in fix.replacement
            status = client.status()
            assert status.backend.name == "embedded"
            assert status.metrics.counters["suggestions"] >= 1
        applied = takeaways("apply", fix.id, "--project", str(project))
        assert applied.returncode == 0, applied.stderr
        fixed = (project / "calc.py").read_text()
        ast.parse(fixed)
        assert fixed.endswith("print(add(1, 2))\n")
        again = takeaways("apply", fix.id, "--project", str(project))
        assert again.returncode != 0
        assert "accepted, not open" in again.stderr
    finally:
        stopped = takeaways("stop", str(project))
    assert stopped.returncode == 0, stopped.stderr
    files = ProjectFiles(project)
    assert not files.is_locked()
    assert not files.runtime.exists() and not files.token.exists()


def test_lines_added_above_a_fix_move_it_and_apply_still_fixes_the_file(project: Path) -> None:
    """Staleness by lines: a header added above a listed fix keeps it open, two lines lower."""
    header = "# calc: a tiny module\n# the header came later\n"
    started = takeaways("start", str(project))
    assert started.returncode == 0, started.stderr
    try:
        with DaemonClient.for_project(project) as client:
            (project / "calc.py").write_text(BROKEN)
            fix = wait_for(lambda: client.suggestions(kind="fix"), timeout=180)[-1]
            # One rename, so the watcher never sees a half-written file.
            (project / "calc.new").write_text(header + BROKEN)
            os.replace(project / "calc.new", project / "calc.py")
            moved = wait_for(
                lambda: (item := client.suggestion(fix.id)).start_line != fix.start_line and item,
                timeout=30,
            )
            assert (moved.status, moved.start_line) == ("open", fix.start_line + 2)
        applied = takeaways("apply", fix.id, "--project", str(project))
        assert applied.returncode == 0, applied.stderr
        fixed = (project / "calc.py").read_text()
        ast.parse(fixed)
        assert fixed.startswith(header) and fixed.endswith("print(add(1, 2))\n")
    finally:
        stopped = takeaways("stop", str(project))
    assert stopped.returncode == 0, stopped.stderr


def test_one_daemon_per_project_and_status_reports_it(project: Path) -> None:
    """A second start finds the first; status names the API, token file, backend and watcher."""
    assert takeaways("start", str(project)).returncode == 0
    try:
        second = takeaways("start", str(project))
        assert second.returncode == 0
        assert "already running" in second.stdout
        shown = takeaways("status", str(project), "--json")
        report = json.loads(shown.stdout)
        assert report["daemon"]["address"].startswith("unix:")
        token_file = Path(report["daemon"]["token_file"])
        assert token_file.stat().st_mode & 0o777 == 0o600
        socket_path = Path(report["daemon"]["address"].removeprefix("unix:"))
        assert socket_path.stat().st_mode & 0o777 == 0o600
        assert report["watcher"]["mode"] == "inotify"
        assert report["watcher"]["queue_depth"] == 0
        assert report["backend"]["name"] in ("embedded", None)
    finally:
        takeaways("stop", str(project))


def test_status_without_daemon_says_how_to_start_one(project: Path) -> None:
    shown = takeaways("status", str(project))
    assert shown.returncode == 3
    assert "takeaways start" in shown.stderr


def test_watch_prints_suggestions_live_and_stops_on_ctrl_c(project: Path) -> None:
    """The README's first command: `takeaways watch PATH` prints a fix as soon as it exists."""
    process = subprocess.Popen(
        [sys.executable, "-m", "takeaways_daemon", "watch", str(project)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("watching"):
                (project / "calc.py").write_text(BROKEN)
            if "fix" in line and "calc.py:1" in line:
                break
        else:
            raise AssertionError("no fix printed:\n" + "".join(lines))
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    assert not ProjectFiles(project).is_locked()
