"""One file's state, read robustly: its text, or why there is none (gone, binary, big, a link)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from takeaways_daemon.safe_read import FileTooLarge, open_regular, read_descriptor_capped

BINARY_SNIFF_BYTES = 8192
"""A NUL byte within this many leading bytes marks a file as binary (as git does)."""


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
    reason: str = ""
    """Why a skipped file has no text (binary, too large, not UTF-8, not a regular file)."""


GONE = FileSnapshot("gone")
SKIPPED = FileSnapshot("skipped", reason="a link, a device or otherwise not a regular file")


def read_snapshot(path: Path | str, max_bytes: int) -> FileSnapshot:
    """Read a file as UTF-8 text if it is a small regular text file; never raises for I/O."""
    try:
        # Links are not followed (one may point outside the project), nor devices or FIFOs opened.
        descriptor = open_regular(path)
    except (FileNotFoundError, NotADirectoryError):
        return GONE
    except OSError:
        return SKIPPED
    try:
        info = os.fstat(descriptor)
        data = read_descriptor_capped(descriptor, max_bytes, os.fspath(path))
    except FileTooLarge as error:
        size = error.info.st_size
        reason = f"too large ({size} bytes; watcher.max_file_bytes is {max_bytes})"
        return FileSnapshot("skipped", fingerprint=Fingerprint.of(error.info), reason=reason)
    except OSError:
        return SKIPPED
    finally:
        os.close(descriptor)
    fingerprint = Fingerprint.of(info)
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return FileSnapshot("skipped", fingerprint=fingerprint, reason="binary (a NUL byte)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"not UTF-8 (byte {error.start})"
        return FileSnapshot("skipped", fingerprint=fingerprint, reason=reason)
    return FileSnapshot("text", text, fingerprint)
