"""The daemon's composition root: one watcher, one engine, one backend, one store per project."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from takeaways_daemon import __version__, prompt_format
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.errors import PatchRejected, TakeawaysError
from takeaways_daemon.history.recorder import (
    HistoryRecorder,
    RecordingSuggestionEngine,
    RecordingSuggestionStore,
)
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.learning_trigger import LearningTrigger
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.patches import apply_to_file
from takeaways_daemon.sanitize import strip_control
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.watcher import ProjectWatcher

log = logging.getLogger(__name__)


class UnknownSuggestion(TakeawaysError):
    """No suggestion has this id (it may have expired)."""


class DaemonService:
    """Everything one daemon does, independent of how it is reached (API, `watch`)."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.started_at = time.time()
        self.metrics = Metrics()
        self.history: HistoryStore | None = None
        self.recorder: HistoryRecorder | None = None
        self.store: SuggestionStore = SuggestionStore()
        self.supervisor = BackendSupervisor(settings)
        if settings.history.enabled:
            # Opened before anything runs: with no usable key the daemon does not start (the
            # error names the fixes), so nothing is ever kept in plain text.
            self.history = HistoryStore.open(settings.history)
            self.recorder = HistoryRecorder(self.history, self.root, settings.history, self.metrics)
            self.store = RecordingSuggestionStore(self.recorder)
            self.engine: SuggestionEngine = RecordingSuggestionEngine(
                self.root, settings, self.supervisor, self.store, self.metrics,
                recorder=self.recorder,
            )  # fmt: skip
        else:
            self.engine = SuggestionEngine(
                self.root, settings, self.supervisor, self.store, self.metrics
            )
        self.watcher = ProjectWatcher(self.root, settings.watcher)
        self.watcher.add_superseded_listener(self.engine.on_superseded)
        self.learning = LearningTrigger(  # automatic rounds, as a niced `takeaways learn now`
            settings, queue_depth=lambda: self.watcher.queue_depth, history=self.history
        )
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Start watching and load the model (the model loads in the background)."""
        if self.recorder is not None:
            self.recorder.ignore_leftovers()
            self.recorder.apply_retention()
        await self.watcher.start()
        self._tasks.append(asyncio.create_task(self.supervisor.start()))
        self._tasks.append(asyncio.create_task(self.engine.run(self.watcher)))
        self._tasks.append(asyncio.create_task(self.learning.run()))

    async def stop(self) -> None:
        """Stop cleanly: no new work, in-flight work cancelled, model released."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.watcher.stop()
        await self.supervisor.close()
        if self.recorder is not None and self.history is not None:
            self.recorder.ignored([item.id for item in self.store if item.status == "open"])
            self.recorder.close()
            self.history.close()

    def get(self, suggestion_id: str) -> Suggestion:
        """A kept suggestion, or `UnknownSuggestion`."""
        suggestion = self.store.get(suggestion_id)
        if suggestion is None:
            raise UnknownSuggestion(
                f"no suggestion {suggestion_id!r}; list them with `takeaways suggestions`"
            )
        return suggestion

    def accept(self, suggestion_id: str) -> Suggestion:
        """Apply a suggestion's patch atomically; refuses if the file changed since."""
        suggestion = self.get(suggestion_id)
        if suggestion.status != "open":
            raise PatchRejected(f"suggestion {suggestion_id} is {suggestion.status}, not open")
        if suggestion.replacement == suggestion.original:
            raise PatchRejected(f"suggestion {suggestion_id} is an explanation: nothing to apply")
        try:
            apply_to_file(self.root, suggestion.patch(), suggestion.file_sha256)
        except PatchRejected:
            self.store.update(suggestion.model_copy(update={"status": "stale"}))
            self.metrics.count("accept_refused")
            raise
        accepted = suggestion.model_copy(update={"status": "accepted"})
        self.store.update(accepted)
        self.metrics.count("accepted")
        if self.recorder is not None:
            self.recorder.applied(accepted)
        return accepted

    def reject(self, suggestion_id: str) -> Suggestion:
        """Dismiss a suggestion."""
        rejected = self.get(suggestion_id).model_copy(update={"status": "rejected"})
        self.store.update(rejected)
        self.metrics.count("rejected_by_user")
        return rejected

    def rate(self, suggestion_id: str, rating: int) -> Suggestion:
        """Record 👍 (+1) or 👎 (-1)."""
        rated = self.get(suggestion_id).model_copy(update={"rating": rating})
        self.store.update(rated)
        self.metrics.count("rated_up" if rating > 0 else "rated_down")
        return rated

    async def generate(self, prompt: str, max_tokens: int | None = None) -> dict[str, Any]:
        """Prompt in, code out (the seed's `/generate`), in the shared prompt format."""
        instruction = f"{prompt.strip()} Answer with the code in a ```python fence."
        request = GenerationRequest.from_settings(
            prompt_format.render_prompt(instruction, ""),
            self.settings.sampling,
            stop=prompt_format.STOP_SEQUENCES,
            **({"max_tokens": max_tokens} if max_tokens else {}),
        )
        generation = await self.supervisor.generate(request)
        text = strip_control(generation.text)
        fenced = text.split("```", 2)
        code = fenced[1].split("\n", 1)[1] if len(fenced) == 3 and "\n" in fenced[1] else text
        return {
            "code": code.rstrip(),
            "text": text,
            "backend": generation.backend,
            "model": generation.model,
            "latency_ms": round(generation.total_s * 1000, 1),
        }

    def status(self) -> dict[str, Any]:
        """Everything `takeaways status` and the TUI's status bar show."""
        backend = self.supervisor.status
        return {
            "version": __version__,
            "pid": os.getpid(),
            "root": str(self.root),
            "uptime_s": round(time.time() - self.started_at, 1),
            "backend": {
                "state": backend.state,
                "name": backend.backend,
                "model": backend.model,
                "reason": backend.reason,
                "details": backend.details,
            },
            "watcher": {"mode": self.watcher.mode, "queue_depth": self.watcher.queue_depth},
            "suggestions": {
                "kept": len(self.store),
                "open": sum(1 for item in self.store if item.status == "open"),
            },
            "metrics": self.metrics.snapshot(),
            "history": self._history_status(),
            "learning": self.learning.status(),
        }

    def _history_status(self) -> dict[str, Any]:
        if self.history is None:
            return {"enabled": False}
        return {
            "enabled": True,
            "path": str(self.history.path),
            "key_source": self.settings.history.key_source,
            "errors": self.metrics.counters.get("history_errors", 0),
            "pending_writes": self.recorder.writer.pending if self.recorder else 0,
        }
