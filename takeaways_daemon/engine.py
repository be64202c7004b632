"""The suggestion engine: file change → tasks → prompt → model → parse → check → store.

One change is worked on at a time, because one local model serves them all; the watcher's
bounded, latest-wins queue is the only buffer. A newer save of the same file cancels the work in
flight for it. Kept answers are published to `kept` listeners (history records the prompt).
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
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.context import plan_tasks
from takeaways_daemon.errors import (
    BackendUnavailable,
    MalformedAnswer,
    PatchRejected,
    PromptTooLong,
)
from takeaways_daemon.injection_markers import injection_signs
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.patches import read_source, sha256_text
from takeaways_daemon.progress import ProgressTracker, TaskWork
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.suggestion_events import Listeners, SuggestionKept
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.task_decoding import task_request
from takeaways_daemon.tasks import Task
from takeaways_daemon.telemetry.stage_clock import StageClock
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
        progress: ProgressTracker | None = None,
    ) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.supervisor = supervisor
        self.store = store
        self.metrics = metrics
        self.progress = progress or ProgressTracker()
        """What is in flight now, and why finished tasks found nothing."""
        self.kept: Listeners[SuggestionKept] = Listeners()
        """Told of every answer that passed the checks, with the exact prompt behind it."""
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

    async def suggest(self, task: Task, clock: StageClock | None = None) -> Suggestion | None:
        """Ask the model until one answer passes every check, at most `candidates` times."""
        with self.progress.working_on(task, self.settings.sampling.candidates) as work:
            return await self._first_good_candidate(task, work, clock or StageClock())

    async def _first_good_candidate(
        self, task: Task, work: TaskWork, clock: StageClock
    ) -> Suggestion | None:
        sampling = self.settings.sampling
        few_shot = self._few_shot()
        for attempt in range(sampling.candidates):
            work.next_candidate(attempt + 1)
            with clock.stage("prompt"):
                request = task_request(task, sampling, few_shot=few_shot, attempt=attempt)
            generation = await self.supervisor.generate(request)
            self.metrics.record_generation(generation.total_s)
            clock.add_generation(generation)
            try:
                with clock.stage("parse"):
                    answer = prompt_format.parse_answer(generation.text, task.kind)
            except MalformedAnswer as error:
                self.metrics.count("malformed")
                log.info("%s %s: malformed answer (%s)", task.kind, task.path, error)
                work.discard(f"malformed answer ({error})")
                continue
            try:
                with clock.stage("parse"):
                    suggestion = build_suggestion(
                        task, answer, backend=generation.backend, model=generation.model
                    )
            except PatchRejected as error:
                self.metrics.count("rejected")
                log.info("%s %s: patch rejected (%s)", task.kind, task.path, error)
                work.discard(str(error))
                continue
            suggestion.telemetry = clock.telemetry()
            answer_text = f"{suggestion.title}\n{suggestion.explanation}\n{suggestion.replacement}"
            # The whole file, not just the prompt's window: a file that tries anywhere is suspect.
            read = f"{task.file_text}\n{request.prompt}"
            suggestion.injection_signs = injection_signs(read, answer_text)
            work.kept()
            kept = SuggestionKept(suggestion, context=task.shown_code, prompt=request.prompt)
            self.kept.publish(kept)
            return suggestion
        return None

    def _still_current(self, task: Task) -> bool:
        try:
            return sha256_text(read_source(self.root / task.path)) == sha256_text(task.file_text)
        except (OSError, UnicodeDecodeError):
            return False

    async def process(
        self, relative: str, tasks: Iterable[Task], saved_at: float, settled_at: float | None = None
    ) -> None:
        """Run each task, keeping the suggestions that pass and still match the file."""
        planned = list(tasks)
        for number, task in enumerate(planned, 1):
            self.progress.tasks_left = len(planned) - number
            clock = StageClock()  # queue: from the change settling until its task starts
            clock.add("queue", (time.monotonic() - (settled_at or time.monotonic())) * 1000)
            try:
                suggestion = await self.suggest(task, clock)
            except BackendUnavailable as error:
                self.metrics.count("backend_errors")
                log.warning("model unavailable for %s: %s", relative, error)
                return
            except PromptTooLong as error:
                self.metrics.count("prompt_too_long")  # this task only; the backend is fine
                log.info("%s %s: skipped (%s)", task.kind, relative, error)
                continue
            if suggestion is None:
                continue
            if not self._still_current(task):
                self.metrics.count("stale_dropped")
                self.progress.nothing_found(task, "dropped: the file changed while it was made")
                return
            suggestion.latency_ms = (time.monotonic() - saved_at) * 1000
            self.store.add(suggestion)  # metrics and history count it as listeners

    def plan(self, relative: str, text: str | None) -> list[Task]:
        """Remember the file's new text and work out what to ask about it.

        Open suggestions for the file follow the edit: moved if their lines are untouched,
        stale otherwise.
        """
        previous = self._last_seen.pop(relative, None)
        self.store.file_changed(relative, previous, text)
        if text is None:
            return []
        self._last_seen[relative] = text
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
            work = asyncio.create_task(
                self.process(change.relative, tasks, saved_at, change.settled_at)
            )
            self._inflight[change.relative] = work
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                    raise asyncio.CancelledError
            finally:
                self._inflight.pop(change.relative, None)
                self.progress.tasks_left = 0

    def cancel_current(self) -> bool:
        """Cancel the work in flight (the TUI's cancel key); False when there was none."""
        current = self.progress.current
        if current is None:
            return False
        self.on_superseded(current.task.path)
        return True
