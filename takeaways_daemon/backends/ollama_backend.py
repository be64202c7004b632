"""The Ollama backend: a thin adapter over the official client's streaming endpoints.

For our tuned model the daemon renders the whole prompt itself (see `prompt_format`), so requests
go to `/api/generate` with `raw: true`; the Modelfile's TEMPLATE mirrors the same format only for
`ollama run`. Any other model (say a coder model the user pulled) gets `/api/chat` instead, so
its own chat template applies: our system line, the worked example as a user/assistant pair,
then the task (`GenerationRequest.messages`).
An answer counts only when the stream ends with Ollama's `done: true` line: a cut-off,
a stall or an error line raises `BackendUnavailable` (or a subclass) instead.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import httpx
import pydantic
from ollama import AsyncClient, ChatResponse, GenerateResponse, ResponseError

from takeaways_daemon.backends.base import (
    Backend,
    Generation,
    GenerationRequest,
    sample_requests,
)
from takeaways_daemon.errors import BackendStalled, BackendUnavailable, ModelNotFound
from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.prompt_format import ChatMessage
from takeaways_daemon.settings import OllamaSettings

PROBE_TIMEOUT_S = 10.0
"""How long `ensure_ready` waits for `/api/show`, which reads a manifest and loads nothing."""

# What a failing request can raise through the ollama client: an HTTP error status or an error
# line in the stream (ResponseError), a refused connection (ConnectionError for plain requests,
# httpx.ConnectError for streamed ones), a broken transport, a line that is not JSON, or JSON
# that is not an answer line (a chat line without its `message`).
_FAILURES = (
    ResponseError,
    ConnectionError,
    httpx.TransportError,
    json.JSONDecodeError,
    pydantic.ValidationError,
)
StreamPart = GenerateResponse | ChatResponse
"""One line of either endpoint's stream; both carry `done` and the final token counts."""


def generate_options(request: GenerationRequest) -> dict[str, Any]:
    """The `options` object of a request body (`/api/generate` and `/api/chat` alike).

    >>> generate_options(GenerationRequest(prompt="p", stop=("###",), seed=3))["stop"]
    ['###']
    >>> "stop" in generate_options(GenerationRequest(prompt="p"))
    False
    """
    options: dict[str, Any] = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "repeat_penalty": request.repeat_penalty,
        "num_predict": request.max_tokens,
        "num_ctx": request.num_ctx,
    }
    # Ollama replaces the Modelfile's stop list with whatever the request sends, even [], so an
    # empty tuple must be left out to keep the Modelfile's stops.
    if request.stop:
        options["stop"] = list(request.stop)
    if request.seed is not None:
        options["seed"] = request.seed
    return options


def chat_turns(request: GenerationRequest) -> list[dict[str, str]]:
    """The `messages` of an `/api/chat` body: the request's turns, or its prompt as one turn.

    >>> chat_turns(GenerationRequest(prompt="p"))
    [{'role': 'user', 'content': 'p'}]
    """
    turns = request.messages or (ChatMessage("user", request.prompt),)
    return [{"role": turn.role, "content": turn.content} for turn in turns]


def part_text(part: StreamPart) -> str:
    """The answer text one stream line adds (`response`, or a chat line's `message.content`)."""
    if isinstance(part, ChatResponse):
        return part.message.content or ""
    return part.response or ""


