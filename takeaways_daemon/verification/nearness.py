"""How much a candidate changes, and whether that is far more than its evidence needs.

A fix for one wrong line should change about one line. A small model, asked to fix a missing
colon, has been seen to rewrite the whole 40-line function (tabs to spaces, a new signature);
even when such a candidate passes its checks, it is not the fix the user asked for.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Literal

IndentStyle = Literal["tabs", "spaces", "mixed", "none"]

CHANGED_LINES_ALLOWED = 6
"""Changed lines any fix may have beyond the lines its evidence points at."""


def changed_lines(original: str, candidate: str) -> int:
    """Lines removed plus lines added between the two texts (a replaced line counts twice).

    >>> changed_lines("a\\nb\\nc\\n", "a\\nB\\nc\\n")
    2
    """
    matcher = difflib.SequenceMatcher(None, original.splitlines(), candidate.splitlines(), False)
    return sum(
        (old_end - old_start) + (new_end - new_start)
        for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes()
        if tag != "equal"
    )


def indent_style(text: str) -> IndentStyle:
    """Whether the text's indented lines start with tabs, spaces, both, or none is indented.

    >>> indent_style("def f():\\n\\treturn 1\\n"), indent_style("def f():\\n    return 1\\n")
    ('tabs', 'spaces')
    """
    starts = {line[0] for line in text.splitlines() if line[:1] in ("\t", " ") and line.strip()}
    if not starts:
        return "none"
    if len(starts) == 2:
        return "mixed"
    return "tabs" if "\t" in starts else "spaces"


def too_far(
    original: str,
    candidate: str,
    evidence_lines: int = 1,
    allowed: int = CHANGED_LINES_ALLOWED,
) -> str | None:
    """Why `candidate` strays too far from a fix needing `evidence_lines` lines, or None if near.

    >>> too_far("x = 1\\n", "x = 2\\n") is None
    True
    """
    before, after = indent_style(original), indent_style(candidate)
    if before in ("tabs", "spaces") and after != before:
        return f"changes the indentation from {before} to {after}"
    # A one-line replacement counts two changed lines, so the budget is doubled to match.
    budget = 2 * (max(1, evidence_lines) + allowed)
    changed = changed_lines(original, candidate)
    if changed > budget:
        return f"changes {changed} lines where about {2 * max(1, evidence_lines)} are needed"
    return None


def smallest_change(original: str, candidates: Sequence[str]) -> int | None:
    """The index of the candidate changing the fewest lines (the earliest on a tie), if any.

    >>> smallest_change("a\\nb\\n", ["A\\nB\\n", "a\\nB\\n"])
    1
    """
    if not candidates:
        return None
    sizes = [changed_lines(original, candidate) for candidate in candidates]
    return min(range(len(candidates)), key=lambda index: (sizes[index], index))
