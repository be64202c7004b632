"""The watcher's worker: reads files that may have changed and offers what they hold to the queue.

It keeps the fingerprints of the files it has settled (`known`), so a rescan can find exactly what
changed, appeared or disappeared, and re-reads nothing else. Reads and walks run on one worker
thread, one at a time; the bookkeeping runs on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from takeaways_daemon.watcher.change import ChangeReason, FileChange, WatcherStats, note_skipped
from takeaways_daemon.watcher.change_queue import ChangeQueue
from takeaways_daemon.watcher.file_snapshot import FileSnapshot, Fingerprint, read_snapshot
from takeaways_daemon.watcher.ignore_rules import IgnoreRules
from takeaways_daemon.watcher.rescan import reconcile, scan_tree

logger = logging.getLogger(__name__)

READ_BATCH = 256
"""Files read per trip to the worker thread, so the loop stays responsive during big rescans."""


class ChangeReader:
    """Turns "this file may have changed" into queued `FileChange`s, with rescans when needed."""

    def __init__(
        self,
        root: Path,
        queue: ChangeQueue,
        *,
        max_file_bytes: int,
        rules: Callable[[], IgnoreRules],
        settling: Callable[[], bool],
        stats: WatcherStats,
    ) -> None:
        self.root = root
        self.known: dict[str, Fingerprint] = {}
        """Fingerprints of the text files as last queued (or found at start-up)."""
        self._queue = queue
        self._max_file_bytes = max_file_bytes
        self._rules = rules
        self._settling = settling
        self._stats = stats
        self._skipped: dict[str, Fingerprint] = {}
        self._due: OrderedDict[str, ChangeReason] = OrderedDict()
        self._dirty: set[str] = set()
        self._previous_rules: IgnoreRules | None = None
        self._rescan_wanted = False
        self._busy = False
        self._wake = asyncio.Event()

    @property
    def is_idle(self) -> bool:
        """Nothing to read, no read running, no rescan that could run now."""
        return not (self._due or self._busy or (self._rescan_wanted and self._has_rescan_room()))

    def mark_due(self, files: list[str]) -> None:
        """These files' quiet periods ended: read them."""
        for relative in files:
            self._due[relative] = "modified"
            self._due.move_to_end(relative)
        self._wake.set()

    def defer(self, files: list[str]) -> None:
        """Leave these files to the next rescan, which re-reads them whatever their fingerprint."""
        self._dirty.update(files)

    def defer_all_due(self) -> None:
        """A burst began: leave every file waiting for a read to the rescan."""
        self._dirty.update(self._due)
        self._due.clear()

    def request_rescan(self, *, previous_rules: IgnoreRules | None = None) -> None:
        """Walk the tree and reconcile (after a burst, or new rules: pass the old ones)."""
        if previous_rules is not None and self._previous_rules is None:
            self._previous_rules = previous_rules
        self._rescan_wanted = True
        self._wake.set()

    def on_consumed(self) -> None:
        """The engine took a change: a rescan waiting for room may now run."""
        if self._rescan_wanted and self._has_rescan_room():
            self._wake.set()

    async def walk(self, executor: Executor | None) -> dict[str, Fingerprint]:
        """Fingerprint the tree on the worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            executor, scan_tree, self.root, self._rules(), self._max_file_bytes
        )

    async def run(self, executor: Executor | None) -> None:
        """The worker loop: sleeps until woken, then reads and rescans until nothing is left."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._busy = True
            try:
                while not self._settling():
                    if self._due:
                        await self._read_due(executor)
                    elif self._rescan_wanted and self._has_rescan_room():
                        await self._rescan(executor)
                    else:
                        break
            except Exception:
                logger.exception("file watcher worker failed; changes may be missed until a rescan")
                self._rescan_wanted = True
            finally:
                self._busy = False

    def _has_rescan_room(self) -> bool:
        # Wait for half the queue to drain, so a slow consumer does not cause a walk per change.
        return self._queue.depth <= self._queue.max_files // 2

    async def _read_due(self, executor: Executor | None) -> None:
        batch: list[tuple[str, ChangeReason]] = []
        room = self._queue.max_files - self._queue.depth
        while self._due and len(batch) < READ_BATCH:
            relative, reason = self._due.popitem(last=False)
            if self._queue.is_waiting(relative):
                continue  # saved again meanwhile: the newer quiet period will bring it back
            if room <= 0:
                self._drop(relative)  # no room: not even worth reading
                continue
            room -= 1
            batch.append((relative, reason))
        if not batch:
            return
        limit = self._max_file_bytes
        paths = [self.root / relative for relative, _ in batch]
        snapshots = await asyncio.get_running_loop().run_in_executor(
            executor, lambda: [read_snapshot(path, limit) for path in paths]
        )
        for (relative, reason), snapshot in zip(batch, snapshots, strict=True):
            self._apply(relative, reason, snapshot)

    def _apply(self, relative: str, reason: ChangeReason, snapshot: FileSnapshot) -> None:
        if self._queue.is_waiting(relative) or self._settling():
            self._dirty.add(relative)  # a newer event or a burst arrived during the read
            return
        if self._rules().is_ignored_relative(relative):
            self.known.pop(relative, None)  # the rules changed while it waited
            return
        path = self.root / relative
        if snapshot.status == "text":
            assert snapshot.fingerprint is not None
            kind: ChangeReason = "rescan" if reason == "rescan" else "modified"
            if self._queue.offer(FileChange(path, relative, snapshot.text, kind)):
                self.known[relative] = snapshot.fingerprint
                self._skipped.pop(relative, None)
            else:
                self._drop(relative)
            return
        if snapshot.status == "skipped":
            self._stats.ignored += 1
            note_skipped(self._stats.skipped, relative, snapshot.reason)
            logger.info("skipped %s: %s", relative, snapshot.reason)
            if snapshot.fingerprint is not None:
                self._skipped[relative] = snapshot.fingerprint
        else:
            self._skipped.pop(relative, None)
        if relative in self.known:
            # Gone, or no longer a small text file: either way the engine should forget it.
            if self._queue.offer(FileChange(path, relative, None, "deleted")):
                del self.known[relative]
            else:
                self._drop(relative)

    def _drop(self, relative: str) -> None:
        self._stats.dropped += 1
        self._dirty.add(relative)
        self._rescan_wanted = True

    async def _rescan(self, executor: Executor | None) -> None:
        self._stats.rescans += 1
        self._rescan_wanted = False
        dirty, self._dirty = self._dirty, set()
        previous, self._previous_rules = self._previous_rules, None
        current = await self.walk(executor)
        found = reconcile(
            self.known, self._skipped, current, rules=self._rules(), previous_rules=previous
        )
        self.known.update(found.adopted)
        for relative in found.forgotten:
            del self.known[relative]
            self._queue.invalidate(relative)
        for relative in [*found.changed, *found.removed, *sorted(dirty)]:
            if self._queue.is_waiting(relative) or relative in self._due:
                continue  # a live event already covers it
            self._queue.invalidate(relative)
            self._due[relative] = "rescan"
