"""The small interface every model backend implements."""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from takeaways_daemon.prompt_format import ChatMessage
from takeaways_daemon.settings import SamplingSettings, Settings


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt and how to decode it."""

    prompt: str
    temperature: float = 0.7
    top_p: float = 0.9
    repeat_penalty: float = 1.1
    max_tokens: int = 384
    num_ctx: int = 4096
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_schema: dict[str, Any] | None = None
    """Constrain the output to this JSON schema (grammar in llama.cpp, `format` in Ollama)."""
    grammar: str | None = None
    """Constrain the output to this llama.cpp GBNF grammar (backends without grammars ignore it)."""
    messages: tuple[ChatMessage, ...] = ()
    """The same prompt as chat turns (`Task.messages`), for a backend that applies the model's
    own chat template; empty: such a backend sends `prompt` as one user turn."""

    @classmethod
    def from_settings(
        cls, prompt: str, sampling: SamplingSettings, **overrides: Any
    ) -> GenerationRequest:
        """A request with the configured sampling values, optionally overridden."""
        values: dict[str, Any] = {
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "repeat_penalty": sampling.repeat_penalty,
            "max_tokens": sampling.max_tokens,
            "num_ctx": sampling.num_ctx,
            "seed": sampling.seed,
        }
        values.update(overrides)
        return cls(prompt=prompt, **values)


@dataclass
class Generation:
    """A finished answer with its timings."""

    text: str
    backend: str
    model: str
    started_at: float = field(default_factory=time.monotonic)
    first_chunk_s: float | None = None
    total_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class NoOptions(BaseModel):
    """The options of a backend that has none: any key in its section is a mistake."""

    model_config = ConfigDict(extra="forbid")


class Backend(ABC):
    """A source of completions. Implementations register through `backends.registry`."""

    name: ClassVar[str]
    """The name `backend.prefer` lists and `[backend.NAME]` configures."""
    Options: ClassVar[type[BaseModel]] = NoOptions
    """Its settings section: a pydantic model with `extra="forbid"`, so a typo is an error."""
    model: str

    @classmethod
    def create(cls, options: Any, settings: Settings) -> Self:
        """A new instance from its validated `Options` (most backends need nothing else)."""
        # The default contract: a backend's constructor takes its options (this ABC has none).
        return cls(options)  # type: ignore[call-arg]

    @abstractmethod
    async def ensure_ready(self) -> None:
        """Check the backend can answer now; raise `BackendUnavailable` (or `ModelNotFound`)."""

    @abstractmethod
    def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Yield the answer's text in chunks; raise `BackendUnavailable` on failure or stall."""

    async def generate(self, request: GenerationRequest) -> Generation:
        """Collect a whole answer. Nothing is returned unless the stream finished cleanly."""
        return await self._collect(self.stream(request))

    async def generate_many(
        self, request: GenerationRequest, n: int, *, greedy_first: bool = False
    ) -> list[Generation]:
        """`n` answers to one prompt: sample i with seed `seed + i`; `greedy_first` makes the
        first the most likely answer (temperature 0).

        This default asks n times in turn; a backend that can decode several sequences in one
        pass (the embedded one) overrides it.
        """
        return [
            await self.generate(one)
            for one in sample_requests(request, n, greedy_first=greedy_first)
        ]

    async def _collect(self, stream: AsyncIterator[str]) -> Generation:
        """A whole answer from `stream`, timed from now to its first chunk and to its end."""
        result = Generation(text="", backend=self.name, model=self.model)
        chunks: list[str] = []
        async for chunk in stream:
            if result.first_chunk_s is None:
                result.first_chunk_s = time.monotonic() - result.started_at
            chunks.append(chunk)
        result.text = "".join(chunks)
        result.model = self.model  # the stream may have reloaded another model (a learning swap)
        result.total_s = time.monotonic() - result.started_at
        return result

    async def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release resources (connections, model memory)."""

    def describe(self) -> dict[str, Any]:
        """What `takeaways status` shows about this backend."""
        return {"backend": self.name, "model": self.model}


def sample_requests(
    request: GenerationRequest, n: int, *, greedy_first: bool = False
) -> list[GenerationRequest]:
    """The n single requests `generate_many` stands for: seeds `seed + i`, the first greedy if
    asked."""
    requests = []
    for index in range(n):
        seed = None if request.seed is None else request.seed + index
        temperature = 0.0 if greedy_first and index == 0 else request.temperature
        requests.append(dataclasses.replace(request, seed=seed, temperature=temperature))
    return requests
