"""Burst detection: past `burst_events` per second, stop per-file work until the tree is quiet.

A checkout or a build touches thousands of files at once; debouncing and reading each of them as
its events arrive would waste work on intermediate states. Instead the watcher "settles": it only
notes which files were touched, and once no event has arrived for the quiet period it runs one
reconciling rescan. An inotify overflow settles the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class BurstGuard:
    """Counts events per one-second window and times the quiet period after a burst."""

    def __init__(self, *, limit: int, quiet_s: float, on_quiet: Callable[[], None]) -> None:
        self.limit = limit
        self.quiet_s = quiet_s
        self.settling = False
        """True from a burst's start until the tree has been quiet for `quiet_s`."""
        self._on_quiet = on_quiet
        self._window_start = float("-inf")
        self._window_events = 0
        self._last_event = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def note(self, now: float) -> bool:
        """Count one event at loop time `now`; True when it starts a burst."""
        self._last_event = now
        if now - self._window_start >= 1.0:
            self._window_start, self._window_events = now, 0
        self._window_events += 1
        if self._window_events > self.limit and not self.settling:
            self.settle(now)
            return True
        return False

    def settle(self, now: float) -> None:
        """Enter (or extend) the settling state, as after a burst or an overflow."""
        self._last_event = max(self._last_event, now)
        if not self.settling:
            self.settling = True
            self._arm(self.quiet_s)

    def close(self) -> None:
        """Cancel the quiet-period timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, delay: float) -> None:
        self._timer = asyncio.get_running_loop().call_later(delay, self._check)

    def _check(self) -> None:
        # One timer per quiet period, re-armed for the remainder, rather than one per event.
        remaining = self._last_event + self.quiet_s - asyncio.get_running_loop().time()
        if remaining > 0.001:
            self._arm(remaining)
            return
        self._timer = None
        self.settling = False
        self._on_quiet()
