"""Specification of line-range patches: applying, diffing, parsing diffs, and writing to disk."""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeaways_daemon.errors import FileChangedError, PatchRejected
from takeaways_daemon.patches import (
    LinePatch,
    apply_to_file,
    parse_unified_diff,
    patch_from_texts,
    read_source,
    resolve_inside,
    sha256_text,
    write_atomically,
)

THREE_LINES = "x = 1\ny = 1\nz = 1\n"


class TestApplyTo:
    def test_replaces_a_middle_line(self) -> None:
        """Only the named line changes; its neighbours are kept byte for byte."""
        patch = LinePatch("a.py", 2, 2, "y = 2\n", original="y = 1\n")
        assert patch.apply_to(THREE_LINES) == "x = 1\ny = 2\nz = 1\n"

    def test_replaces_the_first_line(self) -> None:
        patch = LinePatch("a.py", 1, 1, "x = 2\n", original="x = 1\n")
        assert patch.apply_to(THREE_LINES) == "x = 2\ny = 1\nz = 1\n"

    def test_replaces_the_last_line(self) -> None:
        patch = LinePatch("a.py", 3, 3, "z = 2\n", original="z = 1\n")
        assert patch.apply_to(THREE_LINES) == "x = 1\ny = 1\nz = 2\n"

    def test_a_replacement_without_newline_still_ends_its_line(self) -> None:
        """A replacement missing its final newline must not glue itself to the next line."""
        patch = LinePatch("a.py", 2, 2, "y = 2", original="y = 1\n")
        assert patch.apply_to(THREE_LINES) == "x = 1\ny = 2\nz = 1\n"

    def test_a_last_line_without_newline_stays_without_one(self) -> None:
        """Patching the unterminated last line does not add a newline the user never had."""
        patch = LinePatch("a.py", 2, 2, "y = 2\n", original="y = 1")
        assert patch.apply_to("x = 1\ny = 1") == "x = 1\ny = 2"

    def test_may_replace_one_line_with_several_or_none(self) -> None:
        grow = LinePatch("a.py", 2, 2, "y = 2\nw = 3\n", original="y = 1\n")
        assert grow.apply_to(THREE_LINES) == "x = 1\ny = 2\nw = 3\nz = 1\n"
        delete = LinePatch("a.py", 2, 3, "", original="y = 1\nz = 1\n")
        assert delete.apply_to(THREE_LINES) == "x = 1\n"

    def test_refuses_when_the_lines_are_not_the_expected_ones(self) -> None:
        """A patch made for other text is rejected rather than applied blindly."""
        patch = LinePatch("a.py", 2, 2, "y = 2\n", original="y = 0\n")
        with pytest.raises(PatchRejected, match="no longer holds"):
            patch.apply_to(THREE_LINES)

    @pytest.mark.parametrize(("start", "end"), [(0, 1), (3, 4), (4, 4), (3, 2)])
    def test_refuses_ranges_outside_the_file(self, start: int, end: int) -> None:
        patch = LinePatch("a.py", start, end, "q\n", original="z = 1\n")
        with pytest.raises(PatchRejected, match=r"outside a\.py"):
            patch.apply_to(THREE_LINES)


class TestCrlfFiles:
    def test_read_and_write_keep_crlf_bytes(self, tmp_path: Path) -> None:
        """Neither reading nor writing translates line endings: hashes see the real bytes."""
        target = tmp_path / "win.py"
        target.write_bytes(b"x = 1\r\ny = 1\r\n")
        text = read_source(target)
        assert text == "x = 1\r\ny = 1\r\n"
        write_atomically(target, text.replace("y = 1", "y = 2"))
        assert target.read_bytes() == b"x = 1\r\ny = 2\r\n"

    def test_untouched_lines_keep_crlf_after_apply(self, tmp_path: Path) -> None:
        """Applying a patch on disk rewrites only its own lines."""
        target = tmp_path / "win.py"
        target.write_bytes(b"x = 1\r\ny = 1\r\nz = 1\r\n")
        text = read_source(target)
        patch = LinePatch("win.py", 2, 2, "y = 2\r\n", original="y = 1\r\n")
        apply_to_file(tmp_path, patch, sha256_text(text))
        assert target.read_bytes() == b"x = 1\r\ny = 2\r\nz = 1\r\n"

    def test_an_lf_replacement_takes_the_file_crlf_endings(self) -> None:
        """Suggestions are built with LF code; a CRLF file should not end up with mixed endings."""
        patch = LinePatch("win.py", 2, 2, "y = 2\n", original="y = 1\r\n")
        assert patch.apply_to("x = 1\r\ny = 1\r\nz = 1\r\n") == "x = 1\r\ny = 2\r\nz = 1\r\n"


