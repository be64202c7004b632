"""One-shot analysis of files: the engine without a daemon, for scripts and CI."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.context import plan_file_tasks
from takeaways_daemon.context.evidence_tasks import diagnostic_tasks, failure_task
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.errors import PromptTooLong
from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.patches import read_source
from takeaways_daemon.progress import ProgressTracker
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.tasks import Task
from takeaways_daemon.watcher import IgnoreRules
from takeaways_daemon.watcher.file_snapshot import read_snapshot
from takeaways_daemon.watcher.rescan import scan_tree

log = logging.getLogger(__name__)


def _texts(root: Path, target: Path, settings: Settings) -> Iterator[tuple[str, str]]:
    """(relative path, text) of each file the watcher would analyse, in a stable order."""
    max_bytes = settings.watcher.max_file_bytes
    if target.is_file():
        paths = [target.name]
    else:
        rules = IgnoreRules(root, settings.watcher.extra_ignores)
        paths = sorted(scan_tree(root, rules, max_bytes))
    for relative in paths:
        # The watcher's own reader: same size cap, binary check and no link following.
        snapshot = read_snapshot(root / relative, max_bytes)
        if snapshot.text is not None:
            yield relative, snapshot.text


async def scan_path(
    target: Path,
    settings: Settings,
    *,
    kinds: list[TaskKind] | None = None,
    max_tasks: int = 20,
    run_tests: bool = False,
    progress: Callable[[str], None] | None = None,
    tracker: ProgressTracker | None = None,
) -> list[Suggestion]:
    """Suggestions for every file under `target`, at most `max_tasks` model calls.

    With `run_tests` (and `fix.tests` not off) the project's whole test suite runs first, in the
    sandbox, and each function a failure points at gets a fix checked against those tests.

    `tracker` is told of each task and candidate, and why a task found nothing.
    """
    target = target.resolve()
    root = target if target.is_dir() else target.parent
    enabled = kinds or list(settings.tasks.enabled)
    supervisor = BackendSupervisor(settings)
    engine = SuggestionEngine(root, settings, supervisor, SuggestionStore(), Metrics(), tracker)
    found: list[Suggestion] = []
    budget = max_tasks
    try:
        await supervisor.select()  # first, so prompts fit the model actually in use
        tasks: list[Task] = []
        if run_tests and "fix" in enabled:
            tasks += await asyncio.to_thread(failing_test_tasks, engine, settings, progress)
        for relative, text in _texts(root, target, settings):
            if len(tasks) >= budget:
                break
            tasks += plan_file_tasks(relative, text, enabled, settings.tasks.max_context_lines)
            if "fix" in enabled and settings.fix.diagnostics and relative.endswith(".py"):
                found_here = await asyncio.to_thread(engine.checker.diagnostics, relative, text)
                tasks += diagnostic_tasks(
                    relative, text, found_here, None, settings.tasks.max_context_lines
                )
        for task in tasks:
            if budget <= 0:
                break
            budget -= 1
            if progress:
                progress(f"{task.kind} {task.path}" + (f" {task.symbol}" if task.symbol else ""))
            try:
                suggestion = await engine.suggest(task)
            except PromptTooLong as error:
                log.info("%s %s skipped: %s", task.kind, task.path, error)
                continue
            if suggestion is not None:
                found.append(suggestion)
    finally:
        await supervisor.close()
    return found


def failing_test_tasks(
    engine: SuggestionEngine, settings: Settings, progress: Callable[[str], None] | None
) -> list[Task]:
    """Run the whole suite in the sandbox; a fix task per function its failures point at."""
    say = progress or (lambda message: None)
    if settings.fix.tests == "off":
        say("tests not run: fix.tests is off")
        return []
    state = engine.checker.state()
    if not state.sandbox:
        say(f"tests not run: {state.sandbox_reason}")
        return []
    say(f"running the tests in the sandbox with {state.interpreter}")
    groups, run = engine.checker.whole_suite()
    failing = frozenset(
        node for node, report in run.reports.items() if report.outcome in ("failed", "error")
    )
    say(
        f"tests: {len(run.reports)} ran, {len(failing)} failed"
        + (f" ({run.error})" if run.error else "")
    )
    tasks = []
    for (path, symbol), failures in groups.items():
        try:
            text = read_source(engine.root / path)
        except (OSError, UnicodeDecodeError):
            continue
        task = failure_task(
            path, text, symbol, failures[0].target_line, failures, failing,
            settings.tasks.max_context_lines,
        )  # fmt: skip
        if task is not None:
            tasks.append(task)
    return tasks
