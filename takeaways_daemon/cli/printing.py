"""How suggestions and status look in a terminal."""

from __future__ import annotations

from typing import Any

import click

from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.sanitize import strip_control
from takeaways_daemon.wire import (
    DaemonStatus,
    FixView,
    HistoryStats,
    HistoryView,
    LearningView,
    ProgressView,
)

_KIND_COLOURS: dict[TaskKind, str] = {
    "fix": "red",
    "complete": "green",
    "docstring": "cyan",
    "types": "magenta",
    "explain": "blue",
}


def suggestion_text(item: dict[str, Any], *, with_diff: bool = True) -> str:
    """A suggestion as a few coloured lines (all model and file text already sanitized)."""
    kind = item["kind"]
    where = f"{strip_control(item['path'])}:{item['start_line']}-{item['end_line']}"
    head = (
        click.style(f"● {kind:<9}", fg=_KIND_COLOURS.get(kind, "white"), bold=True)
        + f" {where}  {strip_control(item['title'])}"
        + click.style(
            f"  [{item['id']}] {item.get('backend', '')} {item.get('model', '')}"
            f" {item.get('latency_ms', 0) / 1000:.1f}s",
            dim=True,
        )
    )
    lines = [head]
    if item.get("verified") is not None:
        mark = "verified" if item["verified"] else "NOT verified"
        evidence = strip_control(item.get("evidence", ""))
        lines.append(
            click.style(f"    {mark}: {evidence}", fg="green" if item["verified"] else "yellow")
        )
    explanation = strip_control(item.get("explanation", "")).strip()
    if explanation:
        lines.extend(f"    {line}" for line in explanation.splitlines())
    if with_diff and item.get("diff"):
        for line in strip_control(item["diff"]).splitlines():
            colour = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            lines.append("    " + (click.style(line, fg=colour) if colour else line))
    return "\n".join(lines)


def duration(ms: float | None) -> str:
    """A latency for people: `850 ms`, `31.2 s`, `3 min 40 s`; `-` when unknown.

    >>> duration(31215.04755099977), duration(850.4), duration(220_000), duration(None)
    ('31.2 s', '850 ms', '3 min 40 s', '-')
    """
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def counts(values: dict[str, int]) -> str:
    """Named counts as `fix 3, types 9`, largest first; `-` when there are none.

    >>> counts({"types": 9, "fix": 3}), counts({})
    ('types 9, fix 3', '-')
    """
    ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name} {count}" for name, count in ordered) or "-"


def progress_lines(progress: ProgressView) -> list[tuple[str, str]]:
    """`working on`, `queued` and `found nothing` rows, as `status` and `scan` print them."""
    current = progress.current
    if current is None:
        working = "idle"
    else:
        symbol = f" {current.symbol}" if current.symbol else ""
        working = (
            f"{current.kind} {current.path}{symbol}, candidate {current.candidate}/"
            f"{current.candidates}, {duration(current.elapsed_s * 1000)}"
        )
    waiting = f"{progress.queued} background"
    if progress.interactive:
        waiting += f", {progress.interactive} interactive (served first)"
    rows = [("working on", working), ("queued", waiting)]
    for item in progress.recent[:3]:
        rows.append(("found nothing", f"{item.kind} {item.path}: {item.reason}"))
    return rows


def status_text(record: dict[str, Any], status: DaemonStatus) -> str:
    """`takeaways status` as aligned lines."""
    backend = status.backend
    latency = status.metrics.latency_ms
    rows = [
        ("project", status.root),
        ("daemon", f"pid {status.pid}, up {duration(status.uptime_s * 1000)}, v{status.version}"),
        ("api", record["address"]),
        ("token file", record["token_file"]),
        ("log", record["log_file"]),
        ("backend", f"{backend.name or '-'} ({backend.state})"),
        ("model", backend.model or "-"),
        ("why", backend.reason or "-"),
        ("watcher", status.watcher.mode),
        *progress_lines(status.progress),
        ("suggestions", f"{status.suggestions.open} open, {status.suggestions.kept} kept"),
        ("latency", f"p50 {duration(latency.p50)}, p95 {duration(latency.p95)}"),
        ("history", _history_line(status.history)),
        *_fix_rows(status.fix),
        ("learning", _learning_line(status.learning)),
    ]
    return "\n".join(f"{name:<13} {strip_control(str(value))}" for name, value in rows)


def stats_text(stats: HistoryStats) -> str:
    """`takeaways history stats` as aligned lines."""
    rate = stats.acceptance_rate
    rows = [
        ("suggestions", str(stats.total)),
        ("by kind", counts(stats.by_kind)),
        ("outcomes", counts(stats.outcomes)),
        ("accepted", "-" if rate is None else f"{rate:.0%} of those decided"),
        ("ratings", f"{stats.ratings.up} up, {stats.ratings.down} down"),
        (
            "latency",
            f"p50 {duration(stats.latency_ms.p50)}, p95 {duration(stats.latency_ms.p95)}",
        ),
    ]
    return "\n".join(f"{name:<12} {strip_control(value)}" for name, value in rows)


def _fix_rows(fix: FixView | None) -> list[tuple[str, str]]:
    """The test runner and sandbox lines: what runs the project's tests, or why nothing does."""
    if fix is None:
        return []
    if not fix.sandbox:
        return [("tests", f"never run: {fix.sandbox_reason}")]
    mode = "off" if fix.tests == "off" else f"{fix.tests}, in {fix.sandbox_reason}"
    return [("tests", mode), ("test python", fix.interpreter)]


def _learning_line(learning: LearningView) -> str:
    """On or off; the running round's stage, else the trigger's last decision."""
    if not learning.enabled:
        return "off (`takeaways learn on` to opt in)"
    if learning.round_running:
        return f"on, round running: {learning.stage or 'starting'}"
    started = learning.rounds_started
    return f"on, {learning.last_decision or '-'} ({started} rounds started by this daemon)"


def _history_line(history: HistoryView) -> str:
    if not history.enabled:
        return "off"
    line = f"on ({history.key_source}), {history.path}"
    return f"{line}, {history.errors} write errors" if history.errors else line
