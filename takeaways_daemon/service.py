"""The daemon's composition root: one watcher, one engine, one backend, one store per project.

The graph is the same whether history is on or off: metrics, and history when enabled, are
listeners on the engine's and the store's events (`suggestion_events.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from takeaways_daemon import __version__, prompt_format
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.errors import PatchRejected, TakeawaysError
from takeaways_daemon.history.apply_journal import ApplyIntent, ApplyJournal, settle_leftovers
from takeaways_daemon.history.recorder import HistoryRecorder
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.learning_trigger import LearningTrigger
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.patches import apply_to_file
from takeaways_daemon.progress import ProgressTracker
from takeaways_daemon.sanitize import strip_control
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.telemetry.daemon_stats import sample_memory_forever
from takeaways_daemon.telemetry.memory import MemorySampler
from takeaways_daemon.watcher import ProjectWatcher
from takeaways_daemon.wire import (
    BackendView,
    CancelResult,
    DaemonStatus,
    FixView,
    GenerateResult,
    HistoryView,
    ProgressView,
    SuggestionCounts,
    WatcherView,
)

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
        self.memory = MemorySampler()
        self.history: HistoryStore | None = None
        self.recorder: HistoryRecorder | None = None
        self.journal: ApplyJournal | None = None
        self.store = SuggestionStore()
        self.supervisor = BackendSupervisor(settings)
        self.progress = ProgressTracker()
        self.engine = SuggestionEngine(
            self.root, settings, self.supervisor, self.store, self.metrics, self.progress
        )
        self.store.events.subscribe(self.metrics.on_store_event)
        if settings.history.enabled:
            # Opened before anything runs: with no usable key the daemon does not start (the
            # error names the fixes), so nothing is ever kept in plain text.
            self.history = HistoryStore.open(settings.history)
            self.journal = ApplyJournal.beside(self.history.path)
            self.recorder = HistoryRecorder(self.history, self.root, settings.history, self.metrics)
            self.engine.kept.subscribe(self.recorder.on_kept)
            self.store.events.subscribe(self.recorder.on_store_event)
        self.watcher = ProjectWatcher(self.root, settings.watcher)
        self.watcher.add_superseded_listener(self.engine.on_superseded)
        self.learning = LearningTrigger(  # automatic rounds, as a niced `takeaways learn now`
            settings, queue_depth=lambda: self.watcher.queue_depth, history=self.history
        )
        self.progress.extra = lambda: {
            "queued": self.watcher.queue_depth,
            "interactive": self.supervisor.gate.interactive,
        }
        self.supervisor.gate.on_change = self.progress.touch
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start watching and load the model (the model loads in the background)."""
        if self.recorder is not None and self.history is not None and self.journal is not None:
            # First: an apply a killed daemon left unaudited marks its row accepted, not ignored.
            settle_leftovers(self.journal, self.history, self.root)
            self.recorder.ignore_leftovers()
            self.recorder.apply_retention()
        await self.watcher.start()
        # bwrap is probed once, off the loop, so `status` can say at once whether tests can run.
        await asyncio.to_thread(self.engine.checker.state)
        self._tasks.append(asyncio.create_task(self.supervisor.start()))
        self._tasks.append(asyncio.create_task(self.engine.run(self.watcher)))
        self._tasks.append(asyncio.create_task(self.learning.run()))
        self._tasks.append(asyncio.create_task(sample_memory_forever(self)))

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
        intent: ApplyIntent | None = None

        def journal_intent(patched: str) -> None:
            # Durable before the file changes, so the apply is audited even if we die first.
            nonlocal intent
            if self.recorder is not None and self.journal is not None:
                intent = self.journal.begin(
                    suggestion_id=suggestion.id, kind=suggestion.kind, project=self.root,
                    path=suggestion.path, before_sha256=suggestion.file_sha256,
                    after_text=patched, row_uid=self.recorder.row_uid(suggestion.id),
                )  # fmt: skip

        try:
            apply_to_file(
                self.root, suggestion.patch(), suggestion.file_sha256, before_write=journal_intent
            )
        except PatchRejected:
            self.store.update(suggestion.model_copy(update={"status": "stale"}))
            self.metrics.count("accept_refused")
            raise
        accepted = suggestion.model_copy(update={"status": "accepted"})
        if self.recorder is not None and self.journal is not None and intent is not None:
            # The intent goes once the audit entry the recorder writes (as a listener) commits.
            self.recorder.when_audited(accepted.id, functools.partial(self.journal.done, intent))
        self.store.update(accepted)  # history audits the apply as a listener
        return accepted

    def reject(self, suggestion_id: str) -> Suggestion:
        """Dismiss a suggestion."""
        rejected = self.get(suggestion_id).model_copy(update={"status": "rejected"})
        self.store.update(rejected)
        return rejected

    def rate(self, suggestion_id: str, rating: int) -> Suggestion:
        """Record 👍 (+1) or 👎 (-1)."""
        rated = self.get(suggestion_id).model_copy(update={"rating": rating})
        self.store.update(rated)
        return rated

    def _generate_request(self, prompt: str, max_tokens: int | None) -> GenerationRequest:
        instruction = f"{prompt.strip()} Answer with the code in a ```python fence."
        return GenerationRequest.from_settings(
            prompt_format.render_prompt(instruction, ""),
            self.settings.sampling,
            stop=prompt_format.STOP_SEQUENCES,
            **({"max_tokens": max_tokens} if max_tokens else {}),
        )

    def _generate_result(
        self, text: str, backend: str, model: str, seconds: float
    ) -> GenerateResult:
        self.metrics.record_generation(seconds)
        self.metrics.instruments.generate.observe(seconds)
        text = strip_control(text)
        fenced = text.split("```", 2)
        code = fenced[1].split("\n", 1)[1] if len(fenced) == 3 and "\n" in fenced[1] else text
        return GenerateResult(
            code=code.rstrip(), text=text, backend=backend, model=model,
            latency_ms=round(seconds * 1000, 1),
        )  # fmt: skip

    async def generate(self, prompt: str, max_tokens: int | None = None) -> GenerateResult:
        """Prompt in, code out (the seed's `/generate`), in the shared prompt format.

        Interactive: it goes before background tasks waiting for the model.
        """
        request = self._generate_request(prompt, max_tokens)
        generation = await self.supervisor.generate(request, interactive=True)
        return self._generate_result(
            generation.text, generation.backend, generation.model, generation.total_s
        )

    async def generate_stream(
        self, prompt: str, max_tokens: int | None = None
    ) -> AsyncIterator[str | GenerateResult]:
        """`generate`, as it is written: sanitized text chunks, then the whole `GenerateResult`."""
        request = self._generate_request(prompt, max_tokens)
        started = time.monotonic()
        chunks: list[str] = []
        async for chunk in self.supervisor.stream(request, interactive=True):
            chunks.append(chunk)
            if text := strip_control(chunk):
                yield text
        backend = self.supervisor.backend
        yield self._generate_result(
            "".join(chunks), backend.name if backend else "", backend.model if backend else "",
            time.monotonic() - started,
        )  # fmt: skip

    def cancel_current(self) -> CancelResult:
        """Cancel the background task in flight (the TUI's cancel key, `takeaways cancel`)."""
        current = self.progress.current
        task = current.view() if current else None
        return CancelResult(cancelled=self.engine.cancel_current(), task=task)

    def progress_view(self) -> ProgressView:
        """What the model works on now, what waits, and what recently found nothing."""
        return self.progress.view()

    def status(self) -> DaemonStatus:
        """Everything `takeaways status` and the TUI's status bar show."""
        backend = self.supervisor.status
        return DaemonStatus(
            version=__version__,
            pid=os.getpid(),
            root=str(self.root),
            uptime_s=round(time.time() - self.started_at, 1),
            backend=BackendView(
                state=backend.state,
                name=backend.backend,
                model=backend.model,
                reason=backend.reason,
                details=backend.details,
            ),
            watcher=WatcherView(mode=self.watcher.mode, queue_depth=self.watcher.queue_depth),
            suggestions=SuggestionCounts(
                kept=len(self.store),
                open=sum(1 for item in self.store if item.status == "open"),
            ),
            metrics=self.metrics.snapshot(),
            history=self._history_status(),
            learning=self.learning.status(),
            progress=self.progress.view(),
            fix=FixView(**vars(self.engine.checker.state())),
        )

    def _history_status(self) -> HistoryView:
        if self.history is None:
            return HistoryView(enabled=False)
        return HistoryView(
            enabled=True,
            path=str(self.history.path),
            key_source=self.settings.history.key_source,
            errors=self.metrics.counters.get("history_errors", 0),
            pending_writes=self.recorder.writer.pending if self.recorder else 0,
        )
