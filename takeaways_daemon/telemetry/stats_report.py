"""`takeaways stats` numbers: the last hour, the last day and all time, per kind and model.

Rows come from the encrypted history (every suggestion this project ever kept) joined with this
run's live suggestions, which add what history does not store: the stage timings, tokens and
whether the sandbox verified a fix. Pure functions over plain rows, so they are easy to test.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from takeaways_daemon.metrics import percentile
from takeaways_daemon.wire import (
    STAGES,
    AccuracyRow,
    StageLatency,
    StatsWindow,
    Suggestion,
    SuggestionTelemetry,
)

WINDOWS: tuple[tuple[str, float | None], ...] = (("hour", 3600.0), ("day", 86400.0), ("all", None))
"""Each window's name and length in seconds (None: all time)."""


@dataclass(frozen=True)
class OutcomeRow:
    """One suggestion as the stats see it."""

    id: str
    created_at: float
    kind: str
    model: str
    outcome: str
    rating: int | None
    latency_ms: float
    telemetry: SuggestionTelemetry | None = None

    @classmethod
    def of(cls, suggestion: Suggestion) -> OutcomeRow:
        """A live suggestion's row."""
        return cls(
            suggestion.id, suggestion.created_at, suggestion.kind, suggestion.model,
            suggestion.status, suggestion.rating, suggestion.latency_ms, suggestion.telemetry,
        )  # fmt: skip


def merge_rows(history: Iterable[OutcomeRow], live: Iterable[OutcomeRow]) -> list[OutcomeRow]:
    """History rows, with this run's live row taking the place of the same suggestion's."""
    merged = {(row.id, round(row.created_at, 3)): row for row in history}
    for row in live:
        merged[(row.id, round(row.created_at, 3))] = row
    return sorted(merged.values(), key=lambda row: row.created_at)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def accuracy(rows: list[OutcomeRow]) -> list[AccuracyRow]:
    """Acceptance rate, mean rating and verified-fix rate per (kind, model version)."""
    groups: dict[tuple[str, str], list[OutcomeRow]] = {}
    for row in rows:
        groups.setdefault((row.kind, row.model), []).append(row)
    table = []
    for (kind, model), members in sorted(groups.items()):
        accepted = sum(1 for row in members if row.outcome == "accepted")
        rejected = sum(1 for row in members if row.outcome == "rejected")
        ratings = [row.rating for row in members if row.rating]
        checked = [row.telemetry.verified for row in members if row.telemetry is not None]
        known = [verified for verified in checked if verified is not None]
        verified = sum(known)
        table.append(
            AccuracyRow(
                kind=kind, model=model, suggestions=len(members),
                accepted=accepted, rejected=rejected,
                acceptance_rate=_rate(accepted, accepted + rejected),
                rated=len(ratings),
                mean_rating=statistics.fmean(ratings) if ratings else None,
                verified=verified,
                verified_fix_rate=_rate(verified, len(known)) if kind == "fix" else None,
            )
        )  # fmt: skip
    return table


def window(name: str, rows: list[OutcomeRow], since: float | None) -> StatsWindow:
    """The numbers over `rows` created at or after `since` (all of them when None)."""
    inside = [row for row in rows if since is None or row.created_at >= since]
    latencies = [row.latency_ms for row in inside if row.latency_ms]
    telemetry = [row.telemetry for row in inside if row.telemetry is not None]
    stages = {}
    for stage in STAGES:
        values = [item.stages_ms[stage] for item in telemetry if stage in item.stages_ms]
        if values:
            stages[stage] = StageLatency(
                mean=round(statistics.fmean(values), 3), p95=percentile(values, 0.95)
            )
    return StatsWindow(
        name=name,
        since=since,
        suggestions=len(inside),
        latency_ms={f"p{int(q * 100)}": percentile(latencies, q) for q in (0.5, 0.95, 0.99)},
        stages_ms=stages,
        tokens_in=sum(item.tokens_in or 0 for item in telemetry),
        tokens_out=sum(item.tokens_out or 0 for item in telemetry),
        accuracy=accuracy(inside),
    )


def windows(rows: list[OutcomeRow], now: float) -> list[StatsWindow]:
    """The last hour, the last day and all time."""
    return [
        window(name, rows, None if length is None else now - length) for name, length in WINDOWS
    ]
