"""History statistics for `GET /history/stats` and `takeaways history stats`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.metrics import percentile


def history_stats(store: HistoryStore, *, project: str | None = None) -> dict[str, Any]:
    """Counts by kind and outcome, acceptance rate, ratings and latency percentiles."""
    if project is None:
        with store.read_transaction() as db:
            rows = db.execute("SELECT kind, outcome, rating, latency_ms FROM records").fetchall()
    else:
        records, _ = store.query(project=project, limit=None)
        rows = [(r.kind, r.outcome, r.rating, r.latency_ms) for r in records]
    kinds = Counter(kind for kind, _, _, _ in rows)
    outcomes = Counter(outcome for _, outcome, _, _ in rows)
    decided = outcomes["accepted"] + outcomes["rejected"]
    latencies = sorted(latency for _, _, _, latency in rows if latency)
    return {
        "total": len(rows),
        "by_kind": dict(kinds),
        "outcomes": dict(outcomes),
        "acceptance_rate": outcomes["accepted"] / decided if decided else None,
        "ratings": {
            "up": sum(1 for _, _, rating, _ in rows if rating == 1),
            "down": sum(1 for _, _, rating, _ in rows if rating == -1),
        },
        "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95)},
    }
