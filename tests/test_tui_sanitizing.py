"""Hostile model text reaches the screen as inert text: no terminal escapes, no markup.

The hostile suggestion is put straight into a real daemon's store (tests/tui_support.py:
real API server on loopback), skipping the daemon's own sanitizing on purpose: the TUI must
stay safe on its own, whatever a daemon (or a future backend) lets through.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.tui_support import (
    RECORDED_NOW,
    RecordedDaemon,
    recorded_suggestions,
    screen_text,
    terminal_output,
)
from tui.app import TakeawaysApp
from tui.main_screen import MainScreen

OSC_TITLE = "\x1b]0;pwned\x07"
CLEAR_SCREEN = "\x1b[2J"
MARKUP = "[bold red]x[/]"
LINK = "[link=https://evil.example]click[/link]"


def hostile_daemon(root: Path) -> RecordedDaemon:
    template = recorded_suggestions()[-1]
    hostile = template.model_copy(
        update={
            "id": "bad0bad0",
            "title": f"Fix {OSC_TITLE}{MARKUP} it",
            "explanation": f"Because {CLEAR_SCREEN}{LINK} and {MARKUP}{OSC_TITLE}.",
            "diff": template.diff.replace(
                "+def add(a, b):", f"+def add(a, b):  # {MARKUP}{CLEAR_SCREEN}"
            ),
        }
    )
    return RecordedDaemon(root, [hostile])


def test_escape_sequences_and_markup_in_model_text_show_as_inert_text(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()

    async def scenario() -> tuple[str, str]:
        with hostile_daemon(root):
            app = TakeawaysApp(root, clock=lambda: RECORDED_NOW, start_daemon=False)
            async with app.run_test(size=(120, 40)) as pilot:
                screen = app.screen_stack[0]
                assert isinstance(screen, MainScreen)
                deadline = time.monotonic() + 15
                while screen.suggestions.row_count == 0:
                    assert time.monotonic() < deadline, screen_text(app)
                    await pilot.pause(0.05)
                await pilot.pause(0.2)
                return screen_text(app), terminal_output(app)

    shown, written = asyncio.run(scenario())
    # Markup is shown literally: in the list row, the heading, the explanation and the diff.
    assert f"Fix {MARKUP} it" in shown
    assert f"{LINK} and {MARKUP}." in shown
    assert f"# {MARKUP}" in shown
    # The escape sequences are gone, payload included, and never reach the terminal. No OSC
    # at all is written, so no hyperlink (OSC 8) was made from the injected [link=...] either.
    assert "pwned" not in shown
    assert "\x1b]" not in written and "\x07" not in written
    assert CLEAR_SCREEN not in written
