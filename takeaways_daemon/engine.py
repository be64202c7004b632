"""The suggestion engine: file change → tasks → prompt → model → parse → check → store.

One change is worked on at a time, because one local model serves them all; the watcher's
bounded, latest-wins queue is the only buffer. A newer save of the same file cancels the work in
flight for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from takeaways_daemon import prompt_format
from takeaways_daemon.answer_grammars import grammar_for
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.context import plan_tasks
from takeaways_daemon.errors import BackendUnavailable, MalformedAnswer, PatchRejected
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.patches import read_source, sha256_text
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.tasks import Task
from takeaways_daemon.watcher import FileChange

log = logging.getLogger(__name__)


class ChangeSource(Protocol):
    """What the engine needs from a watcher."""

    async def next_change(self) -> FileChange:
        """Wait for the next debounced change."""


class SuggestionEngine:
    """Makes checked suggestions for changed files."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        supervisor: BackendSupervisor,
        store: SuggestionStore,
        metrics: Metrics,
    ) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.supervisor = supervisor
        self.store = store
        self.metrics = metrics
        self._last_seen: dict[str, str] = {}
        self._inflight: dict[str, asyncio.Task[None]] = {}

    def _few_shot(self) -> bool:
        identity = ModelIdentity.named(self.supervisor.status.model or "")
        return identity.wants_few_shot(self.settings.tasks.few_shot)

    def on_superseded(self, relative: str) -> None:
        """A newer save of `relative` arrived: drop the work in flight for the older text."""
        task = self._inflight.get(relative)
        if task is not None and not task.done():
            task.cancel()
            self.metrics.count("cancelled")

    async def suggest(self, task: Task) -> Suggestion | None:
        """Ask the model until one answer passes every check, at most `candidates` times."""
        sampling = self.settings.sampling
        few_shot = self._few_shot()
        prompt = task.prompt(few_shot=few_shot)
        messages = task.messages(few_shot=few_shot)
        for attempt in range(sampling.candidates):
            request = GenerationRequest.from_settings(
                prompt,
                sampling,
                messages=messages,
                stop=prompt_format.STOP_SEQUENCES,
                grammar=grammar_for(task),
                seed=None if sampling.seed is None else sampling.seed + attempt,
            )
            generation = await self.supervisor.generate(request)
            self.metrics.generation_ms.append(generation.total_s * 1000)
            try:
                answer = prompt_format.parse_answer(generation.text, task.kind)
            except MalformedAnswer as error:
                self.metrics.count("malformed")
                log.info("%s %s: malformed answer (%s)", task.kind, task.path, error)
                continue
            try:
                suggestion = build_suggestion(
                    task, answer, backend=generation.backend, model=generation.model
                )
            except PatchRejected as error:
                self.metrics.count("rejected")
                log.info("%s %s: patch rejected (%s)", task.kind, task.path, error)
                continue
            self.on_kept(task, prompt, suggestion)
            return suggestion
        return None

    def on_kept(self, task: Task, prompt: str, suggestion: Suggestion) -> None:
        """Hook: `suggestion` passed every check; `prompt` is exactly what the model was shown."""

    def _still_current(self, task: Task) -> bool:
        try:
            return sha256_text(read_source(self.root / task.path)) == sha256_text(task.file_text)
        except (OSError, UnicodeDecodeError):
            return False

    async def process(self, relative: str, tasks: Iterable[Task], saved_at: float) -> None:
        """Run each task, keeping the suggestions that pass and still match the file."""
        for task in tasks:
            try:
                suggestion = await self.suggest(task)
            except BackendUnavailable as error:
                self.metrics.count("backend_errors")
                log.warning("model unavailable for %s: %s", relative, error)
                return
            if suggestion is None:
                continue
            if not self._still_current(task):
                self.metrics.count("stale_dropped")
                return
            suggestion.latency_ms = (time.monotonic() - saved_at) * 1000
            self.store.add(suggestion)
            self.metrics.count("suggestions")
            self.metrics.count(f"suggestions_{suggestion.kind}")
            self.metrics.record_suggestion(suggestion.latency_ms)

    def plan(self, relative: str, text: str | None) -> list[Task]:
        """Remember the file's new text and work out what to ask about it."""
        if text is None:
            self._last_seen.pop(relative, None)
            self.store.mark_stale(relative, None)
            return []
        previous = self._last_seen.get(relative)
        self._last_seen[relative] = text
        self.store.mark_stale(relative, sha256_text(text))
        if previous == text:
            return []
        tasks = plan_tasks(
            relative,
            previous,
            text,
            self.settings.tasks.enabled,
            self.settings.tasks.max_context_lines,
        )
        self.metrics.count("changes")
        return tasks

    async def run(self, source: ChangeSource) -> None:
        """Work through changes until cancelled."""
        while True:
            change = await source.next_change()
            # The save was the last event, one quiet period before the change settled.
            saved_at = change.settled_at - self.settings.watcher.debounce_ms / 1000
            tasks = self.plan(change.relative, change.text)
            if not tasks:
                continue
            work = asyncio.create_task(self.process(change.relative, tasks, saved_at))
            self._inflight[change.relative] = work
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                    raise asyncio.CancelledError
            finally:
                self._inflight.pop(change.relative, None)
