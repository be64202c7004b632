"""Counters and latency samples for `takeaways status`, the API and the TUI's stats.

The engine counts its own work (malformed and rejected answers, cancellations); what happens to
suggestions is counted by `on_store_event`, a listener on the suggestion store.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from dataclasses import dataclass, field

from takeaways_daemon.suggestion_events import (
    StoreEvent,
    SuggestionAdded,
    SuggestionChanged,
    SuggestionRemoved,
)
from takeaways_daemon.wire import LatencyView, MetricsView

# The counter a suggestion's new status adds to (the names `status` and the TUI's stats read).
_STATUS_COUNTERS = {"accepted": "accepted", "rejected": "rejected_by_user", "stale": "went_stale"}


def percentile(samples: list[float], fraction: float) -> float | None:
    """The value below which `fraction` of `samples` lie (nearest rank); None when empty.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5)
    2.0
    """
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Metrics:
    """What the daemon has done since it started."""

    counters: Counter[str] = field(default_factory=Counter)
    save_to_suggestion_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    generation_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    last_latency_ms: float | None = None

    def count(self, name: str, amount: int = 1) -> None:
        """Add to a named counter (suggestions, malformed, rejected, backend_errors, …)."""
        self.counters[name] += amount

    def record_suggestion(self, save_to_suggestion_ms: float) -> None:
        """A suggestion was stored, this long after the save that caused it."""
        self.save_to_suggestion_ms.append(save_to_suggestion_ms)
        self.last_latency_ms = save_to_suggestion_ms

    def on_store_event(self, event: StoreEvent) -> None:
        """Count what happened to a suggestion (subscribed to the suggestion store's events)."""
        suggestion = event.suggestion
        if isinstance(event, SuggestionAdded):
            self.count("suggestions")
            self.count(f"suggestions_{suggestion.kind}")
            self.record_suggestion(suggestion.latency_ms)
        elif isinstance(event, SuggestionChanged):
            if event.status_changed and suggestion.status in _STATUS_COUNTERS:
                self.count(_STATUS_COUNTERS[suggestion.status])
            if event.rating_changed and suggestion.rating:
                self.count("rated_up" if suggestion.rating > 0 else "rated_down")
            if not event.status_changed and suggestion.start_line != event.previous.start_line:
                self.count("moved")
        elif isinstance(event, SuggestionRemoved):
            self.count("evicted")

    def snapshot(self) -> MetricsView:
        """The counters and latencies as `/status` sends them."""
        latencies = list(self.save_to_suggestion_ms)
        generations = list(self.generation_ms)
        return MetricsView(
            counters=dict(self.counters),
            latency_ms=LatencyView(
                last=self.last_latency_ms,
                p50=percentile(latencies, 0.5),
                p95=percentile(latencies, 0.95),
                generation_mean=statistics.fmean(generations) if generations else None,
            ),
        )
