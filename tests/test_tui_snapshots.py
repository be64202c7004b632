"""How each screen looks, at 80×24 and 120×40 (pytest-textual-snapshot; SVGs in __snapshots__).

Why recorded suggestions rather than the live model: a snapshot must be byte-for-byte
repeatable, and real model text, latencies and ages differ between runs. So the app talks to
a real daemon API (real FastAPI app, guard and token, real uvicorn on 127.0.0.1, registered in
the project's runtime files like a started daemon; see tests/tui_support.py) whose stores hold
the suggestions recorded in tests/tui_recorded_suggestions.json, and the app's clock is pinned
to the recording's "now" so the age column is fixed. The history is the real encrypted
history store (the session's throwaway keyring), filled by the same recorder the daemon uses.

Review changed snapshots with `pytest --snapshot-report`; regenerate with `--snapshot-update`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from takeaways_daemon.context import plan_file_tasks
from tests.tui_support import RECORDED_NOW, RecordedDaemon, recorded_suggestions, screen_text
from tui.app import TakeawaysApp
from tui.daemon_link import DaemonLink
from tui.status_bar import StatusBar
from tui.suggestion_list import SuggestionList

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SnapCompare = Callable[..., bool]
MODELS_SOURCE = "class Item:\n    def __init__(self, name, price):\n        self.name = name\n"
START_ERROR = (
    "wrong passphrase for /home/me/.local/state/takeaways/history.keyfile; check "
    "TAKEAWAYS_HISTORY_PASSPHRASE"
)


@pytest.fixture
def recorded_daemon(tmp_path: Path) -> Iterator[RecordedDaemon]:
    root = tmp_path / "demo-project"
    root.mkdir()
    with RecordedDaemon(root, recorded_suggestions()) as daemon:
        # Outcomes for the history screen, through the same service calls the API makes.
        daemon.service.reject("9c41d2e7")
        daemon.service.rate("71f3c0aa", 1)
        daemon.service.rate("e02d5b6f", -1)
        yield daemon


def make_app(daemon: RecordedDaemon) -> TakeawaysApp:
    return TakeawaysApp(daemon.root, clock=lambda: RECORDED_NOW, start_daemon=False)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        shown = screen_text(pilot.app)
        assert time.monotonic() < deadline, f"the screen did not finish loading:\n{shown}"
        await pilot.pause(0.05)


async def main_loaded(pilot: Pilot[Any]) -> None:
    def loaded() -> bool:
        screen = pilot.app.screen_stack[0]
        lists, bars = screen.query(SuggestionList), screen.query(StatusBar)
        if not (lists and bars and lists.first().row_count == 4 and bars.first().status):
            return False
        # Drawn, not only listed: the table sizes its columns when idle, and a screen pushed on
        # top (help) would otherwise freeze the main screen behind it with unsized columns.
        shown = screen_text(pilot.app)
        return "docstring" in shown and "Annotate Item.__init__" in shown and "q Quit" in shown

    await until(pilot, loaded)


Step = Callable[[Pilot[Any]], Awaitable[None]]


def then(*steps: Step) -> Step:
    async def run(pilot: Pilot[Any]) -> None:
        for step in steps:
            await step(pilot)

    return run


async def open_history(pilot: Pilot[Any]) -> None:
    await pilot.press("h")
    await until(pilot, lambda: pilot.app.screen.query_one("#history-table").row_count == 5)


async def open_stats(pilot: Pilot[Any]) -> None:
    await pilot.press("s")
    await until(pilot, lambda: "All history" in screen_text(pilot.app))


async def open_help(pilot: Pilot[Any]) -> None:
    await pilot.press("f1")
    await until(pilot, lambda: "history-outcome" in screen_text(pilot.app))


@pytest.mark.parametrize("size", SIZES)
class TestScreens:
    def test_main_screen_lists_suggestions_newest_first_with_the_first_in_detail(
        self, snap_compare: SnapCompare, recorded_daemon: RecordedDaemon, size: tuple[int, int]
    ) -> None:
        """Four listed (the rejected one is gone), the stale one marked, the fix in detail."""
        app = make_app(recorded_daemon)
        assert snap_compare(app, terminal_size=size, run_before=main_loaded)

    def test_history_screen_shows_every_suggestion_with_its_outcome_and_rating(
        self, snap_compare: SnapCompare, recorded_daemon: RecordedDaemon, size: tuple[int, int]
    ) -> None:
        steps = then(main_loaded, open_history)
        assert snap_compare(make_app(recorded_daemon), terminal_size=size, run_before=steps)

    def test_stats_screen_shows_history_and_session_numbers(
        self,
        snap_compare: SnapCompare,
        recorded_daemon: RecordedDaemon,
        size: tuple[int, int],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # The daemon's memory is live; pinned so the picture is the same on every machine.
        memory = "takeaways_daemon.telemetry.memory"
        monkeypatch.setattr(f"{memory}.process_rss_bytes", lambda pid="self": 96 << 20)
        monkeypatch.setattr(f"{memory}.peak_rss_bytes", lambda: 128 << 20)
        assert snap_compare(
            make_app(recorded_daemon), terminal_size=size, run_before=then(main_loaded, open_stats)
        )

    def test_help_screen_lists_every_key_with_its_binding_id(
        self, snap_compare: SnapCompare, recorded_daemon: RecordedDaemon, size: tuple[int, int]
    ) -> None:
        assert snap_compare(
            make_app(recorded_daemon), terminal_size=size, run_before=then(main_loaded, open_help)
        )

    def test_the_progress_line_says_why_the_last_task_found_nothing(
        self, snap_compare: SnapCompare, recorded_daemon: RecordedDaemon, size: tuple[int, int]
    ) -> None:
        """The daemon's own tracker holds a task that ended with nothing; `/status` carries it."""
        task = next(iter(plan_file_tasks("shop/models.py", MODELS_SOURCE, ["types"], 40)))
        reason = "3 candidates rejected: the annotated signature is not a def"
        recorded_daemon.service.progress.nothing_found(task, reason)

        async def progress_shown(pilot: Pilot[Any]) -> None:
            await main_loaded(pilot)
            await until(pilot, lambda: "found nothing" in screen_text(pilot.app))

        app = make_app(recorded_daemon)
        assert snap_compare(app, terminal_size=size, run_before=progress_shown)

    def test_a_start_up_error_stays_in_a_panel_above_the_list(
        self, snap_compare: SnapCompare, recorded_daemon: RecordedDaemon, size: tuple[int, int]
    ) -> None:
        """The panel's looks, with a fixed error (the tmux tests make the daemon really fail)."""

        async def failed(pilot: Pilot[Any]) -> None:
            await main_loaded(pilot)
            failure = DaemonLink.StartFailed(START_ERROR, Path("/home/me/.local/state/daemon.log"))
            pilot.app.screen_stack[0].post_message(failure)
            await until(pilot, lambda: "could not start (see above)" in screen_text(pilot.app))

        assert snap_compare(make_app(recorded_daemon), terminal_size=size, run_before=failed)
