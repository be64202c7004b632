"""The suggestion engine: file change → tasks → prompt → model → parse → check → store.

One change is worked on at a time, because one local model serves them all; the watcher's
bounded, latest-wins queue is the only buffer. A newer save of the same file cancels the work in
flight for it. Kept answers are published to `kept` listeners (history records the prompt).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from pathlib import Path
from typing import Any, Protocol

from takeaways_daemon import prompt_format
from takeaways_daemon.backends.base import Generation
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.context import changed_lines, plan_tasks
from takeaways_daemon.context.evidence_tasks import diagnostic_tasks, failure_task
from takeaways_daemon.context.languages import PYTHON, language_for_path
from takeaways_daemon.errors import (
    BackendUnavailable,
    MalformedAnswer,
    PatchRejected,
    PromptTooLong,
)
from takeaways_daemon.injection_markers import injection_signs
from takeaways_daemon.line_repair import LINE_SAMPLES, LINE_VIEWS, line_answer, suspect_lines
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.patches import read_source, sha256_text
from takeaways_daemon.progress import ProgressTracker, TaskWork
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.suggestion_events import Listeners, SuggestionKept
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.task_decoding import candidate_request, line_request
from takeaways_daemon.tasks import Task
from takeaways_daemon.telemetry.stage_clock import StageClock
from takeaways_daemon.verification.fix_checker import FixChecker
from takeaways_daemon.verification.last_failed import LAST_FAILED
from takeaways_daemon.verification.verdict import TestEvidence, Verdict
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
        self.checker = FixChecker(self.root, settings.fix)
        """The project's sandbox and fix checks (diagnostics, failing tests, verdicts)."""
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
        """Ask the model until one answer passes every check, at most `candidates` times.

        A fix with evidence goes through `_suggest_verified` instead: its candidates are also
        re-checked against that evidence in the sandbox before one is kept.
        """
        clock = clock or StageClock()
        candidates = self.settings.sampling.candidates
        with self.progress.working_on(task, candidates) as work:
            if task.kind == "fix" and task.evidence is not None:
                return await self._suggest_verified(task, work, clock)
            few_shot = self._few_shot()
            for attempt in range(candidates):
                work.next_candidate(attempt + 1)
                candidate = await self._candidate(task, attempt, few_shot, work, clock)
                if candidate is not None:
                    return self._keep(task, *candidate, work, clock)
        return None

    async def _candidate(
        self,
        task: Task,
        attempt: int,
        few_shot: bool,
        work: TaskWork,
        clock: StageClock,
        *,
        greedy: bool = False,
    ) -> tuple[Suggestion, str] | None:
        """One sampled answer as a suggestion that applies and parses, with its prompt; or None.

        `greedy` asks for the model's single most likely answer (temperature 0) instead.
        """
        with clock.stage("prompt"):
            request = candidate_request(
                task, self.settings.sampling, model_wants_examples=few_shot, attempt=attempt,
                greedy=greedy,
            )  # fmt: skip
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
            return None
        try:
            with clock.stage("parse"):
                suggestion = build_suggestion(
                    task, answer, backend=generation.backend, model=generation.model
                )
        except PatchRejected as error:
            self.metrics.count("rejected")
            log.info("%s %s: patch rejected (%s)", task.kind, task.path, error)
            work.discard(str(error))
            return None
        return suggestion, request.prompt

    def _keep(
        self, task: Task, suggestion: Suggestion, prompt: str, work: TaskWork, clock: StageClock
    ) -> Suggestion:
        """Tell the `kept` listeners about the chosen answer, with the prompt behind it."""
        suggestion.telemetry = clock.telemetry(verified=suggestion.verified)
        answer_text = f"{suggestion.title}\n{suggestion.explanation}\n{suggestion.replacement}"
        # The whole file, not just the prompt's window: a file that tries anywhere is suspect.
        suggestion.injection_signs = injection_signs(f"{task.file_text}\n{prompt}", answer_text)
        work.kept()
        self.kept.publish(SuggestionKept(suggestion, context=task.shown_code, prompt=prompt))
        return suggestion

    async def _suggest_verified(
        self, task: Task, work: TaskWork, clock: StageClock
    ) -> Suggestion | None:
        """Candidates for a fix, each checked before it is kept; the first verified wins.

        They come in `_fix_candidates`' order while `fix.verify_budget_s` lasts. Where the check
        runs the tests (seconds, in the sandbox on a worker thread), the next candidate is made
        meanwhile and abandoned once one verifies. A candidate nothing could check (no sandbox)
        is kept as today, `verified` None; a failed one is shown only with
        `fix.show_unverified`.
        """
        fix = self.settings.fix
        deadline = time.monotonic() + fix.verify_budget_s
        overlap = isinstance(task.evidence, TestEvidence)
        candidates = self._fix_candidates(task, work, clock)
        verdicts: dict[str, Verdict] = {}  # sampled answers repeat: check each text once
        failed: tuple[Suggestion, str] | None = None
        checking: asyncio.Task[tuple[Suggestion, str, Verdict]] | None = None
        making: asyncio.Task[tuple[Suggestion, str] | _Exhausted | None] | None = None
        exhausted = False
        try:
            while True:
                more = not exhausted and time.monotonic() < deadline
                if more and making is None and (checking is None or overlap):
                    making = asyncio.create_task(_next_or_exhausted(candidates))
                if making is None and checking is None:
                    break
                if checking is not None:
                    suggestion, prompt, verdict = await checking
                    checking = None
                    checked = suggestion.model_copy(
                        update={"verified": verdict.verified, "evidence": verdict.evidence}
                    )
                    if verdict.verified is not False:
                        self.metrics.count("verified" if verdict.verified else "unchecked")
                        return self._keep(task, checked, prompt, work, clock)
                    self.metrics.count("unverified")
                    log.info("%s %s: candidate not verified (%s)", task.kind, task.path, verdict)
                    work.discard(f"not verified: {verdict.evidence}")
                    failed = failed or (checked, prompt)
                if making is not None:
                    made, making = await making, None
                    if isinstance(made, _Exhausted):
                        exhausted = True
                    elif made is not None:
                        checking = asyncio.create_task(self._verdict(task, *made, verdicts, clock))
        finally:
            for pending in (making, checking):
                if pending is not None and not pending.done():
                    pending.cancel()  # a check's thread finishes on its own; nothing waits on it
                    pending.add_done_callback(_retrieve)
            if making is None or making.done():
                await candidates.aclose()
        if failed is not None and fix.show_unverified:
            return self._keep(task, *failed, work, clock)
        if failed is not None:
            self.metrics.count("unverified_dropped")
        return None

    async def _fix_candidates(
        self, task: Task, work: TaskWork, clock: StageClock
    ) -> AsyncGenerator[tuple[Suggestion, str] | None]:
        """A fix's candidates in the order they are tried (None: one dropped before its check).

        First the model's most likely rewrite (a checked fix can afford to start from the best
        guess); then, with `fix.line_candidates`, a few samples of each suspect line written
        again (`line_repair`), decoded together as parallel sequences; then sampled rewrites
        up to `fix.max_candidates`.
        """
        few_shot = self._few_shot()  # narrowed per task by `shows_worked_example`
        rewrites = max(self.settings.fix.max_candidates, self.settings.sampling.candidates)
        lines = suspect_lines(task) if self.settings.fix.line_candidates else []
        work.candidates = rewrites  # grows by each line's distinct new lines as they come
        number = 1
        work.next_candidate(number)
        yield await self._candidate(task, 0, few_shot, work, clock, greedy=True)
        # What the history and the learning loop record a line candidate under: the rewrite
        # prompt, whose answer format the spliced fix is written in.
        prompt = candidate_request(task, self.settings.sampling, model_wants_examples=few_shot)
        for view, line in itertools.product(LINE_VIEWS, lines):
            request = line_request(task, line, self.settings.sampling, view)
            started = time.monotonic()
            generations = await self.supervisor.generate_many(
                request, LINE_SAMPLES, greedy_first=True
            )
            # One request to the model, however many sequences: timed and counted once.
            batch = Generation(
                "", generations[0].backend, generations[0].model, started_at=started,
                total_s=time.monotonic() - started, prompt_tokens=generations[0].prompt_tokens,
                completion_tokens=sum(g.completion_tokens or 0 for g in generations),
            )  # fmt: skip
            self.metrics.record_generation(batch.total_s)
            clock.add_generation(batch)
            # A copy of the line or a repeat is no candidate: the model proposed nothing new.
            texts = dict.fromkeys(generation.text for generation in generations)
            answers = [a for text in texts if (a := line_answer(task, line, text)) is not None]
            work.candidates += len(answers)
            for answer in answers:
                number += 1
                work.next_candidate(number)
                yield self._line_candidate(task, answer, generations[0], prompt.prompt, work)
        for attempt in range(1, rewrites):
            number += 1
            work.next_candidate(number)
            yield await self._candidate(task, attempt, few_shot, work, clock)

    def _line_candidate(
        self, task: Task, answer: Answer, generation: Generation, prompt: str, work: TaskWork
    ) -> tuple[Suggestion, str] | None:
        """The fix `answer` (a line spliced in) as a suggestion, or None when it is rejected."""
        try:
            suggestion = build_suggestion(
                task, answer, backend=generation.backend, model=generation.model
            )
        except PatchRejected as error:
            self.metrics.count("rejected")
            work.discard(str(error))
            return None
        return suggestion, prompt

    async def _verdict(
        self,
        task: Task,
        suggestion: Suggestion,
        prompt: str,
        seen: dict[str, Verdict],
        clock: StageClock,
    ) -> tuple[Suggestion, str, Verdict]:
        """The candidate's verdict, from a worker thread (ruff, the sandbox) or an earlier twin."""
        verdict = seen.get(suggestion.replacement)
        if verdict is None:
            try:
                with clock.stage("verification"):
                    verdict = await asyncio.to_thread(self.checker.check, task, suggestion)
            except (OSError, ValueError, PatchRejected) as error:
                verdict = Verdict(False, f"could not be checked: {error}")
            seen[suggestion.replacement] = verdict
        return suggestion, prompt, verdict

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

    async def plan_change(self, change: FileChange) -> list[Task]:
        """The tasks for one settled change: the planner's and ruff's, or the failing tests'.

        pytest's `lastfailed` changing means the user ran the tests: the failures are re-run in
        the sandbox (on a worker thread) and each project function they point at gets a fix.
        """
        if change.relative == LAST_FAILED.as_posix():
            return await self._failing_test_tasks(change.text)
        previous = self._last_seen.get(change.relative)
        tasks = self.plan(change.relative, change.text)
        text = change.text
        if (
            text is None
            or text == previous
            or "fix" not in self.settings.tasks.enabled
            or any(task.kind == "fix" for task in tasks)  # a syntax error comes first
            or language_for_path(change.relative) != PYTHON
            or not self.settings.fix.diagnostics
        ):
            return tasks
        found = await asyncio.to_thread(self.checker.diagnostics, change.relative, text)
        fixes = diagnostic_tasks(
            change.relative, text, found, changed_lines(previous, text),
            self.settings.tasks.max_context_lines,
        )  # fmt: skip
        return [*fixes, *tasks]

    async def _failing_test_tasks(self, last_failed: str | None) -> list[Task]:
        """A fix task per project function the tests pytest last saw failing point at."""
        if last_failed is None or self.settings.fix.tests != "on-failure":
            return []
        groups, ids = await asyncio.to_thread(self.checker.failing_tests, last_failed)
        tasks = []
        for (path, symbol), failures in groups.items():
            try:
                text = await asyncio.to_thread(read_source, self.root / path)
            except (OSError, UnicodeDecodeError, PatchRejected):
                continue
            task = failure_task(
                path, text, symbol, failures[0].target_line, failures, ids,
                self.settings.tasks.max_context_lines,
            )  # fmt: skip
            if task is not None and not self._already_suggested(task):
                tasks.append(task)
        self.metrics.count("test_failures", sum(len(group) for group in groups.values()))
        return tasks

    def _already_suggested(self, task: Task) -> bool:
        """Whether an open fix for the same function of the same file text is already shown."""
        sha = sha256_text(task.file_text)
        return any(
            item.kind == "fix" and item.status == "open" and item.path == task.path
            and item.symbol == task.symbol and item.file_sha256 == sha
            for item in self.store
        )  # fmt: skip

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
            tasks = await self.plan_change(change)
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


class _Exhausted:
    """What `_next_or_exhausted` returns once the candidates have run out."""


async def _next_or_exhausted(
    candidates: AsyncIterator[tuple[Suggestion, str] | None],
) -> tuple[Suggestion, str] | _Exhausted | None:
    """The next candidate, or `_Exhausted()` (a task cannot end in `StopAsyncIteration`)."""
    return await anext(candidates, _Exhausted())


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Read a finished background check's outcome, so an abandoned one logs nothing spurious."""
    if not future.cancelled() and future.exception() is not None:
        log.warning("fix check failed: %s", future.exception())
