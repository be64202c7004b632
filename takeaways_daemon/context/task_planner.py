"""From a saved file to the questions worth asking the model about it.

`plan_tasks` is the whole pipeline: find what changed, work out where it sits (a broken
statement, a function, a class or just some lines), and describe one `Task` per useful kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from takeaways_daemon.context.changes import changed_lines
from takeaways_daemon.context.frameworks import detect_frameworks
from takeaways_daemon.context.generic_context import window_around
from takeaways_daemon.context.languages import PYTHON, is_stub_file, language_for_path
from takeaways_daemon.context.lines import LineMap, indentation, source_lines
from takeaways_daemon.context.python_context import error_window, imported_modules, parse_python
from takeaways_daemon.context.python_definitions import (
    Definition,
    definitions,
    enclosing_definition,
)
from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.tasks import Task
from takeaways_daemon.verification.verdict import Evidence, SyntaxEvidence

Lines = tuple[int, int]


def plan_tasks(
    path: str,
    previous_text: str | None,
    text: str,
    enabled: Sequence[TaskKind],
    max_context_lines: int = 80,
) -> list[Task]:
    """The tasks worth running after `path` changed from `previous_text` (None: new) to `text`.

    Order is fix, complete, docstring, types, explain; kinds not in `enabled` are left out. A
    Python file that does not parse gets only a fix. Nothing changed means nothing to ask.
    """
    plan = Plan(path, language_for_path(path), text, max(1, max_context_lines))
    ranges = changed_lines(previous_text, text)
    wanted = set(enabled)
    if not ranges or not wanted:
        return []
    if plan.language != PYTHON:
        window = window_around(*ranges[0], len(plan.lines), plan.max_lines)
        tasks = [plan.task("explain", window, window)]
    else:
        tasks = _python_tasks(plan, ranges)
    return [task for task in tasks if task.kind in wanted]


def plan_file_tasks(
    path: str, text: str, enabled: Sequence[TaskKind], max_context_lines: int = 80
) -> list[Task]:
    """Every task worth running on a whole file, for one-shot scans: its fix, or each function's."""
    plan = Plan(path, language_for_path(path), text, max(1, max_context_lines))
    wanted = set(enabled)
    if plan.language != PYTHON or not wanted:
        return plan_tasks(path, None, text, enabled, max_context_lines)
    tree, _ = parse_python(text)
    if tree is None:
        tasks = _python_tasks(plan, [(1, max(1, len(plan.lines)))])
    else:
        tasks = []
        for found in definitions(tree, text):
            if found.is_function:
                # A change on the def line selects exactly this function (the innermost there).
                tasks.extend(_python_tasks(plan, [(found.def_line, found.def_line)]))
    unique = {(task.kind, task.target_start, task.target_end): task for task in tasks}
    return [task for task in unique.values() if task.kind in wanted]


@dataclass
class Plan:
    """What every task of one file shares; ranges go in as source lines and leave as Task lines."""

    path: str
    language: str
    text: str
    max_lines: int
    lines: list[str] = field(init=False)
    line_map: LineMap = field(init=False)

    def __post_init__(self) -> None:
        self.lines = source_lines(self.text)
        self.line_map = LineMap(self.text)

    def task(
        self,
        kind: TaskKind,
        shown: Lines,
        target: Lines,
        *,
        indent: str = "",
        symbol: str | None = None,
        error: str | None = None,
        frameworks: tuple[str, ...] = (),
        evidence: Evidence = None,
        failure: str | None = None,
    ) -> Task:
        """A task on source-line ranges `shown` and `target`."""
        shown_start, shown_end = self.line_map.to_task(*shown)
        target_start, target_end = self.line_map.to_task(*target)
        return Task(
            kind=kind,
            path=self.path,
            language=self.language,
            file_text=self.text,
            shown_start=shown_start,
            shown_end=shown_end,
            target_start=target_start,
            target_end=target_end,
            indent=indent,
            symbol=symbol,
            error=error,
            frameworks=frameworks,
            evidence=evidence,
            failure=failure,
        )


def _python_tasks(plan: Plan, ranges: list[Lines]) -> list[Task]:
    tree, issue = parse_python(plan.text)
    if tree is None:
        if issue is None:
            return []  # Python could not say where the problem is, so there is nothing to show.
        window = error_window(plan.lines, issue, plan.max_lines)
        error = issue.describe(plan.line_map.line(issue.line))
        indent = indentation(plan.lines[window[0] - 1])
        evidence = SyntaxEvidence(issue.line, issue.message)
        return [plan.task("fix", window, window, indent=indent, error=error, evidence=evidence)]
    found = enclosing_definition(definitions(tree, plan.text), ranges)
    if found is None:
        return []
    frameworks = detect_frameworks(imported_modules(tree))
    whole = capped(found.start_line, found.end_line, found.def_line, plan.max_lines)
    explain = plan.task("explain", whole, whole, symbol=found.qualname, frameworks=frameworks)
    if not found.is_function:
        return [explain]
    return [*_function_tasks(plan, found, whole, frameworks), explain]


def _function_tasks(
    plan: Plan, function: Definition, whole: Lines, frameworks: tuple[str, ...]
) -> list[Task]:
    """complete, docstring and types for one function, each only where it can be patched."""

    def task(kind: TaskKind, shown: Lines, target: Lines, indent: str) -> Task:
        symbol = function.qualname
        return plan.task(kind, shown, target, indent=indent, symbol=symbol, frameworks=frameworks)

    tasks = []
    from_def = capped(function.def_line, function.end_line, function.def_line, plan.max_lines)
    # A body on the header line (`def f(): ...`) cannot take a patch of whole lines after it.
    patchable = not function.body_on_header_line
    stub_lines = (function.after_header_line, function.end_line)
    if (
        function.is_stub
        and not function.empty_on_purpose
        and not is_stub_file(plan.path)
        and stub_lines[0] <= stub_lines[1]  # a docstring-only body leaves no line to replace
        and _inside(stub_lines, whole)
    ):
        tasks.append(task("complete", whole, stub_lines, function.body_indent))
    first_body_line = (function.body_start_line, function.body_start_line)
    if (
        function.docstring_lines is None
        and not function.is_stub
        and patchable
        and _inside(first_body_line, from_def)
    ):
        tasks.append(task("docstring", from_def, first_body_line, function.body_indent))
    signature = (function.def_line, function.signature_end_line)
    if not function.has_type_hints and patchable and _inside(signature, from_def):
        tasks.append(task("types", from_def, signature, function.def_indent))
    return tasks


def capped(start: int, end: int, keep: int, max_lines: int) -> Lines:
    """`start..end` cut to `max_lines` from the top, always keeping line `keep`."""
    if end - start + 1 <= max_lines:
        return start, end
    start = max(start, keep - max_lines + 1)
    return start, start + max_lines - 1


def _inside(inner: Lines, outer: Lines) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]