class TestUnifiedDiff:
    def test_renders_a_standard_unified_diff(self) -> None:
        patch = LinePatch("pkg/a.py", 2, 2, "y = 2\n", original="y = 1\n")
        assert patch.unified_diff(THREE_LINES) == (
            "--- a/pkg/a.py\n+++ b/pkg/a.py\n@@ -1,3 +1,3 @@\n x = 1\n-y = 1\n+y = 2\n z = 1\n"
        )

    def test_round_trips_through_parse_unified_diff(self) -> None:
        """A patch's own diff parses back into a patch with the same effect."""
        text = "".join(f"line {n}\n" for n in range(1, 21))
        patch = LinePatch("a.py", 9, 10, "new 9\nnew 9b\nnew 10\n", original="line 9\nline 10\n")
        parsed = parse_unified_diff("a.py", patch.unified_diff(text), text)
        assert parsed == patch
        assert parsed.apply_to(text) == patch.apply_to(text)

    def test_round_trips_when_the_last_line_has_no_newline(self) -> None:
        text = "x = 1\ny = 1"
        patch = LinePatch("a.py", 2, 2, "y = 2\n", original="y = 1")
        diff = patch.unified_diff(text)
        assert "-y = 1\n" in diff
        assert parse_unified_diff("a.py", diff, text).apply_to(text) == "x = 1\ny = 2"

    def test_parses_a_multi_hunk_diff_from_difflib(self) -> None:
        """Hunks far apart collapse into one line range whose result equals the diff's target."""
        before = "".join(f"line {n}\n" for n in range(1, 31))
        after = before.replace("line 3\n", "LINE 3\n").replace("line 27\n", "line 27\nadded\n")
        diff = "".join(
            difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True), "a/f", "b/f"
            )
        )
        assert diff.count("@@ -") == 2
        patch = parse_unified_diff("f", diff, before)
        assert (patch.start_line, patch.end_line) == (3, 27)
        assert patch.apply_to(before) == after

    def test_parses_a_hunk_that_inserts_at_the_top(self) -> None:
        """`@@ -0,0` hunks (pure additions to the start) are placed before line 1."""
        diff = "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+# header\n"
        assert parse_unified_diff("f", diff, THREE_LINES).apply_to(THREE_LINES) == (
            "# header\n" + THREE_LINES
        )

    def test_refuses_a_diff_whose_context_does_not_match(self) -> None:
        diff = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n x = 1\n-y = 9\n+y = 2\n"
        with pytest.raises(PatchRejected, match="does not match f at line 2"):
            parse_unified_diff("f", diff, THREE_LINES)

    def test_refuses_a_hunk_past_the_end_of_the_file(self) -> None:
        diff = "--- a/f\n+++ b/f\n@@ -9,1 +9,1 @@\n-gone\n+here\n"
        with pytest.raises(PatchRejected, match="does not match"):
            parse_unified_diff("f", diff, THREE_LINES)

    def test_refuses_hunks_out_of_order(self) -> None:
        diff = (
            "--- a/f\n+++ b/f\n@@ -3,1 +3,1 @@\n-z = 1\n+z = 2\n@@ -1,1 +1,1 @@\n-x = 1\n+x = 2\n"
        )
        with pytest.raises(PatchRejected, match="out of order"):
            parse_unified_diff("f", diff, THREE_LINES)

    def test_refuses_a_diff_for_another_file(self) -> None:
        """The docstring: 'a diff for another file ... raises PatchRejected'."""
        diff = "--- a/other.py\n+++ b/other.py\n@@ -2,1 +2,1 @@\n-y = 1\n+y = 2\n"
        with pytest.raises(PatchRejected):
            parse_unified_diff("a.py", diff, THREE_LINES)

    def test_refuses_text_without_hunks(self) -> None:
        with pytest.raises(PatchRejected, match="no hunks"):
            parse_unified_diff("f", "I changed line 2 to y = 2.", THREE_LINES)

    def test_refuses_a_diff_that_changes_nothing(self) -> None:
        diff = "--- a/f\n+++ b/f\n@@ -1,1 +1,1 @@\n x = 1\n"
        with pytest.raises(PatchRejected, match="changes nothing"):
            parse_unified_diff("f", diff, THREE_LINES)


