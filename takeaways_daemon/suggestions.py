"""Suggestions: what the daemon offers the user, and the store that keeps them for clients."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, Field

from takeaways_daemon.kinds import SuggestionStatus, TaskKind
from takeaways_daemon.patches import LinePatch


def new_suggestion_id() -> str:
    """A short random id that is easy to type (`takeaways apply 3f9c2a1b`)."""
    return secrets.token_hex(4)


class Suggestion(BaseModel):
    """One checked suggestion. `replacement` replaces lines `start_line..end_line` (1-based)."""

    id: str = Field(default_factory=new_suggestion_id)
    kind: TaskKind
    path: str
    start_line: int
    end_line: int
    replacement: str
    original: str
    title: str
    explanation: str
    diff: str = ""
    file_sha256: str
    """The file's fingerprint when the suggestion was made; apply refuses on a mismatch."""
    symbol: str | None = None
    backend: str = ""
    model: str = ""
    latency_ms: float = 0.0
    created_at: float = Field(default_factory=time.time)
    status: SuggestionStatus = "open"
    rating: int | None = None

    def patch(self) -> LinePatch:
        """The suggestion's edit as a `LinePatch`."""
        return LinePatch(self.path, self.start_line, self.end_line, self.replacement, self.original)

    def scan_view(self) -> dict[str, object]:
        """The stable JSON shape of `takeaways scan --json`."""
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "replacement": self.replacement,
            "title": self.title,
            "explanation": self.explanation,
            "diff": self.diff,
        }


class SuggestionEvent(BaseModel):
    """A change in the store, as sent on the event stream."""

    type: Literal["added", "updated", "removed"]
    suggestion: Suggestion


class SuggestionStore:
    """Suggestions in memory, newest last, with live subscribers. Owned by the event loop."""

    def __init__(self, limit: int = 1000) -> None:
        self._items: OrderedDict[str, Suggestion] = OrderedDict()
        self._limit = limit
        self._subscribers: set[asyncio.Queue[SuggestionEvent]] = set()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Suggestion]:
        return iter(list(self._items.values()))

    def get(self, suggestion_id: str) -> Suggestion | None:
        """The suggestion with this id, if kept."""
        return self._items.get(suggestion_id)

    def add(self, suggestion: Suggestion) -> None:
        """Keep a finished, checked suggestion and tell subscribers."""
        self._items[suggestion.id] = suggestion
        while len(self._items) > self._limit:
            self._items.popitem(last=False)
        self._publish(SuggestionEvent(type="added", suggestion=suggestion))

    def update(self, suggestion: Suggestion) -> None:
        """Record a new status or rating."""
        self._items[suggestion.id] = suggestion
        self._publish(SuggestionEvent(type="updated", suggestion=suggestion))

    def mark_stale(self, path: str, current_sha256: str | None) -> None:
        """Open suggestions for `path` made on other file text can no longer apply."""
        for item in list(self._items.values()):
            if item.path == path and item.status == "open" and item.file_sha256 != current_sha256:
                self.update(item.model_copy(update={"status": "stale"}))

    def subscribe(self) -> asyncio.Queue[SuggestionEvent]:
        """A queue receiving every later event; call `unsubscribe` when done."""
        queue: asyncio.Queue[SuggestionEvent] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[SuggestionEvent]) -> None:
        """Stop sending events to `queue`."""
        self._subscribers.discard(queue)

    def _publish(self, event: SuggestionEvent) -> None:
        for queue in list(self._subscribers):
            if queue.full():
                # A client that stopped reading must not stall the daemon: drop it.
                self._subscribers.discard(queue)
            else:
                queue.put_nowait(event)
