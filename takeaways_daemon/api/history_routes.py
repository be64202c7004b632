"""`GET /history`, `/history/stats` and `/history/{id}`: this project's encrypted history.

Rows are decrypted in the daemon and returned as stored (model and file text is not sanitized
here: clients sanitize for display). A row that fails authentication comes back with
`tampered: true` and empty payload strings, so one bad row never hides the rest. The handlers
are plain functions: FastAPI runs them in its thread pool, so a long decrypting scan does not
hold up the event loop.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from takeaways_daemon.history.errors import HistoryError
from takeaways_daemon.history.stats import history_stats
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.kinds import Outcome, TaskKind
from takeaways_daemon.service import DaemonService
from takeaways_daemon.wire import HistoryItem, HistoryItemDetail, HistoryPage, HistoryStats


def history_router(service: DaemonService) -> APIRouter:
    """Routes reading `service`'s history, limited to its project."""
    router = APIRouter()
    project = str(service.root)

    def store() -> HistoryStore:
        if service.history is None:
            raise HTTPException(
                503, "history is off (history.enabled = false); turn it on and restart the daemon"
            )
        if service.recorder is not None:
            # Sync routes run in the thread pool: waiting here lets a client read its own
            # writes (an accept, then the history screen) without blocking the event loop.
            service.recorder.flush(timeout_s=5.0)
        return service.history

    def guarded(action: Any) -> Any:
        try:
            return action()
        except HistoryError as error:
            raise HTTPException(503, str(error)) from None

    @router.get("/history")
    def history(
        q: str | None = Query(None, max_length=500),
        kind: TaskKind | None = None,
        outcome: Outcome | None = None,
        path: str | None = Query(None, max_length=4096),
        limit: int = Query(50, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> HistoryPage:
        history_store = store()
        filters: dict[str, Any] = {"q": q, "kind": kind, "outcome": outcome, "path": path}
        items, total = guarded(
            lambda: history_store.query(**filters, project=project, limit=limit, offset=offset)
        )
        return HistoryPage(items=[HistoryItem(**item.item()) for item in items], total=total)

    @router.get("/history/stats")
    def stats() -> HistoryStats:
        history_store = store()
        return HistoryStats(**guarded(lambda: history_stats(history_store, project=project)))

    @router.get("/history/{suggestion_id}")
    def history_item(suggestion_id: str) -> HistoryItemDetail:
        history_store = store()
        record = guarded(lambda: history_store.get(suggestion_id))
        if record is None or (record.project and record.project != project):
            raise HTTPException(404, f"no history row {suggestion_id!r} for this project")
        return HistoryItemDetail(**record.item(), context=record.context, prompt=record.prompt)

    return router
