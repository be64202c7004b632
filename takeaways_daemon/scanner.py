"""One-shot analysis of files: the engine without a daemon, for scripts and CI."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.context import plan_file_tasks
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.patches import read_source
from takeaways_daemon.settings import Settings, TaskKind
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.watcher import IgnoreRules

log = logging.getLogger(__name__)


def _files(root: Path, target: Path, settings: Settings) -> Iterator[Path]:
    if target.is_file():
        yield target
        return
    rules = IgnoreRules(root, settings.watcher.extra_ignores)
    for folder, dirs, names in os.walk(target):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if not rules.is_ignored(base / d, is_dir=True))
        for name in sorted(names):
            path = base / name
            if not path.is_symlink() and not rules.is_ignored(path):
                yield path


async def scan_path(
    target: Path,
    settings: Settings,
    *,
    kinds: list[TaskKind] | None = None,
    max_tasks: int = 20,
    progress: Callable[[str], None] | None = None,
) -> list[Suggestion]:
    """Suggestions for every file under `target`, at most `max_tasks` model calls."""
    target = target.resolve()
    root = target if target.is_dir() else target.parent
    enabled = kinds or list(settings.tasks.enabled)
    supervisor = BackendSupervisor(settings)
    engine = SuggestionEngine(root, settings, supervisor, SuggestionStore(), Metrics())
    found: list[Suggestion] = []
    budget = max_tasks
    try:
        await supervisor.select()  # first, so prompts fit the model actually in use
        for path in _files(root, target, settings):
            if budget <= 0:
                break
            try:
                if path.stat().st_size > settings.watcher.max_file_bytes:
                    continue
                text = read_source(path)
            except (OSError, UnicodeDecodeError):
                continue
            relative = path.relative_to(root).as_posix()
            for task in plan_file_tasks(relative, text, enabled, settings.tasks.max_context_lines):
                if budget <= 0:
                    break
                budget -= 1
                if progress:
                    progress(f"{task.kind} {relative}" + (f" {task.symbol}" if task.symbol else ""))
                suggestion = await engine.suggest(task)
                if suggestion is not None:
                    found.append(suggestion)
    finally:
        await supervisor.close()
    return found
