"""Source lines as Python counts them, and their numbers as a `Task` counts them.

`ast` and `tokenize` end lines only at `\\n`, `\\r\\n` and `\\r`. `Task` and the patch code use
`str.splitlines`, which also breaks at form feeds, `\\x1c`-`\\x1e`, `\\x85`, `\\u2028` and
`\\u2029`. A form feed between functions (an old Emacs habit) would shift every later line
number, so the planner works in source lines and converts ranges at the very end.

>>> source_lines("a\\r\\nb\\rc\\n")
['a', 'b', 'c']
>>> LineMap("a\\n\\x0cdef f(): pass\\n").to_task(2, 2)
(2, 3)
"""

from __future__ import annotations

import re

_SOURCE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> list[str]:
    """The text's lines as `ast` numbers them, without line endings."""
    lines = _SOURCE_BREAK.split(text)
    # A final newline ends the last line rather than starting an empty one (like splitlines).
    if lines[-1] == "":
        lines.pop()
    return lines


def indentation(line: str) -> str:
    """The spaces and tabs a line starts with."""
    leading = line[: len(line) - len(line.lstrip(" \t\f"))]
    # A form feed resets Python's column count, so only what follows the last one indents.
    return leading.rpartition("\f")[2]


def is_blank_or_comment(line: str) -> bool:
    """Whether a line holds no code: only whitespace or a comment."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


class LineMap:
    """Converts source line ranges into `str.splitlines` ranges of the same text."""

    def __init__(self, text: str) -> None:
        self._first: list[int] = []
        self._last: list[int] = []
        if text.splitlines() == source_lines(text):
            return  # The usual case: both numberings agree and no table is needed.
        line_open = False
        for number, piece in enumerate(text.splitlines(keepends=True), start=1):
            if not line_open:
                self._first.append(number)
                self._last.append(number)
                line_open = True
            self._last[-1] = number
            line_open = not piece.endswith(("\n", "\r"))

    def to_task(self, start: int, end: int) -> tuple[int, int]:
        """The `Task` range covering source lines `start..end` (1-based, inclusive)."""
        if not self._first:
            return start, end
        return self._first[start - 1], self._last[end - 1]

    def line(self, number: int) -> int:
        """The `Task` line number where source line `number` begins."""
        return self.to_task(number, number)[0]
