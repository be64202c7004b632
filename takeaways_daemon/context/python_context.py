"""What a Python file says about itself: whether it parses, where it breaks, what it imports.

>>> tree, issue = parse_python("def f(:\\n    pass\\n")
>>> tree is None, issue.describe()
(True, 'line 1, column 7: invalid syntax')
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass

from takeaways_daemon.context.lines import indentation, is_blank_or_comment, source_lines

_BOM = "\ufeff"
# Zero-indent lines that carry on the statement above them rather than starting a new one.
_CONTINUATION = re.compile(r"(elif|else|except|finally)\b|[)\]}]")
# Python names the line an error started on ("'(' was never closed", "... on line 3").
_REFERENCED_LINE = re.compile(r"\bon line (\d+)")


@dataclass(frozen=True)
class SyntaxIssue:
    """Why a Python file does not parse, and where (1-based source line and column)."""

    line: int
    column: int | None
    message: str

    def describe(self, line: int | None = None) -> str:
        """The issue as `line L, column C: message`; `line` overrides the number shown."""
        where = f"line {self.line if line is None else line}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"

    @property
    def referenced_line(self) -> int | None:
        """An earlier line the message points at, such as the `def` missing its block."""
        match = _REFERENCED_LINE.search(self.message)
        return int(match.group(1)) if match else None


def parse_python(text: str) -> tuple[ast.Module | None, SyntaxIssue | None]:
    """The module's syntax tree, or the issue that stops it from parsing.

    Both are None when the text cannot be parsed and Python cannot say where (null bytes,
    nesting too deep to compile).
    """
    # Editors that save a byte order mark leave it in the text; ast refuses it, Python files don't.
    try:
        # Silence SyntaxWarnings (such as "invalid escape sequence"): they would spam the daemon's
        # log on every save, and under `-W error` Python turns them into SyntaxErrors.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text.removeprefix(_BOM)), None
    except SyntaxError as error:
        return None, _issue_from(error, source_lines(text))
    except (ValueError, RecursionError):
        return None, None


def _issue_from(error: SyntaxError, lines: list[str]) -> SyntaxIssue | None:
    if error.lineno is None:
        return None
    line = min(max(error.lineno, 1), max(len(lines), 1))
    column = error.offset if error.offset and error.offset > 0 else None
    if line != error.lineno:
        column = None  # Past the end of the file: the column means nothing here.
    elif column is not None and lines:
        column = min(column, len(lines[line - 1]) + 1)
    # IndentationError and TabError subclass SyntaxError; their msg alone is what readers need.
    return SyntaxIssue(line, column, error.msg or type(error).__name__)


def imported_modules(tree: ast.Module) -> list[str]:
    """Absolute module names imported anywhere in the module, in source order, without repeats.

    Relative imports are left out: they name the project's own modules, never a framework.

    >>> source = "import os.path, numpy as np\\nfrom . import x\\nfrom django.db import models"
    >>> imported_modules(ast.parse(source))
    ['os.path', 'numpy', 'django.db']
    """
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, node.col_offset, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.col_offset, node.module))
    # ast.walk goes breadth first; sorting by position (stably) restores source order.
    found.sort(key=lambda item: item[:2])
    return list(dict.fromkeys(name for _, _, name in found))


def _starts_statement(line: str) -> bool:
    """Whether a line begins a top-level statement (zero indent, code, not a continuation)."""
    if is_blank_or_comment(line) or indentation(line):
        return False
    code = line.lstrip("\f")
    return not code[:1].isspace() and not _CONTINUATION.match(code)


def _statement_start(lines: list[str], line: int) -> int:
    """The first line of the top-level statement holding `line`, decorators included."""
    start = line
    while start > 1 and not _starts_statement(lines[start - 1]):
        start -= 1
    if not _starts_statement(lines[start - 1]):
        return 1
    above = start - 1
    while above >= 1:
        if _starts_statement(lines[above - 1]):
            if not lines[above - 1].lstrip("\f").startswith("@"):
                break
            start = above
        above -= 1
    return start


def error_window(lines: list[str], issue: SyntaxIssue, max_lines: int) -> tuple[int, int]:
    """The lines a fix may rewrite: the top-level statement around the error, at most `max_lines`.

    It runs from the start of the top-level statement holding the error (an indented error
    usually sits under a `def` or `class` line) to just before the next top-level statement,
    without trailing blank or comment lines; a longer one is cut to `max_lines` centred on the
    error line.
    """
    error_line = issue.line
    start = _statement_start(lines, error_line)
    referenced = issue.referenced_line
    if referenced is not None and 1 <= referenced < start:
        start = _statement_start(lines, referenced)
    end = error_line
    while end < len(lines) and not _starts_statement(lines[end]):
        end += 1
    while end > error_line and is_blank_or_comment(lines[end - 1]):
        end -= 1
    if end - start + 1 > max_lines:
        start = max(start, error_line - (max_lines - 1) // 2)
        end = min(end, start + max_lines - 1)
        start = max(1, end - max_lines + 1)
    return start, end