class TestPatchFromTexts:
    def test_covers_only_the_changed_lines(self) -> None:
        before = "a\nb\nc\nd\ne\n"
        patch = patch_from_texts("f", before, "a\nB\nC\nd\ne\n")
        assert (patch.start_line, patch.end_line) == (2, 3)
        assert (patch.original, patch.replacement) == ("b\nc\n", "B\nC\n")

    def test_a_deletion_has_an_empty_replacement(self) -> None:
        patch = patch_from_texts("f", "a\nb\nc\n", "a\nc\n")
        assert (patch.start_line, patch.end_line, patch.replacement) == (2, 2, "")

    def test_an_insertion_is_anchored_on_the_line_before_it(self) -> None:
        """A range is never empty: inserted lines carry the line above them along."""
        patch = patch_from_texts("f", "a\nb\n", "a\nnew\nb\n")
        assert (patch.start_line, patch.end_line) == (1, 1)
        assert (patch.original, patch.replacement) == ("a\n", "a\nnew\n")

    def test_an_insertion_at_the_top_is_anchored_on_the_first_line(self) -> None:
        patch = patch_from_texts("f", "a\nb\n", "new\na\nb\n")
        assert (patch.start_line, patch.end_line) == (1, 1)
        assert (patch.original, patch.replacement) == ("a\n", "new\na\n")

    def test_an_insertion_at_the_end_is_anchored_on_the_last_line(self) -> None:
        patch = patch_from_texts("f", "a\nb\n", "a\nb\nnew\n")
        assert (patch.start_line, patch.end_line) == (2, 2)
        assert (patch.original, patch.replacement) == ("b\n", "b\nnew\n")

    def test_refuses_identical_texts(self) -> None:
        with pytest.raises(PatchRejected, match="changes nothing"):
            patch_from_texts("f", THREE_LINES, THREE_LINES)

    def test_refuses_to_anchor_in_an_empty_file(self) -> None:
        with pytest.raises(PatchRejected, match="empty file"):
            patch_from_texts("f", "", "new\n")

    @settings(max_examples=300, database=None, deadline=None)
    @given(
        st.lists(st.sampled_from(["a\n", "b\n", "c\n"]), min_size=1, max_size=8),
        st.lists(st.sampled_from(["a\n", "b\n", "c\n"]), min_size=1, max_size=8),
    )
    def test_the_patch_turns_before_into_after(self, before: list[str], after: list[str]) -> None:
        """For newline-terminated texts, applying the computed patch reproduces `after`."""
        old, new = "".join(before), "".join(after)
        if old == new:
            return
        patch = patch_from_texts("f", old, new)
        assert patch.apply_to(old) == new
        assert parse_unified_diff("f", patch.unified_diff(old), old).apply_to(old) == new


