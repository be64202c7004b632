"""`POST /suggestions/{id}/ask`: a follow-up question, answered as NDJSON chunks.

Lines are `AnswerChunk`s (`{"text": "..."}`) while the model writes, then one `AnswerDone`
(`{"done": true, "backend": ..., "model": ..., "latency_ms": ...}`, with `"error"` if the backend
failed mid-way: the status code is already sent by then, so the failure travels in the stream).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from takeaways_daemon.errors import BackendUnavailable, PromptTooLong
from takeaways_daemon.follow_up import MAX_QUESTION_CHARS, FollowUp
from takeaways_daemon.service import DaemonService
from takeaways_daemon.wire import AnswerChunk, AnswerDone


class Question(BaseModel):
    """What the developer asks about a suggestion."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


def follow_up_router(service: DaemonService) -> APIRouter:
    """Routes for follow-up questions on `service`'s suggestions."""
    router = APIRouter()

    @router.post("/suggestions/{suggestion_id}/ask")
    async def ask(suggestion_id: str, body: Question, request: Request) -> StreamingResponse:
        # Looked up before streaming starts, so an unknown id is still a plain 404.
        follow_up = FollowUp(service.get(suggestion_id), body.question)

        async def lines() -> AsyncIterator[str]:
            try:
                # Interactive: served before the background tasks waiting for the model.
                async with service.supervisor.gate.turn(interactive=True):
                    stream = follow_up.stream(service.supervisor, service.settings.sampling)
                    async for text in stream:
                        if await request.is_disconnected():
                            return  # closing the generator stops the model at its next token
                        yield AnswerChunk(text=text).model_dump_json() + "\n"
            except (BackendUnavailable, PromptTooLong) as error:
                yield AnswerDone(**follow_up.summary(error)).model_dump_json() + "\n"
                return
            service.metrics.count("follow_ups")
            yield AnswerDone(**follow_up.summary()).model_dump_json() + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return router
