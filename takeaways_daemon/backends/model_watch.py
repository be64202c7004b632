"""Notice that the GGUF the embedded backend serves was replaced, so it reloads between requests.

A learning round or a rollback swaps `locations.built_model_path()` by an atomic rename: the
path stays, the file behind it (inode, size, mtime) changes. The backend asks `replaced()`
before each request (one `stat`, microseconds) and, when it says so, loads the new file and
swaps it in once the generation in flight has finished. A backend that resolved its model
itself (no path given, no `model_path` setting) also notices a built model appearing where
it had fallen back to the packaged base.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon import locations
from takeaways_daemon.settings import EmbeddedSettings


@dataclass(frozen=True)
class FileIdentity:
    """What changes when a file is replaced or rewritten."""

    device: int
    inode: int
    size: int
    mtime_ns: int


def file_identity(path: Path) -> FileIdentity | None:
    """The file's identity now, or None when it is missing."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return FileIdentity(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


class ModelWatch:
    """Remembers which file was loaded and says when another one should be."""

    def __init__(self, settings: EmbeddedSettings, given: Path | None) -> None:
        self.pinned = given is not None or settings.model_path is not None
        """True when the path is fixed (given or set); else it is resolved again on reload."""
        self._loaded: Path | None = None
        self._identity: FileIdentity | None = None

    def loaded(self, path: Path, identity: FileIdentity | None) -> None:
        """Record the file just loaded, with its identity from before the load began."""
        self._loaded, self._identity = path, identity

    def replaced(self) -> bool:
        """True when the loaded file was replaced, or a built model appeared to take over."""
        if self._loaded is None:
            return False
        if not self.pinned:
            built = locations.built_model_path()
            if self._loaded != built and built.is_file():
                return True
        current = file_identity(self._loaded)
        return current is not None and current != self._identity
