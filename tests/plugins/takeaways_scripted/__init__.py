"""A third-party backend for tests: it answers with whatever the test queued, at once.

It registers through the `takeaways.backends` entry point like any plugin (see
`tests/plugins/install.py`), so the daemon's real discovery, settings and supervisor code runs;
only the model is replaced, which makes engine tests take milliseconds instead of a model load.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from takeaways_daemon.backends.base import Backend, Generation, GenerationRequest
from takeaways_daemon.backends.registry import BackendRegistry
from takeaways_daemon.errors import BackendUnavailable
from takeaways_daemon.prompt_format import LINE_STOP


@dataclass(frozen=True)
class ScriptedAnswer:
    """One queued answer: its text, how long it takes, or the error it raises instead."""

    text: str
    delay_s: float = 0.0
    error: Exception | None = None


class ScriptedOptions(BaseModel):
    """`[backend.scripted]`."""

    model_config = ConfigDict(extra="forbid")

    model: str = "scripted"
    """The model name it reports; our tuned model's name makes the engine skip the example."""
    unavailable: str = ""
    """When set, `ensure_ready` fails with this reason."""
    chunk_chars: int = Field(7, ge=1)
    """Answers stream in pieces of this many characters, as a real model's would."""
    reply: str = ""
    """When set, the answer to every request nothing was queued for: how a daemon in another
    process (started by the TUI under test) is scripted, where `enqueue` cannot reach."""
    reply_delay_s: float = Field(0.0, ge=0)
    """How long each `reply` takes: a slow model, deterministically."""
    journal: str = ""
    """When set, a file that gets one JSON line per request: when it started and ended, and
    the first line of its instruction (so a test can tell a follow-up from a task)."""


class ScriptedBackend(Backend):
    """Answers from a queue the test fills with `enqueue`; records every request it gets."""

    name = "scripted"
    Options = ScriptedOptions

    def __init__(self, options: ScriptedOptions) -> None:
        self.options = options
        self.model = options.model
        self.requests: list[GenerationRequest] = []
        self.closed = False
        self._script: deque[ScriptedAnswer] = deque()
        self.line_requests: list[GenerationRequest] = []
        """The one-line prompts (`line_repair`) asked of `generate_many`, kept apart from
        `requests` so that a test of rewrites counts only those."""
        self._lines: deque[str] = deque()

    def enqueue(self, text: str = "", *, delay_s: float = 0.0, error: Exception | None = None):
        """Queue the answer to the next request (or, with `error`, the failure it meets)."""
        self._script.append(ScriptedAnswer(text, delay_s, error))

    def enqueue_lines(self, *lines: str) -> None:
        """Queue the samples the next one-line prompts get, in order, as many as they ask."""
        self._lines.extend(lines)

    async def generate_many(
        self, request: GenerationRequest, n: int, *, greedy_first: bool = False
    ) -> list[Generation]:
        """A one-line prompt gets n of the queued lines (an empty line, which the engine drops,
        once they run out); any other request is asked n times in turn, as the default does."""
        if request.stop != (LINE_STOP,):
            return await super().generate_many(request, n, greedy_first=greedy_first)
        self.line_requests.append(request)
        texts = [self._lines.popleft() if self._lines else "" for _ in range(n)]
        return [Generation(text, self.name, self.model) for text in texts]

    async def requested(self, count: int, timeout_s: float = 5.0) -> None:
        """Wait until `count` requests have arrived."""
        async with asyncio.timeout(timeout_s):
            while len(self.requests) < count:
                await asyncio.sleep(0.001)

    async def ensure_ready(self) -> None:
        """Ready unless the options say otherwise."""
        if self.options.unavailable:
            raise BackendUnavailable(self.options.unavailable)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """The next queued answer, in chunks, after its delay."""
        self.requests.append(request)
        started = time.time()
        if self._script:
            answer = self._script.popleft()
        elif self.options.reply:
            answer = ScriptedAnswer(self.options.reply, self.options.reply_delay_s)
        else:
            # Not a BackendUnavailable: the engine would count it and carry on, hiding the bug.
            raise LookupError(f"request {len(self.requests)} came, but no answer was queued")
        try:
            if answer.delay_s:
                await asyncio.sleep(answer.delay_s)
            if answer.error is not None:
                raise answer.error
            size = self.options.chunk_chars
            for start in range(0, len(answer.text), size):
                yield answer.text[start : start + size]
        finally:
            self._write_journal(request, started)

    def _write_journal(self, request: GenerationRequest, started: float) -> None:
        if not self.options.journal:
            return
        instruction = request.prompt.rsplit("### Instruction:", 1)[-1].strip().split("\n", 1)[0]
        entry = {"start": started, "end": time.time(), "instruction": instruction[:120]}
        with open(self.options.journal, "a", encoding="utf-8") as journal:
            journal.write(json.dumps(entry) + "\n")

    async def close(self) -> None:
        """Remember that the daemon released it."""
        self.closed = True


def register(registry: BackendRegistry) -> None:
    """The entry point: add `scripted`."""
    registry.register(ScriptedBackend)
