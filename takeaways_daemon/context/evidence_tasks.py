"""Fix tasks for bugs that parse fine: a ruff diagnostic, or failing tests pointing at a function.

Each task shows the model the function holding the problem (or a few lines around it, outside any
function) with the evidence in the prompt, and carries that evidence so each candidate can be
checked against it (`verification.verdict`).
"""

from __future__ import annotations

import ast
import builtins
import difflib
from collections.abc import Sequence

from takeaways_daemon.context.generic_context import window_around
from takeaways_daemon.context.languages import PYTHON, language_for_path
from takeaways_daemon.context.lines import indentation
from takeaways_daemon.context.python_context import parse_python
from takeaways_daemon.context.python_definitions import (
    Definition,
    definitions,
    enclosing_definition,
)
from takeaways_daemon.context.task_planner import Lines, Plan, capped
from takeaways_daemon.tasks import Task
from takeaways_daemon.verification.diagnostics import BUG_RULES, Diagnostic
from takeaways_daemon.verification.test_failures import TestFailure
from takeaways_daemon.verification.verdict import Evidence, TestEvidence

OUTSIDE_FUNCTION_LINES = 7
"""Lines shown (and replaceable) around a problem that sits outside any function."""
FAILURE_LINES = 6
"""A failing test's traceback lines put in the prompt: the failing source lines (pytest's `>`)
and its explanation (`E`), the last ones of them; the test's `def` line, the file:line footer and
pytest's string diff are left out. With all of them (14 lines) the base model's greedy answer for
a missing `return` was a copy of the traceback."""
FAILURE_CHARS = 800
FAILURES_NAMED = 1
"""Failing tests named in one fix's error line (the others are counted, and still checked): the
failure block shows the first one's values, and three messages over again only lengthened the
prompt."""


def diagnostic_tasks(
    path: str,
    text: str,
    diagnostics: Sequence[Diagnostic],
    changed: Sequence[Lines] | None = None,
    max_context_lines: int = 80,
) -> list[Task]:
    """One fix task per diagnostic (on lines in `changed`, if given); one per target range."""
    plan = _python_plan(path, text, max_context_lines)
    if plan is None:
        return []
    tree, _ = parse_python(text)
    if tree is None:
        return []  # a syntax error comes first; the planner already asks for its fix
    defs = definitions(tree, text)
    tasks: dict[Lines, Task] = {}
    for diagnostic in diagnostics:
        if changed is not None and not any(a <= diagnostic.line <= b for a, b in changed):
            continue
        meaning = BUG_RULES.get(diagnostic.code, "")
        error = diagnostic.describe() + (f": {meaning}" if meaning else "")
        near = similar_name(diagnostic, tree)
        if near is not None:
            error += f"; did you mean `{near}`?"
        task = _fix_at(plan, defs, diagnostic.line, None, error, diagnostic)
        tasks.setdefault((task.target_start, task.target_end), task)
    return list(tasks.values())


def similar_name(diagnostic: Diagnostic, tree: ast.Module) -> str | None:
    """For an undefined name, the file's most similar name, as Python's own NameError suggests.

    Python 3.10+ prints `Did you mean: 'factor'?` under a NameError; ruff does not. The base
    model copied `value * factr` back six times with only ruff's message in its prompt.

    >>> tree = ast.parse("def scale(values, factor):\\n    return [v * factr for v in values]\\n")
    >>> similar_name(Diagnostic("a.py", 2, 17, "F821", "Undefined name `factr`", "factr"), tree)
    'factor'
    """
    if diagnostic.code != "F821" or not diagnostic.snippet.isidentifier():
        return None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    names.update(name for name in dir(builtins) if not name.startswith("_"))
    names.discard(diagnostic.snippet)
    close = difflib.get_close_matches(diagnostic.snippet, sorted(names), n=1, cutoff=0.7)
    return close[0] if close else None


def failure_task(
    path: str,
    text: str,
    symbol: str,
    line: int | None,
    failures: Sequence[TestFailure],
    already_failing: frozenset[str] = frozenset(),
    max_context_lines: int = 80,
) -> Task | None:
    """A fix task for `symbol` in `path`, which the failing tests point at; None if not found."""
    plan = _python_plan(path, text, max_context_lines)
    tree, _ = parse_python(text)
    if plan is None or tree is None or not failures:
        return None
    defs = definitions(tree, text)
    named = [f"{failure.node_id} failed: {failure.message}" for failure in failures]
    error = "; ".join(named[:FAILURES_NAMED])
    if len(named) > FAILURES_NAMED:
        more = len(named) - FAILURES_NAMED
        error += f" (and {more} more failing {'test' if more == 1 else 'tests'})"
    evidence = TestEvidence(tuple(failures), already_failing)
    found = next((d for d in defs if d.qualname == symbol and d.is_function), None)
    if found is None and line is None:
        return None
    anchor = found.def_line if found is not None else line
    assert anchor is not None
    return _fix_at(plan, defs, anchor, found, error, evidence, _failure_text(failures[0]))


def _python_plan(path: str, text: str, max_context_lines: int) -> Plan | None:
    language = language_for_path(path)
    if language != PYTHON:
        return None
    return Plan(path, language, text, max(1, max_context_lines))


def _fix_at(
    plan: Plan,
    defs: Sequence[Definition],
    line: int,
    function: Definition | None,
    error: str,
    evidence: Evidence,
    failure: str | None = None,
) -> Task:
    """A fix task replacing the function holding `line`, or a few lines around it."""
    found = function or enclosing_definition(defs, [(line, line)])
    if found is not None and found.is_function:
        whole = capped(found.start_line, found.end_line, found.def_line, plan.max_lines)
        return plan.task(
            "fix", whole, whole, indent=found.def_indent, symbol=found.qualname, error=error,
            evidence=evidence, failure=failure,
        )  # fmt: skip
    size = min(plan.max_lines, OUTSIDE_FUNCTION_LINES)
    window = window_around(line, line, len(plan.lines), size)
    shown = [row for row in plan.lines[window[0] - 1 : window[1]] if row.strip()]
    indent = min((indentation(row) for row in shown), key=len, default="")
    symbol = found.qualname if found is not None else None
    return plan.task(
        "fix", window, window, indent=indent, symbol=symbol, error=error, evidence=evidence,
        failure=failure,
    )  # fmt: skip


def _failure_text(failure: TestFailure) -> str | None:
    """Where a failing test failed and the values it saw, from its traceback, compactly."""
    lines = [line.rstrip() for line in failure.traceback.splitlines() if line.strip()]
    kept = [line for line in lines if _explains_failure(line)]
    text = "\n".join((kept or lines)[-FAILURE_LINES:])  # not pytest's format: its last lines
    return text[-FAILURE_CHARS:] or None


def _explains_failure(line: str) -> bool:
    """A failing source line (`>`) or pytest's explanation (`E`), but not its string diff."""
    if line.startswith(">"):
        return True
    if not line.startswith("E") or line[1:2] not in ("", " "):
        return False
    said = line[1:].strip()
    if not said or said.startswith(("- ", "? ", "Omitting ", "Use -v", "Full diff", "...")):
        return False
    return not said.startswith("+ ") or said[1:].lstrip().startswith(("where ", "and "))
