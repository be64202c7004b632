"""The status bar's and progress line's text at the widths people use (80 columns and up)."""

from __future__ import annotations

import pytest

from takeaways_daemon.wire import (
    BackendView,
    DaemonStatus,
    HistoryView,
    MetricsView,
    NothingFound,
    ProgressView,
    SuggestionCounts,
    TaskProgress,
    WatcherView,
)
from tui.progress_line import progress_text
from tui.status_bar import status_line

LONG_MODEL = "hf.co/bartowski/Qwen2.5-Coder-7B-Instruct-GGUF:Q4_K_M"


def _status(model: str) -> DaemonStatus:
    return DaemonStatus(
        version="1", pid=1, root="/p", uptime_s=1.0,
        backend=BackendView(state="ready", name="ollama", model=model),
        watcher=WatcherView(mode="polling", queue_depth=2),
        suggestions=SuggestionCounts(), metrics=MetricsView(), history=HistoryView(enabled=False),
    )  # fmt: skip


@pytest.mark.parametrize("width", [78, 118])
def test_a_long_model_name_gives_way_and_the_watcher_mode_stays(width: int) -> None:
    line = status_line("connected", _status(LONG_MODEL), width).plain
    assert len(line) <= width, line
    assert line.endswith("│ queue 2 │ polling")
    assert "ollama hf.co/" in line


def test_a_short_model_name_is_shown_whole() -> None:
    line = status_line("connected", _status("takeaways"), 78).plain
    assert "│ ollama takeaways │" in line


def test_the_progress_line_fits_80_columns_and_keeps_the_cancel_hint_when_the_path_is_long() -> (
    None
):
    task = TaskProgress(path="pkg/" + "deep/" * 20 + "m.py", kind="types", candidate=1)
    line = progress_text(ProgressView(current=task, queued=4, interactive=1), width=78).plain
    assert len(line) <= 78
    assert line.startswith("⟳ types pk…")
    assert line.endswith("candidate 1/1 · 0 s · 4 queued · 1 interactive first · x cancels")


def test_the_progress_line_says_why_the_last_task_found_nothing() -> None:
    nothing = NothingFound(path="calc.py", kind="types", reason="3 candidates rejected: no def")
    line = progress_text(ProgressView(recent=[nothing]), width=78).plain
    assert line == "○ found nothing: types calc.py: 3 candidates rejected: no def"
