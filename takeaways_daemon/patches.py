"""Patches as line-range replacements: check, render as a unified diff, parse from one, apply.

A patch replaces lines `start_line..end_line` (1-based, inclusive) with `replacement`. It carries
the text it expects there, so it only applies to the file it was made for.

>>> patch = LinePatch("a.py", 2, 2, "y = 2\\n", original="y = 1\\n")
>>> patch.apply_to("x = 1\\ny = 1\\n")
'x = 1\\ny = 2\\n'
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from takeaways_daemon.errors import FileChangedError, PatchRejected
from takeaways_daemon.safe_read import UnsafeFile, read_capped


def sha256_text(text: str) -> str:
    """Fingerprint of a file's text, used to refuse patches on a changed file."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _diff_lines(text: str) -> list[str]:
    """Lines for difflib, with git's marker after a last line that has no newline."""
    lines = _lines(text)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


DIFF_CONTEXT_LINES = 3
"""Unchanged lines shown around a patch in its diff; they must stay unchanged for it to move."""


@dataclass(frozen=True)
class LinePatch:
    """Replace lines `start_line..end_line` of `path` with `replacement`."""

    path: str
    start_line: int
    end_line: int
    replacement: str
    original: str
    """The lines being replaced, exactly as they were."""

    def apply_to(self, text: str) -> str:
        """The patched text; raises `PatchRejected` if the lines are not the expected ones."""
        lines = _lines(text)
        if not 1 <= self.start_line <= self.end_line <= max(len(lines), 1):
            raise PatchRejected(
                f"lines {self.start_line}-{self.end_line} are outside {self.path} "
                f"({len(lines)} lines)"
            )
        current = "".join(lines[self.start_line - 1 : self.end_line])
        if current.rstrip("\n") != self.original.rstrip("\n"):
            raise PatchRejected(f"{self.path}:{self.start_line} no longer holds the patched lines")
        replacement = _ensure_newline(self.replacement)
        if "\r\n" in (current or text):
            # Keep a CRLF file CRLF: model code always comes with bare newlines.
            replacement = replacement.replace("\r\n", "\n").replace("\n", "\r\n")
        if not current.endswith("\n"):
            # The last line had no newline: keep it that way.
            replacement = replacement.removesuffix("\n")
        return "".join(lines[: self.start_line - 1]) + replacement + "".join(lines[self.end_line :])

    def unified_diff(self, text: str, context: int = DIFF_CONTEXT_LINES) -> str:
        """The patch as a unified diff against `text`."""
        after = self.apply_to(text)
        return "".join(
            difflib.unified_diff(
                _diff_lines(text), _diff_lines(after), f"a/{self.path}", f"b/{self.path}", n=context
            )
        )


def reanchor(
    patch: LinePatch, before: str, after: str, context: int = DIFF_CONTEXT_LINES
) -> LinePatch | None:
    """`patch`, made for `before`, moved to where its lines now are in `after`.

    None when the patched lines, or the `context` lines around them, were edited (the patch is
    stale). Edits elsewhere keep it; lines inserted or removed above it shift its numbers.

    >>> patch = LinePatch("a.py", 2, 2, "y = 2\\n", original="y = 1\\n")
    >>> reanchor(patch, "x = 1\\ny = 1\\n", "import os\\nx = 1\\ny = 1\\n", context=0).start_line
    3
    >>> reanchor(patch, "x = 1\\ny = 1\\n", "x = 1\\ny = 5\\n", context=0) is None
    True
    """
    old, new = _lines(before), _lines(after)
    # The protected span, as 0-based half-open indexes into `old`.
    low = max(0, patch.start_line - 1 - context)
    high = min(len(old), patch.end_line + context)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, old_start, old_end, new_start, _ in matcher.get_opcodes():
        if tag == "equal":
            if old_start <= low and high <= old_end:
                moved = replace(
                    patch,
                    start_line=patch.start_line + new_start - old_start,
                    end_line=patch.end_line + new_start - old_start,
                )
                try:
                    moved.apply_to(after)
                except PatchRejected:
                    return None
                return moved
            continue
        # An edit touches the span when it overlaps it, or inserts lines strictly inside it.
        if (old_start < high and low < old_end) or low < old_start == old_end < high:
            return None
    return None


