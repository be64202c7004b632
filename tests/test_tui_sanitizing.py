"""Hostile model text reaches the screen as inert text: no terminal escapes, no markup.

The hostile suggestion is put straight into a real daemon's store (tests/tui_support.py:
real API server on loopback), skipping the daemon's own sanitizing on purpose: the TUI must
stay safe on its own, whatever a daemon (or a future backend) lets through.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from takeaways_daemon.wire import (
    BackendView,
    DaemonStatus,
    HistoryStats,
    HistoryView,
    MetricsView,
    SuggestionCounts,
    WatcherView,
)
from tests.tui_support import (
    RECORDED_NOW,
    RecordedDaemon,
    main_screen_with_rows,
    recorded_suggestions,
    screen_text,
    terminal_output,
)
from tui.app import TakeawaysApp
from tui.stats_screen import history_table, session_table

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
            "backend": f"evil{OSC_TITLE}",
            "model": f"m{CLEAR_SCREEN}{MARKUP}",
        }
    )
    return RecordedDaemon(root, [hostile])


def test_escape_sequences_and_markup_in_model_text_show_as_inert_text(tmp_path: Path) -> None:
    """Title, explanation, diff, backend and model name, and the project folder's own name
    (file-system text, shown in the header) all carry escapes and markup."""
    root = tmp_path / f"proj{OSC_TITLE}[reverse]x"  # no "/": it is one folder
    root.mkdir()

    async def scenario() -> tuple[str, str]:
        with hostile_daemon(root):
            app = TakeawaysApp(root, clock=lambda: RECORDED_NOW, start_daemon=False)
            async with app.run_test(size=(120, 40)) as pilot:
                await main_screen_with_rows(app, pilot)
                await pilot.pause(0.2)
                return screen_text(app), terminal_output(app)

    shown, written = asyncio.run(scenario())
    # Markup is shown literally: in the list row, the heading, the explanation and the diff.
    assert f"Fix {MARKUP} it" in shown
    assert f"{LINK} and {MARKUP}." in shown
    assert f"# {MARKUP}" in shown
    assert f"evil · m{MARKUP}" in shown  # the detail's backend · model line
    assert "proj[reverse]x" in shown  # the header's project name
    # The escape sequences are gone, payload included, and never reach the terminal. No OSC
    # at all is written, so no hyperlink (OSC 8) was made from the injected [link=...] either.
    assert "pwned" not in shown
    assert "\x1b]" not in written and "\x07" not in written
    assert CLEAR_SCREEN not in written


def test_daemon_strings_in_the_stats_tables_are_not_read_as_markup() -> None:
    """The stats screen's tables take the backend name and stored kinds and outcomes as is."""
    status = DaemonStatus(
        version="1", pid=1, root="/p", uptime_s=0.0,
        backend=BackendView(state="ready", name=f"ollama{OSC_TITLE}", model=MARKUP),
        watcher=WatcherView(mode="inotify"), suggestions=SuggestionCounts(),
        metrics=MetricsView(), history=HistoryView(enabled=False),
    )  # fmt: skip
    stats = HistoryStats(by_kind={MARKUP: 2}, outcomes={f"open{CLEAR_SCREEN}": 1})
    console = Console(width=100, record=True, force_terminal=True, color_system="truecolor")
    console.print(session_table(status), history_table(stats))
    shown = console.export_text()
    assert f"ollama {MARKUP}" in shown
    assert f"{MARKUP} 2" in shown
    assert "open 1" in shown
    written = console.export_text(styles=True)
    assert "pwned" not in written and CLEAR_SCREEN not in written
