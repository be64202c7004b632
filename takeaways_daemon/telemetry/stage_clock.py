"""Where one suggestion's time goes: a stopwatch per stage, summed over best-of-n attempts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from takeaways_daemon.backends.base import Generation
from takeaways_daemon.wire import SuggestionTelemetry


@dataclass
class StageClock:
    """Accumulates milliseconds per stage (`wire.STAGES`) and the tokens each attempt used."""

    stages_ms: dict[str, float] = field(default_factory=dict)
    tokens_in: int | None = None
    tokens_out: int | None = None
    attempts: int = 0

    def add(self, stage: str, milliseconds: float) -> None:
        """Count `milliseconds` more in `stage`."""
        self.stages_ms[stage] = self.stages_ms.get(stage, 0.0) + milliseconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as part of stage `name` (also when it raises or `continue`s out)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.add(name, (time.monotonic() - started) * 1000)

    def add_generation(self, generation: Generation) -> None:
        """One model answer: prefill is the wait for its first chunk, generation the rest."""
        self.attempts += 1
        first = generation.first_chunk_s if generation.first_chunk_s is not None else 0.0
        self.add("prefill", first * 1000)
        self.add("generation", max(0.0, generation.total_s - first) * 1000)
        if generation.prompt_tokens is not None:
            self.tokens_in = (self.tokens_in or 0) + generation.prompt_tokens
        if generation.completion_tokens is not None:
            self.tokens_out = (self.tokens_out or 0) + generation.completion_tokens

    def telemetry(self, *, verified: bool | None = None) -> SuggestionTelemetry:
        """The record a kept suggestion carries."""
        return SuggestionTelemetry(
            stages_ms={name: round(ms, 3) for name, ms in self.stages_ms.items()},
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            attempts=max(1, self.attempts),
            verified=verified,
        )
