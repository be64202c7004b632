"""One file's state, read robustly: its text, or why there is none (gone, binary, big, a link)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

BINARY_SNIFF_BYTES = 8192
"""A NUL byte within this many leading bytes marks a file as binary (as git does)."""

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class Fingerprint(NamedTuple):
    """What a rescan compares to tell whether a file changed without reading it."""

    mtime_ns: int
    size: int

    @classmethod
    def of(cls, info: os.stat_result) -> Fingerprint:
        """The fingerprint of a stat result."""
        return cls(info.st_mtime_ns, info.st_size)


@dataclass(frozen=True)
class FileSnapshot:
    """The outcome of reading one file."""

    status: Literal["text", "skipped", "gone"]
    """text: readable UTF-8; skipped: binary, oversized, a link or not a file; gone: missing."""
    text: str | None = None
    fingerprint: Fingerprint | None = None


GONE = FileSnapshot("gone")
SKIPPED = FileSnapshot("skipped")


def read_snapshot(path: Path | str, max_bytes: int) -> FileSnapshot:
    """Read a file as UTF-8 text if it is a small regular text file; never raises for I/O."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return GONE
    except OSError:
        return SKIPPED
    # Links are not followed: a link may point outside the project.
    if not stat.S_ISREG(info.st_mode):
        return SKIPPED
    if info.st_size > max_bytes:
        return FileSnapshot("skipped", fingerprint=Fingerprint.of(info))
    try:
        # O_NOFOLLOW: the path may have become a link since lstat; O_NONBLOCK: or a FIFO.
        descriptor = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return GONE
    except OSError:
        return SKIPPED
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return SKIPPED
        try:
            data = handle.read(max_bytes + 1)
        except OSError:
            return SKIPPED
    fingerprint = Fingerprint.of(info)
    if len(data) > max_bytes or b"\0" in data[:BINARY_SNIFF_BYTES]:
        return FileSnapshot("skipped", fingerprint=fingerprint)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return FileSnapshot("skipped", fingerprint=fingerprint)
    return FileSnapshot("text", text, fingerprint)
