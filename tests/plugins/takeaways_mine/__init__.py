"""A third-party backend with options of its own, to show a plugin can be chosen and configured.

`[backend.mine]` needs a `model` and may set a `greeting`; it answers every prompt with its
greeting, so a test can see that exactly its section reached it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel, ConfigDict

from takeaways_daemon.backends.base import Backend, GenerationRequest
from takeaways_daemon.backends.registry import BackendRegistry


class MineBackend(Backend):
    """Answers with its configured greeting."""

    name = "mine"

    class Options(BaseModel):
        """`[backend.mine]`."""

        model_config = ConfigDict(extra="forbid")

        model: str
        """The model it reports (required: there is no sensible default)."""
        greeting: str = "hello"
        """What it answers."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.model = options.model

    async def ensure_ready(self) -> None:
        """Always ready: it needs nothing."""

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """The greeting, whatever the prompt."""
        yield self.options.greeting


def register(registry: BackendRegistry) -> None:
    """The entry point: add `mine`."""
    registry.register(MineBackend)
