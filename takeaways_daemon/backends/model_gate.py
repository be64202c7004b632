"""One model, two kinds of callers: interactive requests go before background tasks.

A person waiting on "explain more", a question or `generate` must not sit behind a types run
on a file they saved a minute ago. Every use of the model takes a turn at this gate: one turn at
a time, and while an interactive request waits, no background turn starts. The engine takes a
turn per candidate, so a waiting interactive request gets the model at the next candidate
boundary (pre-emption between candidates; a candidate is never cut halfway).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable


class ModelGate:
    """Turns at the model: interactive first, then background, one at a time."""

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self.on_change = on_change
        """Called when the number of interactive requests changes (progress shows it)."""
        self._condition: asyncio.Condition | None = None
        self._busy = False
        self._interactive_waiting = 0
        self._interactive_running = 0

    @property
    def interactive(self) -> int:
        """Interactive requests using the model now or waiting for it."""
        return self._interactive_waiting + self._interactive_running

    def _cond(self) -> asyncio.Condition:
        # Made on first use, inside the loop that uses it (a supervisor may be built outside one).
        if self._condition is None:
            self._condition = asyncio.Condition()
        return self._condition

    def _free_for(self, interactive: bool) -> bool:
        return not self._busy and (interactive or self._interactive_waiting == 0)

    @contextlib.asynccontextmanager
    async def turn(self, *, interactive: bool) -> AsyncIterator[None]:
        """Hold the model for one request (a background one waits for every interactive one)."""
        condition = self._cond()
        async with condition:
            if interactive:
                self._interactive_waiting += 1
                self.on_change()
            try:
                await condition.wait_for(lambda: self._free_for(interactive))
            finally:
                if interactive:
                    self._interactive_waiting -= 1
                    # A cancelled interactive wait may have been the last one holding others back.
                    condition.notify_all()
            self._busy = True
            if interactive:
                self._interactive_running += 1
        try:
            yield
        finally:
            async with condition:
                self._busy = False
                if interactive:
                    self._interactive_running -= 1
                condition.notify_all()
            if interactive:
                self.on_change()
