"""The daemon's memory, read from /proc: resident set size, and the model's resident pages.

The embedded backend maps its GGUF into this process, so the model's share is the resident
size of that file's mappings (`/proc/self/smaps`); an Ollama model lives in Ollama's process and
is not counted here.
"""

from __future__ import annotations

import os
import resource
import time
from collections import deque
from pathlib import Path

from takeaways_daemon.wire import MemoryView

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def process_rss_bytes(pid: int | str = "self") -> int | None:
    """Resident set size of a process now (None where /proc cannot tell)."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return None
    return int(fields[1]) * _PAGE_SIZE


def peak_rss_bytes() -> int:
    """The most this process has ever had resident (getrusage reports KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mapped_file_rss_bytes(path: str) -> int | None:
    """Resident bytes of this process's mappings of `path`; None if it is not mapped."""
    try:
        text = Path("/proc/self/smaps").read_text()
    except OSError:
        return None
    total, mapped, inside = 0, False, False
    for line in text.splitlines():
        head = line.split(maxsplit=5)
        if len(head) >= 5 and "-" in head[0] and not head[0].endswith(":"):
            # A mapping's header line: address range, perms, offset, device, inode [path].
            inside = len(head) == 6 and head[5] == path
            mapped = mapped or inside
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1]) * 1024
    return total if mapped else None


class MemorySampler:
    """Keeps the latest samples of the daemon's and the model's memory."""

    def __init__(self, keep: int = 720) -> None:
        self.samples: deque[MemoryView] = deque(maxlen=keep)

    def sample(self, model_path: str | None = None) -> MemoryView:
        """Read memory now and remember it."""
        view = MemoryView(
            rss_bytes=process_rss_bytes(),
            peak_rss_bytes=peak_rss_bytes(),
            model_bytes=mapped_file_rss_bytes(model_path) if model_path else None,
            sampled_at=time.time(),
        )
        self.samples.append(view)
        return view

    @property
    def latest(self) -> MemoryView:
        """The last sample (empty before the first)."""
        return self.samples[-1] if self.samples else MemoryView()
