"""After a learning round swaps the GGUF, the embedded backend reloads inside its next stream;
the answer and the daemon's `/status` must then name the model that answered, not the one loaded
before. Found by the real run (scripts/learning_real_run.py): the first answer after a swap, and
`/status` from then on, still named the packaged base.

The backend here is a stand-in whose stream switches its model as the embedded one does on a
reload (the reload itself, with real GGUFs, is tested in test_learning_round.py); the supervisor
is the real one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from takeaways_daemon.backends.base import Backend, GenerationRequest
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.settings import Settings
from tests.plugins.stand_in import registry_serving


class SwappedOnNextRequest(Backend):
    name = "embedded"

    def __init__(self) -> None:
        self.model = "gemma-3-270m (packaged base)"
        self.swapped = False

    async def ensure_ready(self) -> None:
        if self.swapped:
            self.model = "takeaways (built)"

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        await self.ensure_ready()
        yield "answer"


def test_the_answer_and_the_status_name_the_model_that_answered_after_a_swap() -> None:
    backend = SwappedOnNextRequest()
    settings = Settings(backend={"prefer": ["embedded"]})

    async def scenario() -> tuple[str, str | None, str, str | None]:
        supervisor = BackendSupervisor(settings, registry_serving(backend, "embedded"))
        try:
            await supervisor.select()
            before = await supervisor.generate(GenerationRequest(prompt="x"))
            status_before = supervisor.status.model
            backend.swapped = True  # the round renamed a new GGUF over the served one
            after = await supervisor.generate(GenerationRequest(prompt="x"))
            return before.model, status_before, after.model, supervisor.status.model
        finally:
            await supervisor.close()

    before, status_before, after, status_after = asyncio.run(scenario())
    assert before == status_before == "gemma-3-270m (packaged base)"
    assert after == status_after == "takeaways (built)"