class OllamaBackend(Backend):
    """Completions from an Ollama server: raw `/api/generate` for our model, else `/api/chat`."""

    name = "ollama"
    Options = OllamaSettings

    def __init__(self, settings: OllamaSettings) -> None:
        self.settings = settings
        self.host = settings.host
        self.model = settings.model
        self.identity = ModelIdentity.named(settings.model)
        # Our own first-token and stall deadlines fire first; httpx's read timeout is a backstop.
        read_s = max(settings.first_token_timeout_s, settings.stall_timeout_s) + 5.0
        self._client = AsyncClient(
            host=settings.host,
            timeout=httpx.Timeout(read_s, connect=settings.connect_timeout_s),
        )

    async def ensure_ready(self) -> None:
        """Check that the server answers and has the model; raise `ModelNotFound` if it lacks it."""
        limit_s = self.settings.connect_timeout_s + PROBE_TIMEOUT_S
        try:
            async with asyncio.timeout(limit_s):
                await self._client.show(self.model)
        except pydantic.ValidationError:
            # A 200 already says the model exists. Servers omit `model_info` when it is empty,
            # and the client's ShowResponse requires it, so its shape is none of our business.
            return
        except TimeoutError:
            raise BackendUnavailable(
                f"Ollama at {self.host} did not answer /api/show within {limit_s:g} s; "
                "check that `ollama serve` is healthy"
            ) from None
        except _FAILURES as error:
            raise self._translate(error) from None

    @property
    def endpoint(self) -> str:
        """Where requests go: raw generation for our tuned model, chat for any other."""
        return "/api/generate" if self.identity.is_tuned else "/api/chat"

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Yield the answer's text as Ollama streams it."""
        async for part in self._parts(request):
            text = part_text(part)
            if text:
                yield text

    async def generate_many(
        self, request: GenerationRequest, n: int, *, greedy_first: bool = False
    ) -> list[Generation]:
        """The n requests sent at once: a server with `OLLAMA_NUM_PARALLEL` above 1 decodes
        them as parallel sequences of one batch (as the embedded backend does); one without
        queues them, which costs what asking in turn would."""
        requests = sample_requests(request, n, greedy_first=greedy_first)
        return list(await asyncio.gather(*(self.generate(one) for one in requests)))

    async def generate(self, request: GenerationRequest) -> Generation:
        """Collect a whole answer, with Ollama's token counts from its final line."""
        result = Generation(text="", backend=self.name, model=self.model)
        chunks: list[str] = []
        async for part in self._parts(request):
            text = part_text(part)
            if text:
                if result.first_chunk_s is None:
                    result.first_chunk_s = time.monotonic() - result.started_at
                chunks.append(text)
            if part.done:
                result.prompt_tokens = part.prompt_eval_count
                result.completion_tokens = part.eval_count
        result.text = "".join(chunks)
        result.total_s = time.monotonic() - result.started_at
        return result

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    def describe(self) -> dict[str, Any]:
        """Backend, model, host, endpoint and keep-alive, for `takeaways status`."""
        return {
            **super().describe(),
            "host": self.host,
            "endpoint": self.endpoint,
            "keep_alive": self.settings.keep_alive,
        }

    async def _open(self, request: GenerationRequest) -> AsyncIterator[StreamPart]:
        """Start the request on this model's endpoint; I/O begins on the first read."""
        if self.identity.is_tuned:
            return await self._client.generate(
                model=self.model,
                prompt=request.prompt,
                raw=True,
                stream=True,
                format=request.json_schema,
                options=generate_options(request),
                keep_alive=self.settings.keep_alive,
            )
        return await self._client.chat(
            model=self.model,
            messages=chat_turns(request),
            stream=True,
            format=request.json_schema,
            options=generate_options(request),
            keep_alive=self.settings.keep_alive,
        )

    async def _parts(self, request: GenerationRequest) -> AsyncIterator[StreamPart]:
        """Ollama's stream lines up to `done: true`, each within its deadline."""
        # Typed as an iterator, but it is the client's async generator, which we must close.
        parts = cast(AsyncGenerator[StreamPart, None], await self._open(request))
        try:
            part = await self._next(parts, first=True)
            while part is not None:
                yield part
                if part.done:
                    return
                part = await self._next(parts, first=False)
        finally:
            await parts.aclose()
        raise BackendUnavailable(
            f"Ollama at {self.host} ended the answer without its final `done` line; "
            "the answer is incomplete and was dropped"
        )

    async def _next(self, parts: AsyncIterator[StreamPart], *, first: bool) -> StreamPart | None:
        """The next stream line, None at the end, or a typed error."""
        limit_s = self.settings.first_token_timeout_s if first else self.settings.stall_timeout_s
        try:
            async with asyncio.timeout(limit_s):
                return await anext(parts)
        except StopAsyncIteration:
            return None
        except (TimeoutError, httpx.ReadTimeout):
            raise self._stalled(limit_s, first=first) from None
        except _FAILURES as error:
            raise self._translate(error) from None

    def _stalled(self, limit_s: float, *, first: bool) -> BackendStalled:
        if first:
            return BackendStalled(
                f"Ollama at {self.host} produced nothing for {limit_s:g} s (model {self.model!r} "
                "still loading, or the server is busy); raise "
                "backend.ollama.first_token_timeout_s if it is just slow"
            )
        return BackendStalled(
            f"Ollama at {self.host} went silent for {limit_s:g} s mid-answer; the answer was "
            "dropped (raise backend.ollama.stall_timeout_s if it is just slow)"
        )

    def _translate(self, error: Exception) -> BackendUnavailable:
        """One of `_FAILURES` as the typed error the daemon acts on."""
        if isinstance(error, ResponseError):
            return self._response_error(error)
        if isinstance(error, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
            return BackendUnavailable(
                f"Ollama is not reachable at {self.host}: start it with `ollama serve`, "
                "or point backend.ollama.host at a running server"
            )
        if isinstance(error, httpx.TransportError):
            detail = str(error) or type(error).__name__
            return BackendUnavailable(
                f"the connection to Ollama at {self.host} broke ({detail}); "
                "the answer is incomplete and was dropped"
            )
        if isinstance(error, pydantic.ValidationError):
            missing = ", ".join(".".join(map(str, item["loc"])) for item in error.errors())
            return BackendUnavailable(
                f"Ollama at {self.host} sent a line that is not part of an answer "
                f"(bad or missing: {missing}); the answer was dropped"
            )
        return BackendUnavailable(f"Ollama at {self.host} sent a line that is not JSON ({error})")

    def _response_error(self, error: ResponseError) -> BackendUnavailable:
        text = str(error.error)
        if error.status_code == 404 and "model" in text.lower():
            return ModelNotFound(
                f"Ollama at {self.host} has no model {self.model!r} ({text}): build it with "
                f"`takeaways model build`, or run `ollama create {self.model} -f "
                f"modelfiles/Modelfile` (or `ollama pull {self.model}` for a published model)"
            )
        if error.status_code == 404:
            return BackendUnavailable(
                f"{self.host} answered 404 ({text}): is backend.ollama.host an Ollama server?"
            )
        if error.status_code == -1:  # an error line in a stream that had started with 200
            return BackendUnavailable(f"Ollama at {self.host} failed mid-answer: {text}")
        return BackendUnavailable(
            f"Ollama at {self.host} failed (HTTP {error.status_code}): {text}; "
            "see the `ollama serve` log"
        )
