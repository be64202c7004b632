"""Which lines of a file changed since the last version the daemon saw."""

from __future__ import annotations

from difflib import SequenceMatcher

from takeaways_daemon.context.lines import source_lines


def changed_lines(previous: str | None, current: str) -> list[tuple[int, int]]:
    """Line ranges of `current` added or edited since `previous`: 1-based, inclusive, merged.

    `previous=None` means the file is new, so all of it counts as changed. A pure deletion has no
    line of its own in `current`: it is reported as the line now standing where the deleted ones
    were, clamped to the file.

    >>> changed_lines("a\\nb\\nc\\n", "a\\nB\\nc\\nd\\n")
    [(2, 2), (4, 4)]
    >>> changed_lines("a\\nb\\nc\\n", "a\\nc\\n")
    [(2, 2)]
    """
    new = source_lines(current)
    if not new:
        return []
    if previous is None:
        return [(1, len(new))]
    old = source_lines(previous)
    # Most saves touch one spot: diff only the middle, which keeps big files fast.
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    # autojunk would treat common lines (blank, "pass", closing brackets) as noise in files over
    # 200 lines and report edits in the wrong places.
    matcher = SequenceMatcher(
        None, old[prefix : len(old) - suffix], new[prefix : len(new) - suffix], autojunk=False
    )
    ranges: list[tuple[int, int]] = []
    for tag, _, _, start, end in matcher.get_opcodes():
        if tag == "equal":
            continue
        if start == end:  # Deleted lines: point at the line that took their place.
            line = min(prefix + start + 1, len(new))
            ranges.append((line, line))
        else:
            ranges.append((prefix + start + 1, prefix + end))
    return _merge(ranges)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
