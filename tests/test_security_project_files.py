"""Specification: hostile project files are never read without limit, through a stray link, or
by blocking on a device or named pipe.

Real folders with real links to /dev/zero, real FIFOs, a real daemon process and a real API
server on loopback.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from security_helpers import peak_rss_mb, running_daemon

from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.errors import PatchRejected
from takeaways_daemon.patches import apply_to_file, sha256_text
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.safe_read import FileTooLarge, LinkRefused, NotRegularFile, read_capped
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.tasks import Task
from takeaways_daemon.watcher import IgnoreRules
from takeaways_daemon.watcher.rescan import scan_tree
from tests.loopback_server import free_port, serving, unstarted_service

TOKEN = "token-for-security-tests"
STUB = "def double(x):\n    pass\n"


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


class TestSafeRead:
    def test_a_regular_file_under_the_cap_is_read(self, tmp_path: Path) -> None:
        (tmp_path / "a.py").write_text("x = 1\n")
        assert read_capped(tmp_path / "a.py", 100) == b"x = 1\n"

    def test_a_device_is_refused_without_reading(self, tmp_path: Path) -> None:
        with pytest.raises(NotRegularFile, match="character device"):
            read_capped("/dev/zero", 1 << 20)

    def test_a_named_pipe_is_refused_without_blocking(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "pipe")
        started = time.monotonic()
        with pytest.raises(NotRegularFile, match="named pipe"):
            read_capped(tmp_path / "pipe", 100)
        assert time.monotonic() - started < 1

    def test_a_link_is_refused_unless_it_stays_inside_the_root(self, tmp_path: Path) -> None:
        (tmp_path / "outside.txt").write_text("secret")
        root = tmp_path / "root"
        root.mkdir()
        (root / "inner.txt").write_text("inner")
        (root / "out").symlink_to(tmp_path / "outside.txt")
        (root / "in").symlink_to(root / "inner.txt")
        with pytest.raises(LinkRefused):
            read_capped(root / "in", 100)  # no root given: no link is followed
        with pytest.raises(LinkRefused, match="outside"):
            read_capped(root / "out", 100, links_inside=root)
        assert read_capped(root / "in", 100, links_inside=root) == b"inner"

    def test_a_file_over_the_cap_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "big").write_bytes(b"x" * 101)
        with pytest.raises(FileTooLarge, match="100-byte"):
            read_capped(tmp_path / "big", 100)


class TestIgnoreFiles:
    def test_a_gitignore_linked_to_dev_zero_is_skipped_at_once(self, tmp_path: Path) -> None:
        root = project_with(tmp_path, {"app.py": "x = 1\n", "pkg/mod.py": "y = 2\n"})
        (root / ".gitignore").symlink_to("/dev/zero")
        (root / "pkg" / ".gitignore").symlink_to("/dev/zero")
        started = time.monotonic()
        rules = IgnoreRules(root)
        found = scan_tree(root, rules, 1 << 20)  # what `takeaways scan` and the watcher walk
        assert time.monotonic() - started < 2
        assert {"app.py", "pkg/mod.py"} <= set(found)

    def test_a_gitignore_linked_outside_the_root_is_not_read(self, tmp_path: Path) -> None:
        (tmp_path / "elsewhere").write_text("*.py\n")
        root = project_with(tmp_path, {"app.py": "x = 1\n"})
        (root / ".gitignore").symlink_to(tmp_path / "elsewhere")
        assert not IgnoreRules(root).is_ignored(Path("app.py"))

    def test_a_nested_gitignore_in_a_folder_linked_outside_is_not_read(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "outside").mkdir()
        (tmp_path / "outside" / ".gitignore").write_text("*.py\n")
        root = project_with(tmp_path, {"app.py": "x = 1\n"})
        (root / "linked").symlink_to(tmp_path / "outside")
        assert not IgnoreRules(root).is_ignored(Path("linked/app.py"))

    def test_a_gitignore_linked_inside_the_root_still_applies(self, tmp_path: Path) -> None:
        root = project_with(tmp_path, {"config/gitignore": "*.log\n", "app.py": ""})
        (root / ".gitignore").symlink_to(root / "config" / "gitignore")
        rules = IgnoreRules(root)
        assert rules.is_ignored(Path("debug.log"))
        assert not rules.is_ignored(Path("app.py"))

    def test_an_oversized_gitignore_is_skipped(self, tmp_path: Path) -> None:
        root = project_with(tmp_path, {"app.py": "", ".gitignore": "#\n" * (1 << 20) + "*.py\n"})
        assert not IgnoreRules(root).is_ignored(Path("app.py"))

    def test_a_daemon_stays_responsive_and_small_when_one_arrives_at_run_time(
        self, tmp_path: Path
    ) -> None:
        """A nested `.gitignore` → /dev/zero appears while the daemon runs, then files are saved."""
        root = project_with(tmp_path, {"app.py": "x = 1\n", ".gitignore": "*.log\n"})
        with running_daemon(root) as record, DaemonClient.for_project(root, timeout=10) as client:
            (root / "pkg").mkdir()
            (root / "pkg" / ".gitignore").symlink_to("/dev/zero")
            (root / ".gitignore").write_text("*.log\n*.tmp\n")  # the rules are rebuilt
            slowest = 0.0
            for number in range(10):
                (root / "pkg" / f"mod{number}.py").write_text(f"value = {number}\n")
                time.sleep(0.1)
                started = time.monotonic()
                client.health()
                slowest = max(slowest, time.monotonic() - started)
            assert slowest < 0.5, f"the API took {slowest:.2f} s to answer"
            assert peak_rss_mb(record.pid) < 400
            assert client.status().pid == record.pid


@pytest.fixture
def api_with_suggestion(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path, str]]:
    """A real API on loopback holding one open suggestion for `calc.py`."""
    root = project_with(tmp_path, {"calc.py": STUB})
    service = unstarted_service(root)
    task = Task(
        kind="complete", path="calc.py", language="python", file_text=STUB, shown_start=1,
        shown_end=2, target_start=2, target_end=2, indent="    ", symbol="double",
    )  # fmt: skip
    suggestion = build_suggestion(task, Answer("complete", "Double", "Times two.", "return x * 2"))
    service.store.add(suggestion)
    port = free_port()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with (
        serving(service, token=TOKEN, port=port) as url,
        httpx.Client(base_url=url, headers=headers, timeout=5) as client,
    ):
        yield client, root, suggestion.id


class TestAcceptOnHostileFiles:
    def test_a_file_replaced_by_a_named_pipe_is_refused_without_hanging(
        self, api_with_suggestion: tuple[httpx.Client, Path, str]
    ) -> None:
        client, root, suggestion_id = api_with_suggestion
        (root / "calc.py").unlink()
        os.mkfifo(root / "calc.py")
        try:
            response = client.post(f"/suggestions/{suggestion_id}/accept")
            assert response.status_code == 409
            assert "named pipe" in response.json()["detail"]
            assert client.get("/health").status_code == 200
        finally:
            # Wakes a reader blocked on the FIFO (the bug this guards against) so teardown ends.
            with contextlib.suppress(OSError):
                os.close(os.open(root / "calc.py", os.O_WRONLY | os.O_NONBLOCK))

    def test_a_file_replaced_by_a_link_to_a_device_is_refused(self, tmp_path: Path) -> None:
        root = project_with(tmp_path, {"calc.py": STUB})
        task = Task(
            kind="complete", path="calc.py", language="python", file_text=STUB, shown_start=1,
            shown_end=2, target_start=2, target_end=2, indent="    ", symbol="double",
        )  # fmt: skip
        answer = Answer("complete", "Double", "Times two.", "return x * 2")
        patch = build_suggestion(task, answer).patch()
        (root / "calc.py").unlink()
        (root / "calc.py").symlink_to("/dev/zero")
        with pytest.raises(PatchRejected):
            apply_to_file(root, patch, sha256_text(STUB))
