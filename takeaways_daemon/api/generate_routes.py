"""`POST /generate`: prompt in, code out; with `"stream": true`, as NDJSON while it is written.

Streamed lines are `AnswerChunk`s (`{"text": "..."}`), then one `GenerateDone`
(`{"done": true, "result": {...}}`, or `{"done": true, "error": "..."}` when the backend failed
mid-way: the status code is sent by then, so the failure travels in the stream).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from takeaways_daemon.errors import BackendUnavailable, PromptTooLong
from takeaways_daemon.service import DaemonService
from takeaways_daemon.wire import AnswerChunk, GenerateDone, GenerateResult


class GenerateBody(BaseModel):
    """Prompt in, code out."""

    prompt: str = Field(min_length=1, max_length=20_000)
    max_tokens: int | None = Field(None, ge=1, le=4096)
    stream: bool = False
    """Send the answer as NDJSON lines while the model writes it."""


def generate_router(service: DaemonService) -> APIRouter:
    """The `/generate` route."""
    router = APIRouter()

    @router.post(
        "/generate",
        response_model=GenerateResult,
        responses={
            200: {
                "content": {
                    "application/x-ndjson": {
                        "schema": {
                            "type": "string",
                            "description": "With `stream`: one AnswerChunk JSON object a line, "
                            "then one GenerateDone.",
                        }
                    }
                }
            }
        },
    )
    async def generate(body: GenerateBody, request: Request) -> GenerateResult | StreamingResponse:
        if not body.stream:
            return await service.generate(body.prompt, body.max_tokens)

        async def lines() -> AsyncIterator[str]:
            try:
                async for part in service.generate_stream(body.prompt, body.max_tokens):
                    if isinstance(part, GenerateResult):
                        yield GenerateDone(result=part).model_dump_json() + "\n"
                        return
                    if await request.is_disconnected():
                        return  # closing the generator stops the model at its next token
                    yield AnswerChunk(text=part).model_dump_json() + "\n"
            except (BackendUnavailable, PromptTooLong) as error:
                yield GenerateDone(error=str(error)).model_dump_json() + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return router
