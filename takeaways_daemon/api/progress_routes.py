"""`GET /progress` and `POST /progress/cancel`: what the model works on now, and stopping it."""

from __future__ import annotations

from fastapi import APIRouter

from takeaways_daemon.service import DaemonService
from takeaways_daemon.wire import CancelResult, ProgressView


def progress_router(service: DaemonService) -> APIRouter:
    """Routes for the daemon's progress."""
    router = APIRouter()

    @router.get("/progress")
    async def progress() -> ProgressView:
        return service.progress_view()

    @router.post("/progress/cancel")
    async def cancel() -> CancelResult:
        return service.cancel_current()

    return router
