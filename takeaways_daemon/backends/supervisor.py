"""Choose a backend, watch its health, and switch or recover without a restart.

Order: the names in `backend.prefer`, first ready wins. The default (`["ollama", "embedded"]`):
Ollama if it runs and has the model, else embedded (which itself prefers the built takeaways GGUF
over the packaged base). A failure marks the backend down with a reason that `takeaways status`
shows; a periodic re-check brings it back. The log records each change of state once (not every
re-check: "Ollama is not reachable" every 15 s buried everything else).

Every use of the model takes a turn at the `ModelGate`: interactive requests (ask, explain
more, generate) before background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from takeaways_daemon.backends.base import Backend, Generation, GenerationRequest
from takeaways_daemon.backends.model_gate import ModelGate
from takeaways_daemon.backends.registry import BackendRegistry, default_registry
from takeaways_daemon.errors import BackendUnavailable
from takeaways_daemon.settings import Settings

log = logging.getLogger(__name__)
State = Literal["starting", "ready", "down"]


@dataclass
class BackendStatus:
    """What clients see about the model side."""

    state: State = "starting"
    backend: str | None = None
    model: str | None = None
    reason: str = ""
    """Why the state is what it is (which backend was skipped and why, or the failure)."""
    since: float = field(default_factory=time.time)
    details: dict[str, Any] = field(default_factory=dict)


class BackendSupervisor:
    """Owns the active backend for one daemon."""

    def __init__(self, settings: Settings, registry: BackendRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry or default_registry()
        # A misspelt name fails here, at start, rather than as a backend that is never ready.
        self.registry.check(settings.backend)
        self.status = BackendStatus()
        self._backend: Backend | None = None
        self._select_lock = asyncio.Lock()
        self._recheck_task: asyncio.Task[None] | None = None
        # One instance per backend name: a loaded embedded model is reused, never reloaded.
        self._instances: dict[str, Backend] = {}
        self.gate = ModelGate()
        """Turns at the model: interactive requests first."""
        self._logged: tuple[str, str | None, str] | None = None

    @property
    def backend(self) -> Backend | None:
        """The backend in use, if any."""
        return self._backend

    def _set(self, state: State, reason: str, backend: Backend | None = None) -> None:
        if backend is not None:
            self._backend = backend
        active = self._backend
        self.status = BackendStatus(
            state=state,
            backend=active.name if active else None,
            model=active.model if active else None,
            reason=reason,
            details=active.describe() if active else {},
        )
        # Once per change of state, backend or reason: a re-check that finds the same is quiet.
        logged = (state, self.status.backend, reason)
        if logged != self._logged:
            self._logged = logged
            level = logging.WARNING if state == "down" else logging.INFO
            log.log(level, "backend %s (%s) %s; %s", self.status.backend, self.status.model,
                    state, reason)  # fmt: skip

    def _candidates(self) -> list[str]:
        return list(self.settings.backend.prefer)

    async def select(self) -> Backend:
        """Pick the first backend that is ready, in the documented order."""
        async with self._select_lock:
            skipped: list[str] = []
            for name in self._candidates():
                candidate = self._instances.get(name)
                if candidate is None:
                    candidate = self.registry.create(name, self.settings)
                    self._instances[name] = candidate
                try:
                    await candidate.ensure_ready()
                except BackendUnavailable as error:
                    skipped.append(f"{name}: {error}")
                    continue
                reason = "; ".join(skipped) if skipped else "first choice"
                self._set("ready", reason, candidate)
                return candidate
            self._set("down", "; ".join(skipped))
            raise BackendUnavailable("no backend is available: " + "; ".join(skipped))

    async def start(self) -> None:
        """Select a backend and keep re-checking in the background."""
        with contextlib.suppress(BackendUnavailable):
            await self.select()
        self._recheck_task = asyncio.create_task(self._recheck_loop())

    async def _recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.backend.recheck_interval_s)
            preferred_first = (self._candidates())[0]
            degraded = self.status.state != "ready" or self.status.backend != preferred_first
            if degraded:
                # Down, or serving a fallback while the preferred backend may be back.
                with contextlib.suppress(BackendUnavailable):
                    await self.select()

    async def _ready_backend(self) -> Backend:
        backend = self._backend
        if backend is None or self.status.state == "down":
            backend = await self.select()
        return backend

    async def generate(
        self, request: GenerationRequest, *, interactive: bool = False
    ) -> Generation:
        """Answer with the active backend at its turn; a failure marks it down and is re-raised.

        Background work (the engine's candidates) waits while any interactive request waits.
        """
        async with self.gate.turn(interactive=interactive):
            backend = await self._ready_backend()
            try:
                generation = await backend.generate(request)
            except BackendUnavailable as error:
                self._set("down", str(error))
                raise
        if generation.model != self.status.model:  # it reloaded a swapped model: say which
            self._set(self.status.state, self.status.reason)
        return generation

    async def generate_many(
        self, request: GenerationRequest, n: int, *, greedy_first: bool = False
    ) -> list[Generation]:
        """`n` answers to one prompt (`Backend.generate_many`), as background work at its turn."""
        async with self.gate.turn(interactive=False):
            backend = await self._ready_backend()
            try:
                return await backend.generate_many(request, n, greedy_first=greedy_first)
            except BackendUnavailable as error:
                self._set("down", str(error))
                raise

    async def stream(
        self, request: GenerationRequest, *, interactive: bool = True
    ) -> AsyncIterator[str]:
        """The answer in chunks as the backend writes them, holding the model meanwhile."""
        async with self.gate.turn(interactive=interactive):
            backend = await self._ready_backend()
            try:
                async for chunk in backend.stream(request):
                    yield chunk
            except BackendUnavailable as error:
                self._set("down", str(error))
                raise

    async def close(self) -> None:
        """Stop re-checking and release the backend."""
        if self._recheck_task:
            self._recheck_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recheck_task
        for backend in self._instances.values():
            await backend.close()
