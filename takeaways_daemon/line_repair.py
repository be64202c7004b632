"""One-line fix candidates: the model writes a suspect line again, the daemon splices it in.

Most real bugs live on one line (a wrong operator, an off-by-one, a misspelt name, a dropped
`return`), and a small model asked to rewrite a whole function mostly copies it back unchanged.
Asked instead to continue the code up to a suspect line (`prompt_format.render_line_prompt`), it
writes that line fresh, without the wrong version in front of it. Each suspect line gets a few
samples, decoded together as parallel sequences where the backend can; every spliced candidate
then goes through the same checks in the sandbox as any other fix, so a wrong guess costs a test
run and is never shown.
"""

from __future__ import annotations

import ast
from typing import Literal

from takeaways_daemon import prompt_format
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.tasks import Task
from takeaways_daemon.verification.diagnostics import Diagnostic
from takeaways_daemon.verification.verdict import SyntaxEvidence, TestEvidence

LineView = Literal["before", "whole"]
"""What a line prompt shows: the code before the line only, or the whole code as it is now too."""
LINE_VIEWS: tuple[LineView, ...] = ("before", "whole")
"""Tried in this order, every suspect line in one view before the next. In a trial on
bench/fix.py's 10 bugs that parse, each view wrote right lines the other did not: only "whole"
the `return` missing from a function's last line (series), only "before" the one in ranges."""
LINE_SAMPLES = 8
"""Samples per suspect line and view, the first greedy: one batch of parallel sequences (the
embedded backend's default width). Six missed lines that eight found in a trial (series'
missing `return`); a copy or a repeat costs no test run, only its few tokens."""
WHOLE_VIEW_TEMPERATURE = 1.0
"""The "whole" view's samples mostly copy the line they can see; hotter sampling gets away from
the copy: at 0.7 all six samples for series' last line copied `items[start:]`, at 1.0 one of
eight wrote `return items[start:]`."""
LINE_ANSWER_TOKENS = 48
"""A line rarely needs more; a runaway sample is cut here rather than at the answer budget."""


def suspect_lines(task: Task) -> list[int]:
    """The shown code's file line numbers worth writing again, the evidence's own line first.

    Skipped: blank and comment lines, `def`/`class` headers and decorators (a fix keeps the
    signature), and docstrings (they never fail a test).
    """
    lines = task.file_text.splitlines()
    skipped = _headers_and_docstrings(task.file_text)
    numbers = [
        number
        for number in range(task.shown_start, task.shown_end + 1)
        if number <= len(lines)
        and lines[number - 1].strip()
        and not lines[number - 1].lstrip().startswith(("#", "@", "def ", "async def ", "class "))
        and number not in skipped
    ]
    first = _evidence_line(task)
    if first in numbers:
        numbers.remove(first)
        numbers.insert(0, first)
    return numbers


def line_prompt(task: Task, number: int, view: LineView = "before") -> str:
    """The continuation prompt for file line `number` of `task`: the evidence, then the code up
    to the line; with `view` "whole", the shown code as it is now first (as comments)."""
    lines = task.file_text.splitlines()
    line = lines[number - 1]
    evidence = "\n".join(part for part in (task.error, task.failure) if part)
    return prompt_format.render_line_prompt(
        path=task.path,
        evidence=evidence,
        code_before="\n".join(lines[task.shown_start - 1 : number - 1]),
        indent=line[: len(line) - len(line.lstrip())],
        current=task.shown_code if view == "whole" else None,
    )


def line_answer(task: Task, number: int, written: str) -> Answer | None:
    """The fix answer that puts the model's line `written` at line `number`; None if it is no
    change (empty, or the line as it was)."""
    lines = task.file_text.splitlines()
    old = lines[number - 1]
    indent = old[: len(old) - len(old.lstrip())]
    written = written.split("\n", 1)[0]  # one line, whatever a backend without stops sent
    new = indent + written.strip()
    if not written.strip() or new.rstrip() == old.rstrip():
        return None
    shown = lines[task.shown_start - 1 : task.shown_end]
    shown[number - task.shown_start] = new
    return Answer(
        kind="fix",
        title=f"Change line {number}: {written.strip()}"[: prompt_format.MAX_TITLE_CHARS],
        explanation=f"Line {number} was `{old.strip()}`; the evidence points at it: "
        f"{task.error or 'the failing tests'}"[: prompt_format.MAX_EXPLANATION_CHARS],
        code="\n".join(shown),
    )


def _evidence_line(task: Task) -> int | None:
    evidence = task.evidence
    if isinstance(evidence, SyntaxEvidence | Diagnostic):
        return evidence.line
    if isinstance(evidence, TestEvidence):
        return next((f.target_line for f in evidence.failures if f.target_line), None)
    return None


def _headers_and_docstrings(text: str) -> set[int]:
    """Line numbers of multi-line `def`/`class` headers and of docstrings, where `text` parses."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()  # a broken file: only the simple line checks apply
    numbers: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        numbers.update(range(node.lineno, node.body[0].lineno))
        first = node.body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            numbers.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return numbers
