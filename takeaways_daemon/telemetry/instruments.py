"""The daemon's Prometheus instruments, in a registry of its own (one per daemon service).

A private registry, not the library's global one: tests run several services in one process,
and `/metrics` should show this daemon's numbers only. Names follow Prometheus conventions
(base units, `_total` for counters).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# A local model on a CPU takes seconds to minutes; a scripted one milliseconds.
LATENCY_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format's content type."""


class Instruments:
    """Histograms for latency, gauges for memory and queue depth, counters for what happened."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.save_to_suggestion = Histogram(
            "takeaways_save_to_suggestion_seconds",
            "From the save that caused it to the suggestion being kept.",
            ["kind"], buckets=LATENCY_BUCKETS_S, registry=r,
        )  # fmt: skip
        self.stage = Histogram(
            "takeaways_stage_seconds",
            "Time a kept suggestion spent per stage (queue, prompt, prefill, generation, "
            "verification, parse).",
            ["stage"], buckets=LATENCY_BUCKETS_S, registry=r,
        )  # fmt: skip
        self.generate = Histogram(
            "takeaways_generate_seconds", "POST /generate: the model's time per answer.",
            buckets=LATENCY_BUCKETS_S, registry=r,
        )  # fmt: skip
        self.suggestions = Counter(
            "takeaways_suggestions", "Suggestions kept, by kind, backend and model.",
            ["kind", "backend", "model"], registry=r,
        )  # fmt: skip
        self.outcomes = Counter(
            "takeaways_outcomes", "What users did with suggestions (accepted, rejected, stale).",
            ["kind", "model", "outcome"], registry=r,
        )  # fmt: skip
        self.ratings = Counter(
            "takeaways_ratings", "👍 (up) and 👎 (down) given, by kind and model.",
            ["kind", "model", "rating"], registry=r,
        )  # fmt: skip
        self.verified = Counter(
            "takeaways_verified", "Kept suggestions whose sandbox verification is known.",
            ["kind", "model", "verified"], registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "takeaways_tokens", "Tokens the model read (in) and wrote (out) for kept suggestions.",
            ["direction"], registry=r,
        )  # fmt: skip
        self.events = Counter(
            "takeaways_events",
            "Named engine and daemon events: malformed answers, rejected patches, backend "
            "errors, cancellations, history errors, …",
            ["event"], registry=r,
        )  # fmt: skip
        self.refused = Counter(
            "takeaways_requests_refused", "API requests turned away by admission control.",
            ["route", "status"], registry=r,
        )  # fmt: skip
        self.rss = Gauge(
            "takeaways_process_resident_memory_bytes", "The daemon's resident memory.", registry=r
        )
        self.model_memory = Gauge(
            "takeaways_model_resident_memory_bytes",
            "The embedded model's resident pages in the daemon (0 when the model runs elsewhere).",
            registry=r,
        )
        self.queue_depth = Gauge(
            "takeaways_queue_depth", "File changes waiting for the engine.", registry=r
        )
        self.in_flight = Gauge(
            "takeaways_requests_in_flight", "API requests being served, by route class.",
            ["route"], registry=r,
        )  # fmt: skip
        self.backend_up = Gauge(
            "takeaways_backend_up", "1 when a model backend is ready, else 0.", registry=r
        )

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format."""
        return generate_latest(self.registry)
