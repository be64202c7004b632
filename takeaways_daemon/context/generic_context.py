"""Context for files the daemon cannot analyse: a window of lines around what changed.

>>> window_around(50, 52, line_count=200, max_lines=9)
(47, 55)
>>> window_around(1, 1, line_count=3, max_lines=80)
(1, 3)
"""

from __future__ import annotations


def window_around(start: int, end: int, line_count: int, max_lines: int) -> tuple[int, int]:
    """Lines `start..end` with context added evenly on both sides: at most `max_lines`, in the file.

    A change longer than `max_lines` keeps its beginning, where a reader starts.
    """
    max_lines = max(1, max_lines)
    start = min(max(start, 1), max(line_count, 1))
    end = min(max(end, start), max(line_count, 1))
    if end - start + 1 >= max_lines:
        return start, start + max_lines - 1
    first = max(1, start - (max_lines - (end - start + 1)) // 2)
    last = min(max(line_count, 1), first + max_lines - 1)
    first = max(1, last - max_lines + 1)
    return first, last
