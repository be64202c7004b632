"""The learning loop is visible: `takeaways status` has a learning line, and the TUI's status bar
a learning segment while opted in (nothing at all while off)."""

from __future__ import annotations

from takeaways_daemon.cli.printing import status_text
from takeaways_daemon.wire import (
    BackendView,
    DaemonStatus,
    HistoryView,
    LearningView,
    MetricsView,
    SuggestionCounts,
    WatcherView,
)
from tui.status_bar import status_line

RECORD = {"address": "unix:/run/api.sock", "token_file": "/run/token", "log_file": "/run/log"}


def daemon_status(learning: LearningView) -> DaemonStatus:
    return DaemonStatus(
        version="0.1.0", pid=42, root="/project", uptime_s=3.0,
        backend=BackendView(state="ready", name="embedded", model="gemma-3-270m"),
        watcher=WatcherView(mode="inotify"), suggestions=SuggestionCounts(kept=0, open=0),
        metrics=MetricsView(), history=HistoryView(enabled=False), learning=learning,
    )  # fmt: skip


def learning_printed(learning: LearningView) -> str:
    lines = status_text(RECORD, daemon_status(learning)).splitlines()
    return next(line for line in lines if line.startswith("learning"))


def test_status_says_learning_is_off_and_how_to_opt_in() -> None:
    assert "off (`takeaways learn on`" in learning_printed(LearningView())


def test_status_shows_the_running_rounds_stage() -> None:
    running = LearningView(enabled=True, round_running=True, stage="train", rounds_started=1)
    assert learning_printed(running).endswith("on, round running: train")


def test_status_shows_the_triggers_last_decision_between_rounds() -> None:
    waiting = LearningView(enabled=True, last_decision="waiting: 12/30 accepted")
    assert "on, waiting: 12/30 accepted (0 rounds started" in learning_printed(waiting)


def test_status_bar_shows_nothing_about_learning_while_off() -> None:
    assert "learning" not in status_line("connected", daemon_status(LearningView())).plain


def test_status_bar_shows_learning_on_and_then_the_rounds_stage() -> None:
    idle = status_line("connected", daemon_status(LearningView(enabled=True))).plain
    assert idle.endswith("│ learning on")
    running = LearningView(enabled=True, round_running=True, stage="gguf")
    assert status_line("connected", daemon_status(running)).plain.endswith("│ learning: gguf")
