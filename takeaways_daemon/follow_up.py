"""Follow-up questions about a suggestion ("explain more", "ask about this"), answered as a stream.

The answer is free prose, so no answer grammar applies; the prompt still uses the one shared
format (`prompt_format.follow_up_instruction` + `render_task_input` with the suggestion's diff).
Each chunk is sanitized before it leaves the daemon: a client may print it straight away.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from takeaways_daemon import prompt_format
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.errors import BackendUnavailable, PromptTooLong
from takeaways_daemon.sanitize import strip_control
from takeaways_daemon.settings import SamplingSettings
from takeaways_daemon.suggestions import Suggestion

MAX_QUESTION_CHARS = 2000
# Follow-ups are short conversational answers; the suggestion's own budget is for code.
FOLLOW_UP_MAX_TOKENS = 256


def follow_up_prompt(suggestion: Suggestion, question: str) -> str:
    """The full prompt for a question about `suggestion`, in the shared prompt format."""
    return prompt_format.render_prompt(
        prompt_format.follow_up_instruction(question, suggestion.title, suggestion.explanation),
        prompt_format.render_task_input(
            path=suggestion.path,
            language="diff",
            code=suggestion.diff or suggestion.original,
            symbol=suggestion.symbol,
        ),
    )


@dataclass
class FollowUp:
    """One streamed answer; `summary()` is the stream's last record."""

    suggestion: Suggestion
    question: str
    backend: str = ""
    model: str = ""
    latency_ms: float = 0.0

    async def stream(
        self, supervisor: BackendSupervisor, sampling: SamplingSettings
    ) -> AsyncIterator[str]:
        """Yield the answer's text in sanitized chunks; raise `BackendUnavailable` on failure."""
        started = time.monotonic()
        backend = supervisor.backend
        if backend is None or supervisor.status.state != "ready":
            backend = await supervisor.select()
        self.backend, self.model = backend.name, backend.model
        request = GenerationRequest.from_settings(
            follow_up_prompt(self.suggestion, self.question),
            sampling,
            stop=prompt_format.STOP_SEQUENCES,
            max_tokens=FOLLOW_UP_MAX_TOKENS,
        )
        try:
            async for chunk in backend.stream(request):
                text = strip_control(chunk)
                if text:
                    yield text
        finally:
            self.latency_ms = round((time.monotonic() - started) * 1000, 1)

    def summary(self, error: BackendUnavailable | PromptTooLong | None = None) -> dict[str, Any]:
        """The closing NDJSON record: which model answered, how long it took, any error."""
        record: dict[str, Any] = {
            "done": True,
            "backend": self.backend,
            "model": self.model,
            "latency_ms": self.latency_ms,
        }
        if error is not None:
            record["error"] = str(error)
        return record
