"""Progress, priority and streaming through a real daemon, its API, its client and the CLI.

The daemon is a real one started by `takeaways start`; only its model is the scripted plugin
(config.toml: the same reply to every request, after a fixed delay), so a slow task takes the
seconds the test chooses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.prompt_format import render_answer
from takeaways_daemon.wire import AnswerChunk, GenerateDone, ProgressView
from tests.scripted_terminal import install_scripted, write_config

REPLY = render_answer(
    "Add the missing colon", "The def line lacked its colon.", "def greet(name):\n    pass"
)
# Still broken after the scripted fix replaces the def: the checks reject every candidate.
BROKEN_TWICE = "def greet(name)\n    print('hi', name)\n\n\nprint((1)\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)  # a work tree: subfolders belong to it
    (root / "src" / "pkg").mkdir(parents=True)
    return root


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    site = install_scripted(tmp_path / "site")
    plugins = Path(__file__).with_name("plugins")
    repo = Path(__file__).resolve().parents[1]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, (site, plugins, repo)))}


def takeaways(environment: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    """Run the CLI; its stdout (stderr too, after a blank line)."""
    result = subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", *args], env=environment, cwd=cwd,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return result.stdout + "\n" + result.stderr


@pytest.fixture
def daemon(project: Path, environment: dict[str, str]) -> Iterator[DaemonClient]:
    """A daemon on `project` whose scripted model takes 1.5 s per answer, 3 candidates a task."""
    write_config(
        {
            "backend": {"prefer": ["scripted"]},
            "backend.scripted": {"reply": REPLY, "reply_delay_s": 1.5},
            "tasks": {"enabled": ["fix"]},
            "sampling": {"candidates": 3},
            "fix": {"max_candidates": 3},  # n would grow past best-of-n while none verifies
            "watcher": {"debounce_ms": 100},
        }
    )
    takeaways(environment, "start", str(project))
    try:
        with DaemonClient.for_project(project) as client:
            yield client
    finally:
        takeaways(environment, "stop", str(project))


def _wait_for(client: DaemonClient, condition: str, timeout: float = 20) -> ProgressView:
    deadline = time.monotonic() + timeout
    while True:
        progress = client.progress()
        current = progress.current
        if condition == "candidate 2" and current is not None and current.candidate == 2:
            return progress
        if condition == "nothing" and progress.recent:
            return progress
        assert time.monotonic() < deadline, progress
        time.sleep(0.1)


def test_progress_names_the_task_and_candidate_then_why_nothing_was_found(
    project: Path, daemon: DaemonClient
) -> None:
    (project / "bad.py").write_text(BROKEN_TWICE)
    progress = _wait_for(daemon, "candidate 2")
    assert progress.current is not None
    assert (progress.current.path, progress.current.kind) == ("bad.py", "fix")
    assert progress.current.candidates == 3
    assert daemon.status().progress.current is not None  # `/status` carries it too
    progress = _wait_for(daemon, "nothing")
    assert progress.current is None
    (latest,) = progress.recent
    assert latest.reason.startswith("3 candidates rejected: ")
    assert "parse" in latest.reason  # the check that failed, in its own words


def test_the_event_stream_sends_progress_as_it_changes(project: Path, daemon: DaemonClient) -> None:
    seen: list[ProgressView] = []
    (project / "bad.py").write_text(BROKEN_TWICE)
    for event in daemon.events():
        if isinstance(event, ProgressView):
            seen.append(event)
            if event.recent:
                break
    candidates = [view.current.candidate for view in seen if view.current is not None]
    assert candidates[:1] == [1] and 3 in candidates, candidates


def test_cancel_ends_the_task_in_flight(project: Path, daemon: DaemonClient) -> None:
    assert daemon.cancel().cancelled is False  # idle: nothing to cancel
    (project / "bad.py").write_text(BROKEN_TWICE)
    _wait_for(daemon, "candidate 2")
    result = daemon.cancel()
    assert result.cancelled and result.task is not None and result.task.path == "bad.py"
    progress = _wait_for(daemon, "nothing", timeout=3)
    assert progress.recent[0].reason.startswith("cancelled")


def test_generate_streams_chunks_then_the_whole_result(daemon: DaemonClient) -> None:
    records = list(daemon.generate_stream("a greeting function"))
    chunks = [record.text for record in records if isinstance(record, AnswerChunk)]
    done = records[-1]
    assert isinstance(done, GenerateDone) and done.result is not None
    assert len(chunks) > 1 and "".join(chunks) == done.result.text == REPLY
    assert done.result.code == "def greet(name):\n    pass"
    assert (done.result.backend, done.result.model) == ("scripted", "scripted")


def test_status_from_a_subfolder_finds_the_project_and_prints_progress_and_numbers(
    project: Path, daemon: DaemonClient, environment: dict[str, str]
) -> None:
    (project / "bad.py").write_text(BROKEN_TWICE)
    _wait_for(daemon, "candidate 2")
    shown = takeaways(environment, "status", cwd=project / "src" / "pkg")
    assert f"project       {project.resolve()}" in shown
    assert "working on    fix bad.py, candidate " in shown  # 2/3 or 3/3 by now
    assert "latency       p50 -, p95 -" in shown
    # Every other command takes the same PATH, from any folder inside the project.
    listed = takeaways(environment, "suggestions", str(project / "src"))
    assert "no suggestions yet" in listed
