"""Specification: file names with terminal escape codes never reach a terminal or the log raw.

A file name may carry codes that retitle or recolour the terminal of whoever prints it. The real
CLI talks to the real API app on loopback (published through the project's real runtime files);
the log test runs a real daemon process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from security_helpers import running_daemon

from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord
from takeaways_daemon.service import DaemonService
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.suggestions import Suggestion
from takeaways_daemon.tasks import Task
from tests.loopback_server import free_port, serving, unstarted_service

EVIL_NAME = "calc\x1b]0;pwned\x07\x1b[31m\x9b2J.py"
STUB = "def double(x):\n    pass\n"


@dataclass
class PublishedDaemon:
    project: Path
    service: DaemonService

    def suggest(self) -> Suggestion:
        """A real suggestion for the evil file, added as the engine adds one."""
        text = (self.project / EVIL_NAME).read_text()
        task = Task(
            kind="complete", path=EVIL_NAME, language="python", file_text=text, shown_start=1,
            shown_end=2, target_start=2, target_end=2, indent="    ", symbol="double",
        )  # fmt: skip
        answer = Answer("complete", "Double", "Times two.", "return x * 2")
        suggestion = build_suggestion(task, answer)
        self.service.store.add(suggestion)
        return suggestion

    def cli(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "takeaways_daemon", *args, "--project", str(self.project)],
            capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip


@pytest.fixture
def published(tmp_path: Path) -> Iterator[PublishedDaemon]:
    """The real app serving a project, found by the CLI through the project's runtime files."""
    project = tmp_path / "project"
    project.mkdir()
    (project / EVIL_NAME).write_text(STUB)
    files = ProjectFiles(project)
    lock = files.acquire_lock()
    token = files.new_token()
    service = unstarted_service(project)
    port = free_port()
    try:
        with serving(service, token=token, port=port) as url:
            record = RuntimeRecord(
                pid=0, root=str(files.root), transport="tcp", address=url,
                token_file=str(files.token), log_file=str(files.log), started_at=time.time(),
            )  # fmt: skip
            files.write_runtime(record)
            yield PublishedDaemon(project, service)
    finally:
        files.clear()
        lock.close()


def assert_printable(output: bytes) -> None:
    for code in (b"\x1b", b"\x07", "\x9b".encode()):
        assert code not in output, output


def test_apply_prints_the_file_name_without_escape_codes(published: PublishedDaemon) -> None:
    suggestion = published.suggest()
    applied = published.cli("apply", suggestion.id)
    assert applied.returncode == 0, applied.stderr
    assert b"applied " + suggestion.id.encode() + b" to calc.py:" in applied.stdout
    assert_printable(applied.stdout + applied.stderr)


def test_apply_refused_for_a_changed_file_prints_no_escape_codes(
    published: PublishedDaemon,
) -> None:
    suggestion = published.suggest()
    (published.project / EVIL_NAME).write_text(STUB + "# edited\n")
    refused = published.cli("apply", suggestion.id)
    assert refused.returncode != 0
    assert b"changed since" in refused.stderr
    assert_printable(refused.stdout + refused.stderr)


def test_the_daemon_log_gets_no_escape_codes_from_file_names(tmp_path: Path) -> None:
    """A broken file is saved; with no model reachable, the daemon logs its name."""
    project = tmp_path / "project"
    project.mkdir()
    with running_daemon(project, TAKEAWAYS_TASKS__ENABLED='["fix"]'):
        (project / EVIL_NAME).write_text("def broken(:\n    pass\n")
        log = ProjectFiles(project).log
        deadline = time.monotonic() + 30
        while b"model unavailable for calc" not in log.read_bytes():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    assert_printable(log.read_bytes())
