"""The API's routes. Every client (CLI, TUI, scripts) uses these and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sse_starlette.sse import EventSourceResponse

from takeaways_daemon import __version__
from takeaways_daemon.api.admission import AdmissionGate
from takeaways_daemon.api.follow_up_routes import follow_up_router
from takeaways_daemon.api.generate_routes import generate_router
from takeaways_daemon.api.guard import ApiGuard
from takeaways_daemon.api.history_routes import history_router
from takeaways_daemon.api.metrics_routes import metrics_router
from takeaways_daemon.api.progress_routes import progress_router
from takeaways_daemon.api.validation_errors import validation_error_reply
from takeaways_daemon.errors import (
    BackendUnavailable,
    FileChangedError,
    PatchRejected,
    PromptTooLong,
)
from takeaways_daemon.kinds import SuggestionStatus, TaskKind
from takeaways_daemon.service import DaemonService, UnknownSuggestion
from takeaways_daemon.wire import (
    DaemonStatus,
    Health,
    ProgressView,
    Suggestion,
    SuggestionEvent,
)


class Rating(BaseModel):
    """A 👍 (+1) or 👎 (-1)."""

    rating: Literal[1, -1]


def _error_reply(status_code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def reply(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status_code)

    return reply


def _progress_event(view: ProgressView) -> dict[str, str]:
    return {"event": "progress", "data": view.model_dump_json()}


def create_app(
    service: DaemonService, *, token: str, allowed_hosts: list[str], max_body_bytes: int
) -> ApiGuard:
    """The ASGI app: routes behind the access guard."""
    app = FastAPI(title="takeaways daemon", version=__version__, docs_url=None, redoc_url=None)

    # Typed errors become one status each, with the error's own sentence as the detail.
    statuses: dict[type[Exception], int] = {
        UnknownSuggestion: 404,
        FileChangedError: 409,
        PatchRejected: 409,
        BackendUnavailable: 503,
        PromptTooLong: 413,
    }
    for error_type, status_code in statuses.items():
        app.add_exception_handler(error_type, _error_reply(status_code))
    app.add_exception_handler(RequestValidationError, validation_error_reply)

    app.include_router(follow_up_router(service))
    app.include_router(history_router(service))
    app.include_router(progress_router(service))
    app.include_router(generate_router(service))
    app.include_router(metrics_router(service))

    @app.get("/health")
    async def health() -> Health:
        return Health(ok=True, version=__version__, root=str(service.root))

    @app.get("/status")
    async def status() -> DaemonStatus:
        return service.status()

    @app.get("/suggestions")
    async def suggestions(
        status: SuggestionStatus | None = None,
        path: str | None = None,
        kind: TaskKind | None = None,
    ) -> list[Suggestion]:
        items = [
            item
            for item in service.store
            if (status is None or item.status == status)
            and (path is None or item.path == path)
            and (kind is None or item.kind == kind)
        ]
        return list(reversed(items))

    @app.get("/suggestions/{suggestion_id}")
    async def suggestion(suggestion_id: str) -> Suggestion:
        return service.get(suggestion_id)

    @app.post("/suggestions/{suggestion_id}/accept")
    async def accept(suggestion_id: str) -> Suggestion:
        return service.accept(suggestion_id)

    @app.post("/suggestions/{suggestion_id}/reject")
    async def reject(suggestion_id: str) -> Suggestion:
        return service.reject(suggestion_id)

    @app.post("/suggestions/{suggestion_id}/rate")
    async def rate(suggestion_id: str, body: Rating) -> Suggestion:
        return service.rate(suggestion_id, body.rating)

    @app.get("/events")
    async def events(request: Request) -> EventSourceResponse:
        queue = service.store.subscribe()

        async def stream() -> AsyncIterator[dict[str, str]]:
            # Progress shares the stream: a change wakes the sender, which sends the latest
            # view (a burst of changes is sent once, never queued behind a slow reader).
            progress_changed = asyncio.Event()
            stop_progress = service.progress.changed.subscribe(lambda _: progress_changed.set())
            next_event: asyncio.Future[SuggestionEvent] | None = None
            try:
                yield {"event": "hello", "data": service.status().model_dump_json()}
                next_event = asyncio.ensure_future(queue.get())
                while not await request.is_disconnected():
                    progress_wait = asyncio.ensure_future(progress_changed.wait())
                    await asyncio.wait(
                        {next_event, progress_wait}, timeout=15,
                        return_when=asyncio.FIRST_COMPLETED,
                    )  # fmt: skip
                    progress_wait.cancel()
                    if progress_changed.is_set():
                        progress_changed.clear()
                        yield _progress_event(service.progress_view())
                    if next_event.done():
                        event = next_event.result()
                        next_event = asyncio.ensure_future(queue.get())
                        yield {"event": event.type, "data": event.suggestion.model_dump_json()}
            finally:
                if next_event is not None:
                    next_event.cancel()
                stop_progress()
                service.store.unsubscribe(queue)

        return EventSourceResponse(stream(), ping=10)

    @app.api_route("/{path:path}", methods=["OPTIONS"], include_in_schema=False)
    async def no_cors(path: str) -> None:
        # Explicitly no CORS: a preflight gets no Access-Control-* headers.
        raise HTTPException(405, "CORS is not supported")

    # Admission behind the guard: a request without the token never takes a slot.
    admitted = AdmissionGate(app, service.metrics.instruments)
    return ApiGuard(
        admitted, token=token, allowed_hosts=allowed_hosts, max_body_bytes=max_body_bytes
    )
