"""Counters and latency samples for `takeaways status`, `/metrics`, the API and the TUI's stats.

The engine counts its own work (malformed and rejected answers, cancellations); what happens to
suggestions is counted by `on_store_event`, a listener on the suggestion store. Every count also
feeds the Prometheus instruments (`telemetry/instruments.py`) that `GET /metrics` exposes.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from takeaways_daemon.suggestion_events import (
    StoreEvent,
    SuggestionAdded,
    SuggestionChanged,
    SuggestionRemoved,
)
from takeaways_daemon.wire import LatencyView, MetricsView, Suggestion

if TYPE_CHECKING:
    from takeaways_daemon.telemetry.instruments import Instruments

# The counter a suggestion's new status adds to (the names `status` and the TUI's stats read).
_STATUS_COUNTERS = {"accepted": "accepted", "rejected": "rejected_by_user", "stale": "went_stale"}


def _instruments() -> Instruments:
    # Imported when a daemon builds its metrics, not when the CLI starts (`--help` stays instant).
    from takeaways_daemon.telemetry.instruments import Instruments

    return Instruments()


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
    instruments: Instruments = field(default_factory=_instruments)

    def count(self, name: str, amount: int = 1) -> None:
        """Add to a named counter (suggestions, malformed, rejected, backend_errors, …)."""
        self.counters[name] += amount
        self.instruments.events.labels(event=name).inc(amount)

    def record_generation(self, seconds: float) -> None:
        """The model answered one request (engine attempt or `/generate`) in `seconds`."""
        self.generation_ms.append(seconds * 1000)

    def _record_added(self, suggestion: Suggestion) -> None:
        kind, model = suggestion.kind, suggestion.model
        instruments = self.instruments
        instruments.suggestions.labels(kind=kind, backend=suggestion.backend, model=model).inc()
        instruments.save_to_suggestion.labels(kind=kind).observe(suggestion.latency_ms / 1000)
        telemetry = suggestion.telemetry
        if telemetry is None:
            return
        for stage, milliseconds in telemetry.stages_ms.items():
            instruments.stage.labels(stage=stage).observe(milliseconds / 1000)
        if telemetry.tokens_in:
            instruments.tokens.labels(direction="in").inc(telemetry.tokens_in)
        if telemetry.tokens_out:
            instruments.tokens.labels(direction="out").inc(telemetry.tokens_out)
        if telemetry.verified is not None:
            verified = "yes" if telemetry.verified else "no"
            instruments.verified.labels(kind=kind, model=model, verified=verified).inc()

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
            self._record_added(suggestion)
        elif isinstance(event, SuggestionChanged):
            labels = {"kind": suggestion.kind, "model": suggestion.model}
            if event.status_changed and suggestion.status in _STATUS_COUNTERS:
                self.count(_STATUS_COUNTERS[suggestion.status])
                self.instruments.outcomes.labels(**labels, outcome=suggestion.status).inc()
            if event.rating_changed and suggestion.rating:
                rating = "up" if suggestion.rating > 0 else "down"
                self.count(f"rated_{rating}")
                self.instruments.ratings.labels(**labels, rating=rating).inc()
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
