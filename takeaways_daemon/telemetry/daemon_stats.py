"""The running daemon's numbers: memory sampling, gauge refresh and the `GET /stats` report."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from takeaways_daemon.history.errors import HistoryError
from takeaways_daemon.telemetry.stats_report import OutcomeRow, merge_rows, windows
from takeaways_daemon.wire import MemoryView, StatsReport

if TYPE_CHECKING:
    from takeaways_daemon.service import DaemonService

log = logging.getLogger(__name__)

MEMORY_INTERVAL_S = 5.0
"""How often the daemon samples its memory in the background (a /metrics scrape also samples)."""
RECENT_LATENCIES = 60
"""How many of the latest save → suggestion latencies the TUI's chart draws."""


def sample_memory(service: DaemonService) -> MemoryView:
    """Sample the daemon's and the model's memory now, and refresh every gauge."""
    backend = service.supervisor.backend
    model_path = backend.describe().get("model_path") if backend is not None else None
    view = service.memory.sample(str(model_path) if model_path else None)
    instruments = service.metrics.instruments
    if view.rss_bytes is not None:
        instruments.rss.set(view.rss_bytes)
    instruments.model_memory.set(view.model_bytes or 0)
    instruments.queue_depth.set(service.watcher.queue_depth)
    instruments.backend_up.set(1 if service.supervisor.status.state == "ready" else 0)
    return view


async def sample_memory_forever(service: DaemonService, interval_s: float = MEMORY_INTERVAL_S):
    """Sample every `interval_s` until cancelled."""
    while True:
        try:
            sample_memory(service)
        except Exception:  # a sampling hiccup must not end the daemon's task group
            log.exception("sampling memory failed")
        await asyncio.sleep(interval_s)


def _history_rows(service: DaemonService) -> list[OutcomeRow] | None:
    if service.history is None:
        return None
    if service.recorder is not None:
        service.recorder.flush(timeout_s=5.0)  # the latest outcomes, not those still queued
    try:
        records, _ = service.history.query(project=str(service.root), limit=None)
    except HistoryError as error:
        log.warning("stats without history: %s", error)
        return None
    return [
        OutcomeRow(r.id, r.created_at, r.kind, r.model, r.outcome, r.rating, r.latency_ms)
        for r in records
        if not r.tampered
    ]


def stats_report(service: DaemonService, now: float | None = None) -> StatsReport:
    """The last hour, day and all time, from history (when on) and this run's suggestions.

    Reads and decrypts history: call it from a worker thread, not the event loop.
    """
    history = _history_rows(service)
    live = [OutcomeRow.of(item) for item in service.store]
    rows = merge_rows(history or [], live)
    status = service.supervisor.status
    recent = list(service.metrics.save_to_suggestion_ms)[-RECENT_LATENCIES:]
    return StatsReport(
        windows=windows(rows, time.time() if now is None else now),
        memory=sample_memory(service),
        queue_depth=service.watcher.queue_depth,
        backend=status.backend,
        model=status.model,
        counters=dict(service.metrics.counters),
        recent_latency_ms=[round(value, 1) for value in recent],
        history=history is not None,
    )
