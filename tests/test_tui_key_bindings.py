"""Every binding has an id, and `[tui.bindings]` remaps it; unknown ids are a clear error.

The remapping test drives the app against a real daemon API serving recorded suggestions
(tests/tui_support.py) and checks the daemon's own store, not the screen alone.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from takeaways_daemon.errors import ConfigError
from takeaways_daemon.settings import load_settings
from tests.tui_support import (
    RECORDED_NOW,
    RecordedDaemon,
    main_screen_with_rows,
    recorded_suggestions,
    screen_text,
)
from tui.app import TakeawaysApp
from tui.app import main as tui_main
from tui.key_bindings import ALL, BINDING_IDS
from tui.main_screen import MainScreen


def test_binding_ids_are_unique_and_every_app_binding_has_one() -> None:
    assert len(BINDING_IDS) == len({spec.id for spec in ALL}) == len(ALL)
    bindings = [*TakeawaysApp.BINDINGS, *MainScreen.BINDINGS]
    assert all(getattr(binding, "id", None) in BINDING_IDS for binding in bindings)


def test_an_unknown_binding_id_is_refused_at_tui_start_naming_the_valid_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings carry the mapping (the daemon knows no TUI ids); the TUI refuses a bad one."""
    monkeypatch.setenv("TAKEAWAYS_TUI__BINDINGS", '{"acept": "y"}')
    assert load_settings().tui.bindings == {"acept": "y"}
    with pytest.raises(ConfigError) as refused:
        TakeawaysApp(tmp_path, start_daemon=False)
    message = str(refused.value)
    assert "unknown binding id 'acept'" in message
    assert "valid ids: accept, ask, back" in message


def test_takeaways_tui_prints_the_bad_binding_as_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TAKEAWAYS_TUI__BINDINGS", '{"acept": "y"}')
    with pytest.raises(SystemExit) as exited:
        tui_main([str(tmp_path)])
    assert str(exited.value).startswith("takeaways-tui: [tui.bindings] has unknown binding id")
    assert "Traceback" not in capsys.readouterr().err


def test_a_remapped_key_runs_its_action_and_the_old_key_no_longer_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAKEAWAYS_TUI__BINDINGS", '{"reject": "x"}')
    root = tmp_path / "project"
    root.mkdir()
    newest = recorded_suggestions()[-1].id

    async def scenario(daemon: RecordedDaemon) -> str:
        app = TakeawaysApp(root, clock=lambda: RECORDED_NOW, start_daemon=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await main_screen_with_rows(app, pilot)
            await pilot.press("r")
            await pilot.pause(0.5)
            assert daemon.service.get(newest).status == "open"
            await pilot.press("x")
            deadline = time.monotonic() + 15
            while daemon.service.get(newest).status != "rejected":
                assert time.monotonic() < deadline
                await pilot.pause(0.05)
            await pilot.press("f1")
            await pilot.pause(0.3)
            return screen_text(app)

    with RecordedDaemon(root, recorded_suggestions()) as daemon:
        help_text = asyncio.run(scenario(daemon))
    reject_line = next(line for line in help_text.splitlines() if " reject " in line)
    assert reject_line.split()[1] == "x", reject_line
