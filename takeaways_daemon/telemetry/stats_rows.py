"""A stats report as labelled rows: `takeaways stats` prints them, the TUI's stats screen too.

One function decides what is shown and how each number reads, so the CLI and the TUI never
disagree. Model names come from the daemon and are sanitized here.
"""

from __future__ import annotations

from takeaways_daemon.sanitize import strip_control
from takeaways_daemon.wire import STAGES, MemoryView, StatsReport, StatsWindow

TITLES = {"hour": "Last hour", "day": "Last day", "all": "All time"}


def seconds(milliseconds: float | None) -> str:
    """Milliseconds as seconds for people; `–` when unknown.

    >>> seconds(1234.0), seconds(None)
    ('1.23 s', '–')
    """
    return "–" if milliseconds is None else f"{milliseconds / 1000:.2f} s"


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _mebibytes(size: int | None) -> str:
    return "–" if size is None else f"{size / (1 << 20):.0f} MiB"


def window_rows(window: StatsWindow) -> list[tuple[str, str]]:
    """One window: counts, latency percentiles, time per stage, tokens, accuracy per kind/model."""
    latency = window.latency_ms
    rows = [
        ("suggestions", str(window.suggestions)),
        ("save → suggestion", "  ".join(f"{q} {seconds(latency.get(q))}" for q in latency)),
    ]
    stages = [f"{s} {seconds(window.stages_ms[s].mean)}" for s in STAGES if s in window.stages_ms]
    if stages:
        rows.append(("mean per stage", "  ".join(stages)))
    if window.tokens_in or window.tokens_out:
        rows.append(("tokens", f"in {window.tokens_in}  out {window.tokens_out}"))
    for row in window.accuracy:
        label = strip_control(f"{row.kind} · {row.model or '?'}")
        values = (
            f"{row.suggestions} made  accepted {_percent(row.acceptance_rate)}"
            f" ({row.accepted}/{row.accepted + row.rejected})"
            f"  rating {'–' if row.mean_rating is None else f'{row.mean_rating:+.2f}'}"
            f" ({row.rated})"
        )
        if row.kind == "fix":
            values += f"  verified {_percent(row.verified_fix_rate)}"
        rows.append((label, values))
    return rows


def memory_rows(memory: MemoryView, queue_depth: int) -> list[tuple[str, str]]:
    """The daemon's memory and queue now."""
    daemon = f"{_mebibytes(memory.rss_bytes)} (peak {_mebibytes(memory.peak_rss_bytes)})"
    model = _mebibytes(memory.model_bytes) if memory.model_bytes else "– (not in the daemon)"
    return [("daemon memory", daemon), ("model memory", model), ("queue depth", str(queue_depth))]


def report_text(report: StatsReport) -> str:
    """The whole report as aligned plain text."""
    backend = strip_control(f"{report.backend or '–'} {report.model or ''}").strip()
    source = "history and this run" if report.history else "this run only (history is off)"
    now = [("backend", backend), ("source", source)]
    now += memory_rows(report.memory, report.queue_depth)
    sections = [("Now", now)]
    sections += [(TITLES.get(w.name, w.name), window_rows(w)) for w in report.windows]
    width = max(len(label) for _, rows in sections for label, _ in rows)
    lines: list[str] = []
    for title, rows in sections:
        lines.append(title)
        lines.extend(f"  {label:<{width}}  {value}" for label, value in rows)
    return "\n".join(lines)
