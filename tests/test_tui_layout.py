"""The app works in 80x24 (the smallest terminal it supports) and moves fast through long lists.

Against a real daemon API serving recorded suggestions (tests/tui_support.py).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.tui_support import (
    RECORDED_NOW,
    RecordedDaemon,
    main_screen_with_rows,
    many_suggestions,
    recorded_suggestions,
    screen_text,
)
from tui.app import TakeawaysApp
from tui.detail_body import DetailBody
from tui.key_bindings import ALL
from tui.main_screen import MainScreen


def test_at_80x24_the_footer_keeps_quit_and_help_shows_every_key_in_full(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()

    async def scenario() -> tuple[str, str, float]:
        app = TakeawaysApp(root, clock=lambda: RECORDED_NOW, start_daemon=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen_stack[0]
            assert isinstance(screen, MainScreen)
            deadline = time.monotonic() + 15
            # Until the list and the footer (filled in once the bindings are known) are drawn.
            while not (main := screen_text(app)).splitlines()[-1].strip():
                assert time.monotonic() < deadline, main
                await pilot.pause(0.05)
            await pilot.press("question_mark")
            await pilot.pause(0.3)
            help_body = app.screen.query_one("#help-body")
            return main, screen_text(app), help_body.max_scroll_y

    with RecordedDaemon(root, recorded_suggestions()):
        main, shown, overflow = asyncio.run(scenario())
    footer = main.splitlines()[-1]
    assert "q Quit" in footer and "? Help" in footer, footer
    lines = shown.splitlines()
    for spec in ALL:
        # Each key on one line with its id and its whole description: nothing cut or wrapped.
        assert any(spec.id in line and spec.help in line for line in lines), spec.id
    assert overflow == 0, "the key list should fit without scrolling at 80x24"


def test_moving_through_1000_suggestions_shows_each_one_in_the_detail_pane(
    tmp_path: Path,
) -> None:
    """The detail pane follows the cursor (down, then back up through cached renders)."""
    root = tmp_path / "project"
    root.mkdir()
    listed = many_suggestions(1000)
    newest_first = [item.title for item in reversed(listed)]

    async def scenario() -> list[str]:
        app = TakeawaysApp(root, clock=lambda: RECORDED_NOW, start_daemon=False)
        seen = []
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen_stack[0]
            assert isinstance(screen, MainScreen)
            deadline = time.monotonic() + 30
            while screen.suggestions.row_count != 1000:
                assert time.monotonic() < deadline
                await pilot.pause(0.05)
            body = screen.query_one("#detail-body", DetailBody)
            for key in ["down"] * 3 + ["up"] * 3:
                await pilot.press(key)
                seen.append(body.text.splitlines()[0])
        return seen

    with RecordedDaemon(root, listed):
        headings = asyncio.run(scenario())
    expected = [newest_first[i] for i in (1, 2, 3, 2, 1, 0)]
    assert all(title in heading for title, heading in zip(expected, headings, strict=True)), (
        headings
    )


def test_rows_drawn_before_the_table_measured_them_are_redrawn_at_full_width(
    tmp_path: Path,
) -> None:
    """A frame drawn between adding rows and the table sizing its columns must not stick.

    (Textual's DataTable kept such lines cut to the old column widths: measured_table.py.)
    """
    root = tmp_path / "project"
    root.mkdir()
    longer = "A much longer title than any of the recorded ones, still one line"

    async def scenario() -> str:
        app = TakeawaysApp(root, clock=lambda: RECORDED_NOW, start_daemon=False)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await main_screen_with_rows(app, pilot)
            await pilot.pause(0.2)
            items = [
                item.model_copy(update={"title": longer})
                for item in screen.suggestions.items.values()
            ]
            screen.suggestions.replace_all(items)
            screen_text(app)  # a frame drawn before the table is idle again
            await pilot.pause(0.3)
            return screen_text(app)

    with RecordedDaemon(root, recorded_suggestions()):
        shown = asyncio.run(scenario())
    listed = shown.splitlines()[2]
    assert longer in listed, listed