def patch_from_texts(path: str, before: str, after: str) -> LinePatch:
    """The smallest single line range that turns `before` into `after`."""
    old, new = _lines(before), _lines(after)
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(old), len(new)) - prefix
        and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]
    ):
        suffix += 1
    if prefix == len(old) == len(new):
        raise PatchRejected(f"the patch for {path} changes nothing")
    start, end = prefix, len(old) - suffix
    if start == end:
        # Pure insertion: anchor it on a neighbouring line so the range is never empty.
        if start > 0:
            start -= 1
        elif end < len(old):
            end += 1
        else:
            raise PatchRejected(f"cannot anchor a patch in empty file {path}")
    new_start, new_end = start, len(new) - (len(old) - end)
    return LinePatch(path, start + 1, end, "".join(new[new_start:new_end]), "".join(old[start:end]))


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def parse_unified_diff(path: str, diff: str, text: str) -> LinePatch:
    """Apply a unified diff's hunks to `text` and return them as one `LinePatch`.

    Hunks must match the text exactly at their stated lines; a diff for another file or one that
    does not apply raises `PatchRejected`.
    """
    old = _lines(text)
    out: list[str] = []
    cursor = 0
    lines = diff.splitlines(keepends=True)
    index = 0
    seen_hunk = False
    while index < len(lines):
        match = _HUNK.match(lines[index])
        index += 1
        if not match:
            continue
        seen_hunk = True
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        if start < cursor:
            raise PatchRejected("unified diff hunks overlap or are out of order")
        out.extend(old[cursor:start])
        cursor = start
        while index < len(lines) and not lines[index].startswith("@@"):
            line = lines[index]
            index += 1
            tag, body = line[:1], line[1:]
            if line.startswith("\\"):
                continue
            if tag in (" ", "-"):
                if cursor >= len(old) or old[cursor].rstrip("\r\n") != body.rstrip("\r\n"):
                    raise PatchRejected(f"unified diff does not match {path} at line {cursor + 1}")
                cursor += 1
                if tag == " ":
                    out.append(old[cursor - 1])
            elif tag == "+":
                out.append(_ensure_newline(body))
            elif line.startswith(("---", "+++")):
                break
    named = [line[4:].strip() for line in lines if line.startswith("+++ ")]
    if named and named[0].split("\t")[0].removeprefix("b/") != path:
        raise PatchRejected(f"the unified diff is for {named[0]}, not {path}")
    if not seen_hunk:
        raise PatchRejected("no hunks in the unified diff")
    out.extend(old[cursor:])
    return patch_from_texts(path, text, "".join(out))


MAX_SOURCE_BYTES = 64 << 20
"""Largest file a patch is applied to (suggestions are only made for much smaller ones)."""


def read_source(path: Path) -> str:
    """A file's text with its line endings kept, so patches and hashes see the real bytes.

    Only a regular file is read, never a link, device or named pipe (`safe_read.UnsafeFile`).
    """
    return read_capped(path, MAX_SOURCE_BYTES).decode("utf-8")


def resolve_inside(root: Path, relative: str) -> Path:
    """The absolute path of `relative` under `root`, refusing anything that escapes it."""
    root = root.resolve()
    if not relative or Path(relative).is_absolute():
        raise PatchRejected(f"patch path {relative!r} must be relative to the project")
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise PatchRejected(f"patch path {relative!r} leaves the project root")
    return target


TEMP_SUFFIX = ".takeaways"
"""Ends the name of the temp file `write_atomically` writes beside its target."""


def write_atomically(path: Path, text: str) -> None:
    """Replace a file's text in one step (temp file + rename), keeping its permissions."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as temp:
            temp.write(text)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def remove_leftover_temp_files(path: Path) -> int:
    """Delete the temp files a killed `write_atomically` left beside `path`; returns how many.

    Only regular files named as it names them (`.NAME.<random>.takeaways`) are removed.
    """
    removed = 0
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*{TEMP_SUFFIX}"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


def apply_to_file(
    root: Path,
    patch: LinePatch,
    expected_sha256: str,
    *,
    before_write: Callable[[str], object] | None = None,
) -> Path:
    """Apply `patch` on disk, refusing if the file changed since the patch was made.

    `before_write` gets the patched text once every check passed, right before it is written.
    """
    target = resolve_inside(root, patch.path)
    try:
        current = read_source(target)
    except FileNotFoundError:
        raise FileChangedError(f"{patch.path} no longer exists") from None
    except UnsafeFile as error:
        # Replaced by a named pipe or device since the suggestion: refused without blocking.
        raise FileChangedError(f"{patch.path} was not applied: {error.reason}") from None
    except UnicodeDecodeError:
        raise FileChangedError(f"{patch.path} is no longer UTF-8 text; not applied") from None
    if sha256_text(current) != expected_sha256:
        raise FileChangedError(
            f"{patch.path} changed since this suggestion was made; it was not applied "
            "(wait for a fresh suggestion)"
        )
    patched = patch.apply_to(current)
    if before_write is not None:
        before_write(patched)
    write_atomically(target, patched)
    return target