class TestResolveInside:
    def test_resolves_a_relative_path_under_the_root(self, tmp_path: Path) -> None:
        assert resolve_inside(tmp_path, "pkg/a.py") == tmp_path.resolve() / "pkg" / "a.py"

    @pytest.mark.parametrize("relative", ["../x", "pkg/../../x", ""])
    def test_refuses_paths_that_leave_the_root(self, tmp_path: Path, relative: str) -> None:
        with pytest.raises(PatchRejected):
            resolve_inside(tmp_path / "project", relative)

    def test_refuses_absolute_paths(self, tmp_path: Path) -> None:
        with pytest.raises(PatchRejected, match="must be relative"):
            resolve_inside(tmp_path, str(tmp_path / "a.py"))

    def test_refuses_a_symlink_inside_the_root_that_points_outside(self, tmp_path: Path) -> None:
        root = tmp_path / "project"
        root.mkdir()
        outside = tmp_path / "secret.py"
        outside.write_text("token = 1\n")
        (root / "link.py").symlink_to(outside)
        with pytest.raises(PatchRejected, match="leaves the project root"):
            resolve_inside(root, "link.py")


class TestApplyToFile:
    def _project(self, tmp_path: Path, text: str = THREE_LINES) -> Path:
        (tmp_path / "a.py").write_text(text)
        return tmp_path / "a.py"

    def test_writes_the_patched_text(self, tmp_path: Path) -> None:
        target = self._project(tmp_path)
        patch = LinePatch("a.py", 2, 2, "y = 2\n", original="y = 1\n")
        assert apply_to_file(tmp_path, patch, sha256_text(THREE_LINES)) == target.resolve()
        assert target.read_text() == "x = 1\ny = 2\nz = 1\n"

    def test_refuses_a_file_that_changed_and_leaves_it_alone(self, tmp_path: Path) -> None:
        """An edit after the suggestion was made wins: the patch is refused, bytes untouched."""
        target = self._project(tmp_path)
        expected = sha256_text(THREE_LINES)
        target.write_text("x = 1\ny = 1\nz = 1\n# edited\n")
        before = target.read_bytes()
        patch = LinePatch("a.py", 2, 2, "y = 2\n", original="y = 1\n")
        with pytest.raises(FileChangedError, match="changed since"):
            apply_to_file(tmp_path, patch, expected)
        assert target.read_bytes() == before

    def test_refuses_a_file_that_was_deleted(self, tmp_path: Path) -> None:
        patch = LinePatch("gone.py", 1, 1, "x\n", original="y\n")
        with pytest.raises(FileChangedError, match="no longer exists"):
            apply_to_file(tmp_path, patch, sha256_text("y\n"))

    def test_keeps_the_file_mode(self, tmp_path: Path) -> None:
        target = self._project(tmp_path)
        target.chmod(0o750)
        patch = LinePatch("a.py", 2, 2, "y = 2\n", original="y = 1\n")
        apply_to_file(tmp_path, patch, sha256_text(THREE_LINES))
        assert stat.S_IMODE(target.stat().st_mode) == 0o750

    def test_leaves_no_temporary_files(self, tmp_path: Path) -> None:
        self._project(tmp_path)
        patch = LinePatch("a.py", 2, 2, "y = 2\n", original="y = 1\n")
        apply_to_file(tmp_path, patch, sha256_text(THREE_LINES))
        assert sorted(os.listdir(tmp_path)) == ["a.py"]

    def test_a_rejected_patch_leaves_no_temporary_files(self, tmp_path: Path) -> None:
        target = self._project(tmp_path)
        patch = LinePatch("a.py", 2, 2, "y = 2\n", original="y = 0\n")
        with pytest.raises(PatchRejected):
            apply_to_file(tmp_path, patch, sha256_text(THREE_LINES))
        assert sorted(os.listdir(tmp_path)) == ["a.py"]
        assert target.read_text() == THREE_LINES

    def test_refuses_a_patch_path_outside_the_project(self, tmp_path: Path) -> None:
        root = tmp_path / "project"
        root.mkdir()
        (tmp_path / "b.py").write_text(THREE_LINES)
        patch = LinePatch("../b.py", 2, 2, "y = 2\n", original="y = 1\n")
        with pytest.raises(PatchRejected, match="leaves the project root"):
            apply_to_file(root, patch, sha256_text(THREE_LINES))
        assert (tmp_path / "b.py").read_text() == THREE_LINES
