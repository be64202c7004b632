"""Code quality of what a model writes: ruff's findings per 100 lines and cyclomatic complexity.

Passing the tests is not the whole story: a completion can pass while being twice as branchy as
it needs to be, or full of lint. Each piece of written code is scored in its context (for a
completion, the prompt it continues; for a fix, nothing) and only the lines the model wrote
count, so a prompt's own style never moves the number. The same scoring runs on the reference
solution, and reports put the two side by side: lower is better for both measures.

- Findings: ruff (`--isolated`, the rule set below) over the written lines; a sample that does
  not parse counts ruff's syntax errors as its findings.
- Complexity: McCabe's count (1 + each branch point) of the function the written code sits in,
  the same count radon and ruff's C901 make; samples that do not parse have none.
"""

from __future__ import annotations

import ast
import json
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takeaways_daemon.verification.diagnostics import ruff_binary

QUALITY_RULES = ("E", "W", "F", "B", "C4", "SIM", "RET", "PIE", "PERF", "UP")
"""pycodestyle, pyflakes, bugbear, comprehensions, simplify, returns, misc and performance
lints, pyupgrade: what a reviewer would flag in a short function."""
LINE_LENGTH = 100
_RUFF_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class WrittenCode:
    """Code a model (or a reference) wrote, after the `context` it continues."""

    context: str
    code: str

    @property
    def program(self) -> str:
        """The context and the code as one file."""
        return f"{self.context}{self.code}"

    @property
    def written_lines(self) -> tuple[int, int]:
        """The 1-based line range of `code` inside `program` (start > end when it is empty)."""
        first = self.context.count("\n") + 1
        return first, first + self.code.rstrip("\n").count("\n")

    @property
    def line_count(self) -> int:
        """Non-blank lines the code adds."""
        return sum(1 for line in self.code.splitlines() if line.strip())


@dataclass(frozen=True)
class CodeScore:
    """One piece of written code's measures."""

    lines: int
    findings: int
    complexity: int | None
    """McCabe complexity of the function the code is in; None when the program does not parse."""


_BRANCHES = (
    ast.If, ast.IfExp, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.Assert,
    ast.match_case, ast.With, ast.AsyncWith,
)  # fmt: skip


def mccabe_complexity(node: ast.AST) -> int:
    """1 + the branch points under `node`: if/elif, loops, except, with, match cases, boolean
    operators, conditional expressions, comprehension loops and their conditions, asserts.

    >>> mccabe_complexity(ast.parse("def f(x):\\n    if x and x > 1:\\n        return 1"))
    3
    """
    count = 1
    for child in ast.walk(node):
        if isinstance(child, _BRANCHES):
            count += 1
        elif isinstance(child, ast.BoolOp):
            count += len(child.values) - 1
        elif isinstance(child, ast.comprehension):
            count += 1 + len(child.ifs)
    return count


def _enclosing_function(tree: ast.Module, line: int) -> ast.AST:
    """The innermost function spanning `line`; the whole module when none does."""
    best: ast.AST = tree
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            end = node.end_lineno or node.lineno
            if node.lineno <= line <= end:
                best = node  # ast.walk is breadth first: later matches are nested deeper
    return best


def complexity_of(written: WrittenCode) -> int | None:
    """McCabe complexity of the function `written.code` completes (None: it does not parse)."""
    try:
        tree = ast.parse(written.program)
    except SyntaxError:
        return None
    first, last = written.written_lines
    return mccabe_complexity(_enclosing_function(tree, first if first <= last else last))


def ruff_findings(programs: Sequence[WrittenCode]) -> list[int]:
    """How many ruff findings fall on each program's written lines (one ruff run for all)."""
    if not programs:
        return []
    with tempfile.TemporaryDirectory(prefix="takeaways-quality-") as folder:
        root = Path(folder)
        for index, written in enumerate(programs):
            (root / f"sample_{index}.py").write_text(written.program, encoding="utf-8")
        command = [
            ruff_binary(), "check", "--isolated", "--no-cache", "--exit-zero",
            "--output-format", "json", "--line-length", str(LINE_LENGTH),
            "--select", ",".join(QUALITY_RULES), folder,
        ]  # fmt: skip
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=_RUFF_TIMEOUT_S, check=False
        )
    if completed.returncode != 0:
        raise RuntimeError(f"ruff failed: {completed.stderr.strip()[-500:]}")
    counts = [0] * len(programs)
    for finding in json.loads(completed.stdout or "[]"):
        index = int(Path(finding["filename"]).stem.removeprefix("sample_"))
        first, last = programs[index].written_lines
        # A syntax error is the written code's even where ruff places it (often at the end).
        syntax_error = finding.get("code") in (None, "invalid-syntax")
        if syntax_error or first <= int(finding["location"]["row"]) <= last:
            counts[index] += 1
    return counts


def score_all(programs: Sequence[WrittenCode]) -> list[CodeScore]:
    """Each program's lines written, findings on them and complexity."""
    findings = ruff_findings(programs)
    return [
        CodeScore(written.line_count, found, complexity_of(written))
        for written, found in zip(programs, findings, strict=True)
    ]


def aggregate(scores: Sequence[CodeScore]) -> dict[str, Any]:
    """Findings per 100 written lines and mean complexity over `scores`."""
    lines = sum(score.lines for score in scores)
    complexities = [score.complexity for score in scores if score.complexity is not None]
    return {
        "ruff_per_100_lines": round(100 * sum(s.findings for s in scores) / lines, 2)
        if lines
        else None,
        "complexity": round(sum(complexities) / len(complexities), 2) if complexities else None,
        "samples": len(scores),
        "unparsed": len(scores) - len(complexities),
        "lines": lines,
    }


def quality_summary(
    written: Sequence[WrittenCode], reference: Sequence[WrittenCode]
) -> dict[str, Any]:
    """The model's code and the reference solutions, scored the same way, for a report."""
    scores = score_all([*written, *reference])
    return {
        "model": aggregate(scores[: len(written)]),
        "reference": aggregate(scores[len(written) :]),
        "rules": ",".join(QUALITY_RULES),
    }
