"""The TUI marks checked fixes: `✓ verified` in the list, the evidence in the detail pane.

Against a real daemon API serving recorded suggestions, two of them made checked fixes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.tui_support import RECORDED_NOW, RecordedDaemon, recorded_suggestions, screen_text
from tui.app import TakeawaysApp

EVIDENCE = "tests/test_calc.py::test_total passed; was: assert 6 == 10"


def test_a_verified_fix_is_marked_and_its_evidence_shown(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    *older, newest = recorded_suggestions()
    verified = newest.model_copy(update={"verified": True, "evidence": EVIDENCE})
    unverified = older[-1].model_copy(
        update={"verified": False, "evidence": "[bold]breaks[/] tests/t.py::b"}
    )

    async def scenario() -> tuple[str, str]:
        app = TakeawaysApp(root, clock=lambda: RECORDED_NOW, start_daemon=False)
        async with app.run_test(size=(160, 40)) as pilot:
            deadline = time.monotonic() + 15
            while "✓ verified" not in (shown := screen_text(app)):
                assert time.monotonic() < deadline, shown
                await pilot.pause(0.05)
            await pilot.press("down")
            await pilot.pause(0.3)
            return shown, screen_text(app)

    with RecordedDaemon(root, [*older[:-1], unverified, verified]):
        first, second = asyncio.run(scenario())
    assert f"verified: {EVIDENCE}" in first  # the newest is selected first
    assert "unverified" in first
    # Test output is shown literally, never as markup.
    assert "NOT verified: [bold]breaks[/] tests/t.py::b" in second
