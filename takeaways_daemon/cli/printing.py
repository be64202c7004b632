"""How suggestions and status look in a terminal."""

from __future__ import annotations

from typing import Any

import click

from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.sanitize import strip_control

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
    explanation = strip_control(item.get("explanation", "")).strip()
    if explanation:
        lines.extend(f"    {line}" for line in explanation.splitlines())
    if with_diff and item.get("diff"):
        for line in strip_control(item["diff"]).splitlines():
            colour = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            lines.append("    " + (click.style(line, fg=colour) if colour else line))
    return "\n".join(lines)


def status_text(record: dict[str, Any], status: dict[str, Any]) -> str:
    """`takeaways status` as aligned lines."""
    backend = status["backend"]
    latency = status["metrics"]["latency_ms"]
    rows = [
        ("project", status["root"]),
        ("daemon", f"pid {status['pid']}, up {status['uptime_s']:.0f}s, v{status['version']}"),
        ("api", record["address"]),
        ("token file", record["token_file"]),
        ("log", record["log_file"]),
        ("backend", f"{backend['name'] or '-'} ({backend['state']})"),
        ("model", backend["model"] or "-"),
        ("why", backend["reason"] or "-"),
        ("watcher", status["watcher"]["mode"]),
        ("queue depth", str(status["watcher"]["queue_depth"])),
        (
            "suggestions",
            f"{status['suggestions']['open']} open, {status['suggestions']['kept']} kept",
        ),
        ("latency", f"p50 {latency['p50'] or '-'} ms, p95 {latency['p95'] or '-'} ms"),
        ("history", _history_line(status.get("history", {}))),
        ("learning", _learning_line(status.get("learning", {}))),
    ]
    return "\n".join(f"{name:<12} {strip_control(str(value))}" for name, value in rows)


def _learning_line(learning: dict[str, Any]) -> str:
    """On or off; the running round's stage, else the trigger's last decision."""
    if not learning.get("enabled"):
        return "off (`takeaways learn on` to opt in)"
    if learning.get("round_running"):
        return f"on, round running: {learning.get('stage') or 'starting'}"
    started = learning.get("rounds_started", 0)
    return f"on, {learning.get('last_decision') or '-'} ({started} rounds started by this daemon)"


def _history_line(history: dict[str, Any]) -> str:
    if not history.get("enabled"):
        return "off"
    line = f"on ({history['key_source']}), {history['path']}"
    errors = history.get("errors", 0)
    return f"{line}, {errors} write errors" if errors else line
