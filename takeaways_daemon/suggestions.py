"""The store that keeps the daemon's suggestions for clients, and tells listeners what changed.

A suggestion is the wire model `Suggestion` (takeaways_daemon/wire.py). The store publishes
typed events (`suggestion_events.py`) for every addition, change and eviction; history, metrics
and the API's event stream are listeners, never subclasses.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterator

from takeaways_daemon.patches import reanchor, sha256_text
from takeaways_daemon.suggestion_events import (
    Listeners,
    StoreEvent,
    SuggestionAdded,
    SuggestionChanged,
    SuggestionRemoved,
)
from takeaways_daemon.wire import Suggestion, SuggestionEvent, new_suggestion_id

# Suggestion and its event are wire models; they are re-exported for the daemon's own modules.
__all__ = [
    "Suggestion", "SuggestionEvent", "SuggestionStore", "moved_suggestion", "new_suggestion_id",
]  # fmt: skip

STORE_LIMIT = 1000
"""Suggestions kept in memory; the oldest beyond it are dropped (and `removed` is published)."""
SUBSCRIBER_QUEUE = 1000
"""Events buffered for one stream client; one that falls this far behind is dropped."""


def moved_suggestion(item: Suggestion, before: str, after: str) -> Suggestion | None:
    """`item`, made for file text `before`, re-anchored to `after`; None if its lines changed.

    The line numbers, the diff and the file fingerprint follow the new text, so accepting it
    later still passes `apply_to_file`'s check and writes the same edit.
    """
    patch = reanchor(item.patch(), before, after)
    if patch is None:
        return None
    is_explanation = item.replacement == item.original
    return item.model_copy(
        update={
            "start_line": patch.start_line,
            "end_line": patch.end_line,
            "file_sha256": sha256_text(after),
            "diff": "" if is_explanation else patch.unified_diff(after),
        }
    )


class SuggestionStore:
    """Suggestions in memory, newest last, publishing what happens to them.

    Owned by the event loop. `events` calls listeners synchronously; `subscribe` gives an
    asyncio client (the API's event stream, `takeaways watch`) a queue of wire events.
    """

    def __init__(self, limit: int = STORE_LIMIT) -> None:
        self._items: OrderedDict[str, Suggestion] = OrderedDict()
        self.limit = limit
        self.events: Listeners[StoreEvent] = Listeners()
        self._queues: dict[asyncio.Queue[SuggestionEvent], Callable[[], None]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Suggestion]:
        return iter(list(self._items.values()))

    def get(self, suggestion_id: str) -> Suggestion | None:
        """The suggestion with this id, if kept."""
        return self._items.get(suggestion_id)

    def add(self, suggestion: Suggestion) -> None:
        """Keep a finished, checked suggestion; the oldest beyond the limit are removed."""
        self._items[suggestion.id] = suggestion
        self.events.publish(SuggestionAdded(suggestion))
        while len(self._items) > self.limit:
            _, evicted = self._items.popitem(last=False)
            self.events.publish(SuggestionRemoved(evicted))

    def update(self, suggestion: Suggestion) -> None:
        """Record a new status, rating or anchor of a kept suggestion."""
        previous = self._items.get(suggestion.id)
        self._items[suggestion.id] = suggestion
        self.events.publish(SuggestionChanged(suggestion, previous or suggestion))

    def file_changed(self, path: str, before: str | None, after: str | None) -> None:
        """`path` now holds `after` (None: deleted); its text was `before` when last seen.

        Open suggestions whose lines (and context) are untouched are re-anchored to the new
        text; the others can no longer apply and go stale. A suggestion made on text other
        than `before` cannot be traced line by line, so it goes stale too.
        """
        current = None if after is None else sha256_text(after)
        previous = None if before is None else sha256_text(before)
        for item in list(self._items.values()):
            if item.path != path or item.status != "open" or item.file_sha256 == current:
                continue
            moved = None
            if before is not None and after is not None and item.file_sha256 == previous:
                moved = moved_suggestion(item, before, after)
            self.update(moved or item.model_copy(update={"status": "stale"}))

    def subscribe(self) -> asyncio.Queue[SuggestionEvent]:
        """A queue, on the calling event loop, receiving every later event as the wire sends it.

        Call `unsubscribe` when done. Events may be published from any thread: they reach the
        queue through its own loop.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[SuggestionEvent] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)

        def deliver(event: SuggestionEvent) -> None:
            if queue not in self._queues:
                return
            if queue.full():
                # A client that stopped reading must not stall the daemon: drop it.
                self.unsubscribe(queue)
            else:
                queue.put_nowait(event)

        def forward(event: StoreEvent) -> None:
            if loop.is_closed():  # the client's loop ended without unsubscribing
                self.unsubscribe(queue)
                return
            loop.call_soon_threadsafe(deliver, event.wire())

        self._queues[queue] = self.events.subscribe(forward)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[SuggestionEvent]) -> None:
        """Stop sending events to `queue`."""
        stop = self._queues.pop(queue, None)
        if stop is not None:
            stop()
