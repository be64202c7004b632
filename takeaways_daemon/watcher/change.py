"""What the watcher hands to the engine: one settled file change, and its running counters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ChangeReason = Literal["modified", "deleted", "rescan"]
WatchMode = Literal["inotify", "polling"]


@dataclass(frozen=True)
class FileChange:
    """A file's state after its quiet period, ready for analysis."""

    path: Path
    """Absolute path of the file."""
    relative: str
    """Path relative to the project root, with `/` separators."""
    text: str | None
    """The file's text when it settled; None when it was deleted (or stopped being a text file)."""
    reason: ChangeReason
    """modified: an event said so; rescan: a reconciling walk found it; deleted: it is gone."""
    settled_at: float = field(default_factory=time.monotonic)
    """When the quiet period ended and the text was read (`time.monotonic`)."""


@dataclass
class WatcherStats:
    """Counters since the watcher started, for the metrics endpoint, tests and the benchmark."""

    events: int = 0
    """File-system events received from watchdog."""
    coalesced: int = 0
    """Events or queued changes merged into a newer one for the same file."""
    ignored: int = 0
    """Events and files skipped: ignored paths, binary, oversized or symlinked files."""
    rescans: int = 0
    """Tree walks: after a burst, an overflow, a full queue or new ignore rules."""
    overflows: int = 0
    """Times the kernel's inotify event queue overflowed and events were lost."""
    dropped: int = 0
    """Changes refused because the queue was full; a later rescan picks them up."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Files seen but not read as text, and why (the latest `SKIPPED_KEPT` of them)."""


SKIPPED_KEPT = 200
"""How many skipped files `WatcherStats.skipped` remembers (the oldest are forgotten)."""


def note_skipped(skipped: dict[str, str], relative: str, reason: str) -> None:
    """Remember why `relative` was skipped, keeping only the latest `SKIPPED_KEPT` files."""
    skipped.pop(relative, None)
    skipped[relative] = reason
    while len(skipped) > SKIPPED_KEPT:
        del skipped[next(iter(skipped))]
