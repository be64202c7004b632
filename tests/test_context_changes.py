"""Specification of `changed_lines`: which lines of the new text a save touched."""

from __future__ import annotations

from takeaways_daemon.context import changed_lines


def test_a_new_file_is_changed_everywhere() -> None:
    """With no previous version, every line of the file counts as changed."""
    assert changed_lines(None, "a\nb\nc\n") == [(1, 3)]


def test_a_new_empty_file_has_no_changed_lines() -> None:
    """An empty file has no line to point at."""
    assert changed_lines(None, "") == []
    assert changed_lines("a\n", "") == []


def test_an_identical_save_changes_nothing() -> None:
    """Saving the same text again yields no ranges."""
    assert changed_lines("a\nb\n", "a\nb\n") == []


def test_an_edited_line_is_reported_by_its_number() -> None:
    """Ranges are 1-based and inclusive, in the new text."""
    assert changed_lines("a\nb\nc\n", "a\nB\nc\n") == [(2, 2)]


def test_inserted_lines_form_one_range() -> None:
    """A block of added lines is one range covering exactly those lines."""
    before = "def f():\n    return 1\n"
    after = "def f():\n    x = 1\n    y = 2\n    return 1\n"
    assert changed_lines(before, after) == [(2, 3)]


def test_separate_edits_stay_separate_and_sorted() -> None:
    """Edits with untouched lines between them are distinct ranges, in file order."""
    assert changed_lines("a\nb\nc\nd\ne\n", "A\nb\nc\nd\nE\n") == [(1, 1), (5, 5)]


def test_adjacent_edits_merge_into_one_range() -> None:
    """A replaced line next to an inserted one reads as a single change."""
    assert changed_lines("a\nb\nc\n", "a\nB\nnew\nc\n") == [(2, 3)]


def test_a_pure_deletion_points_at_the_line_that_took_its_place() -> None:
    """Deleted lines have no line of their own: the line now standing there is reported."""
    before = "def f():\n    x = 1\n    y = 2\n    return x\n"
    after = "def f():\n    x = 1\n    return x\n"
    assert changed_lines(before, after) == [(3, 3)]


def test_a_deletion_at_the_end_is_clamped_to_the_last_line() -> None:
    """Removing the tail of a file points at the new last line, never past the end."""
    assert changed_lines("a\nb\nc\n", "a\n") == [(1, 1)]


def test_line_endings_alone_are_not_a_change() -> None:
    """Converting LF to CRLF changes no line's content, so no range is reported."""
    assert changed_lines("a\nb\n", "a\r\nb\r\n") == []
    assert changed_lines("a\r\nb\r\n", "a\r\nB\r\n") == [(2, 2)]


def test_lines_are_counted_the_way_python_counts_them() -> None:
    """A form feed does not end a line for Python, so it does not shift later numbers here."""
    assert changed_lines("a\n\x0cb\nc\n", "a\n\x0cb\nC\n") == [(3, 3)]


def test_edits_in_a_large_repetitive_file_are_placed_exactly() -> None:
    """Blank and repeated lines are not treated as noise, even in files of many hundred lines."""
    before_lines = ["", "    pass", "x = 1"] * 400
    after_lines = list(before_lines)
    after_lines[10] = "    return 10"
    after_lines[1100] = "y = 2"
    before, after = "\n".join(before_lines) + "\n", "\n".join(after_lines) + "\n"
    assert changed_lines(before, after) == [(11, 11), (1101, 1101)]
