"""The TUI against a real daemon, as a developer uses it: Pilot drives the app, a real daemon
(started by the TUI itself through `takeaways start`) watches a temp project with real inotify
and answers with the real packaged gemma-3-270m through llama-cpp-python.

Only `fix` tasks are enabled so that the edits these tests make do not queue other work.
"""

from __future__ import annotations

import ast
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from takeaways_daemon.runtime_files import ProjectFiles
from takeaways_daemon.wire import Suggestion
from tests.tui_support import screen_text
from tui.app import TakeawaysApp
from tui.display_text import one_line
from tui.main_screen import MainScreen

pytestmark = pytest.mark.model
BROKEN = "def add(a, b)\n    return a + b\n\n\nprint(add(1, 2))\n"
SUGGESTION_TIMEOUT_S = 180


@pytest.fixture
def project(
    tmp_path: Path, use_base_model: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("demo\n")
    monkeypatch.setenv("TAKEAWAYS_SAMPLING__SEED", "7")  # repeatable answers on one machine
    monkeypatch.setenv("TAKEAWAYS_WATCHER__DEBOUNCE_MS", "100")
    monkeypatch.setenv("TAKEAWAYS_TASKS__ENABLED", '["fix"]')
    yield root
    if ProjectFiles(root).is_locked():
        subprocess.run(
            [sys.executable, "-m", "takeaways_daemon", "stop", str(root)],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip


async def wait_until(pilot, condition: Callable[[], object], timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s; screen:\n{screen_text(pilot.app)}")
        await pilot.pause(0.1)


def main_screen(app: TakeawaysApp) -> MainScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    return screen


async def wait_for_fix_row(pilot, project: Path) -> Suggestion:  # type: ignore[no-untyped-def]
    """Save a file with a syntax error; return the fix suggestion once its row shows."""
    app = pilot.app
    await wait_until(pilot, lambda: main_screen(app).status_bar.link == "connected", 90)
    (project / "calc.py").write_text(BROKEN)
    listed = main_screen(app).suggestions
    await wait_until(pilot, lambda: listed.row_count > 0, SUGGESTION_TIMEOUT_S)
    item = listed.selected
    assert item is not None and item.kind == "fix" and item.path == "calc.py"
    assert "calc.py:1" in screen_text(app)
    return item


def test_a_save_shows_a_row_and_accept_changes_the_file_on_disk(project: Path) -> None:
    """Launch (the TUI starts the daemon) → save a syntax error → a fix row → `a` → file parses."""

    async def scenario() -> None:
        app = TakeawaysApp(project)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            item = await wait_for_fix_row(pilot, project)
            assert app.link.started_here
            assert one_line(item.title, 20).rstrip("…") in screen_text(app)
            await pilot.press("a")
            await wait_until(pilot, lambda: (project / "calc.py").read_text() != BROKEN, 30)
            await wait_until(pilot, lambda: main_screen(app).suggestions.row_count == 0, 10)

    asyncio.run(scenario())
    fixed = (project / "calc.py").read_text()
    ast.parse(fixed)
    assert fixed.endswith("print(add(1, 2))\n")
    assert ProjectFiles(project).is_locked(), "quitting the TUI must leave the daemon running"


def test_reject_removes_the_row_and_leaves_the_file_alone(project: Path) -> None:
    async def scenario() -> None:
        app = TakeawaysApp(project)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            item = await wait_for_fix_row(pilot, project)
            await pilot.press("r")
            listed = main_screen(app).suggestions
            await wait_until(pilot, lambda: item.id not in listed.items, 15)
            assert listed.row_count == 0
            assert "No suggestions yet" in screen_text(app)

    asyncio.run(scenario())
    assert (project / "calc.py").read_text() == BROKEN


def test_accepting_after_the_file_changed_is_refused_with_a_notification(project: Path) -> None:
    """The file is edited after the suggestion was made: accept is refused, nothing is written."""
    edited = "def add(a, b):  # fixed by hand\n    return a + b\n"

    async def scenario() -> None:
        app = TakeawaysApp(project)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await wait_for_fix_row(pilot, project)
            (project / "calc.py").write_text(edited)
            await pilot.press("a")
            await wait_until(pilot, lambda: "Accept refused" in screen_text(app), 20)
            notices = [notice.message for notice in app._notifications]
            assert any("calc.py" in message for message in notices), notices

    asyncio.run(scenario())
    assert (project / "calc.py").read_text() == edited


def test_a_killed_daemon_shows_disconnected_then_the_tui_reconnects(project: Path) -> None:
    """SIGKILL the daemon: the status bar says disconnected; start it again: the TUI recovers."""

    async def scenario() -> None:
        app = TakeawaysApp(project)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            status = main_screen(app).status_bar
            await wait_until(pilot, lambda: status.link == "connected", 90)
            first_pid = ProjectFiles(project).read_runtime().pid
            os.kill(first_pid, signal.SIGKILL)
            await wait_until(pilot, lambda: "disconnected" in screen_text(app), 20)
            assert "Daemon disconnected" in screen_text(app)
            restarted = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "takeaways_daemon", "start", str(project)],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert restarted.returncode == 0, restarted.stderr
            await wait_until(pilot, lambda: status.link == "connected", 30)
            assert "● connected" in screen_text(app)
            assert ProjectFiles(project).read_runtime().pid != first_pid

    asyncio.run(scenario())


def test_explain_more_streams_the_models_answer_into_the_detail_pane(project: Path) -> None:
    """`e` asks the model; its words appear in the pane as they stream, before it finishes."""

    async def scenario() -> None:
        app = TakeawaysApp(project)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await wait_for_fix_row(pilot, project)
            detail = main_screen(app).detail
            await pilot.press("e")
            await wait_until(pilot, lambda: "Q: Explain this suggestion" in screen_text(app), 10)
            await wait_until(pilot, lambda: detail.follow_up_text.strip(), 120)
            assert not detail.query_one("#follow-up-progress").display
            words = detail.follow_up_text.split()
            assert any(word in screen_text(app) for word in words)

    asyncio.run(scenario())
