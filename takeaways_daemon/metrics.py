"""Counters and latency samples for `takeaways status`, the API and the TUI's stats."""

from __future__ import annotations

import statistics
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


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

    def snapshot(self) -> dict[str, Any]:
        """Plain values for JSON."""
        latencies = list(self.save_to_suggestion_ms)
        generations = list(self.generation_ms)
        return {
            "counters": dict(self.counters),
            "latency_ms": {
                "last": self.last_latency_ms,
                "p50": percentile(latencies, 0.5),
                "p95": percentile(latencies, 0.95),
                "generation_mean": statistics.fmean(generations) if generations else None,
            },
        }
