"""Reading project files safely: regular files only, with a size cap, never through a stray link.

Repository content is untrusted. A `.gitignore` can be a symbolic link to `/dev/zero` (git stores
links), a file can be swapped for a named pipe, and a link can point at a secret outside the
project. Every read the daemon makes of a project file goes through `open_regular` or
`read_capped`, which refuse all of those before reading a byte, and never block on a FIFO.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.txt").write_text("hello")
>>> read_capped(folder / "a.txt", 10)
b'hello'
>>> try:
...     read_capped(folder / "a.txt", 3)
... except FileTooLarge as error:
...     print(error.info.st_size)
5
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_READ_CHUNK = 1 << 16


class UnsafeFile(OSError):
    """A project file that is not read: not a regular file, too large, or a link that leaves."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        """Why, in words that read after "the file is not read:"."""


class NotRegularFile(UnsafeFile):
    """A device, named pipe, socket or folder where a regular file was expected."""


class FileTooLarge(UnsafeFile):
    """A regular file over the size cap."""

    def __init__(self, path: str, reason: str, info: os.stat_result) -> None:
        super().__init__(path, reason)
        self.info = info
        """The file's stat, so callers can remember it without reading it again."""


class LinkRefused(UnsafeFile):
    """A symbolic link that may not be followed (any link, or one leaving the root)."""


def describe_mode(mode: int) -> str:
    """A file type in words, for error messages ("a named pipe", "a character device")."""
    kinds = (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a symbolic link"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _is_inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def open_regular(path: Path | str, *, links_inside: Path | None = None) -> int:
    """A read-only descriptor on a regular file; raises `UnsafeFile` (or `OSError`) otherwise.

    Links are refused, unless `links_inside` is given and every link on the way stays under it.
    Nothing but a regular file is ever opened (opening a device or FIFO can block or have effects).
    """
    target = os.fspath(path)
    if links_inside is not None:
        # Any link on the way (the file's own, or a folder's) must stay under the root.
        real = os.path.realpath(target)
        if not _is_inside(real, os.path.realpath(links_inside)):
            raise LinkRefused(target, f"a symbolic link on its way leads outside {links_inside}")
        target = real
    info = os.lstat(target)
    if stat.S_ISLNK(info.st_mode):
        raise LinkRefused(target, "it is a symbolic link (links are not followed)")
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(target, f"it is {describe_mode(info.st_mode)}, not a regular file")
    # O_NOFOLLOW and O_NONBLOCK close the window between lstat and open (a swap to a link or FIFO).
    descriptor = os.open(target, _OPEN_FLAGS)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(target, f"it is {describe_mode(info.st_mode)}, not a regular file")
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def read_descriptor_capped(descriptor: int, max_bytes: int, name: str) -> bytes:
    """At most `max_bytes` from an open regular file; `FileTooLarge` if there is more."""
    info = os.fstat(descriptor)
    if info.st_size > max_bytes:
        raise FileTooLarge(name, f"it is over the {max_bytes}-byte limit", info)
    chunks: list[bytes] = []
    remaining = max_bytes + 1  # one byte more tells a file that grew past the cap
    while remaining > 0:
        chunk = os.read(descriptor, min(_READ_CHUNK, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    if remaining <= 0:
        raise FileTooLarge(name, f"it grew over the {max_bytes}-byte limit", os.fstat(descriptor))
    return b"".join(chunks)


def read_capped(path: Path | str, max_bytes: int, *, links_inside: Path | None = None) -> bytes:
    """The bytes of a regular file of at most `max_bytes` (see `open_regular` for links)."""
    descriptor = open_regular(path, links_inside=links_inside)
    try:
        return read_descriptor_capped(descriptor, max_bytes, os.fspath(path))
    finally:
        os.close(descriptor)
