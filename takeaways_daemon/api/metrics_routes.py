"""`GET /metrics` (Prometheus text format) and `GET /stats` (hour, day, all time), token-guarded."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from takeaways_daemon.service import DaemonService
from takeaways_daemon.telemetry.daemon_stats import sample_memory, stats_report
from takeaways_daemon.telemetry.instruments import CONTENT_TYPE
from takeaways_daemon.wire import StatsReport


class PrometheusResponse(Response):
    """The Prometheus text exposition format."""

    media_type = CONTENT_TYPE


def metrics_router(service: DaemonService) -> APIRouter:
    """Routes exposing `service`'s measurements."""
    router = APIRouter()

    @router.get("/metrics", response_class=PrometheusResponse)
    async def metrics() -> PrometheusResponse:
        sample_memory(service)  # gauges as of this scrape, not of the last background sample
        return PrometheusResponse(service.metrics.instruments.exposition())

    @router.get("/stats")
    def stats() -> StatsReport:
        # A plain function: FastAPI runs it in its thread pool while history is decrypted.
        return stats_report(service)

    return router
