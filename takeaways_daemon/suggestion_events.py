"""What happens to suggestions, as typed events that the engine and the store publish.

The engine publishes `SuggestionKept` (an answer passed every check; with the exact prompt the
model was shown). The store publishes `SuggestionAdded`, `SuggestionChanged` (accepted,
rejected, rated, stale, or moved to new line numbers) and `SuggestionRemoved` (pushed out by the
store's bound). History, metrics and the API's event stream subscribe to them: the pipeline
itself knows none of its observers, and the daemon has one object graph whether history is on
or off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from takeaways_daemon.wire import Suggestion, SuggestionEvent, SuggestionEventType

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SuggestionKept:
    """The engine kept an answer: it passed every check (it may still be dropped as stale)."""

    suggestion: Suggestion
    context: str
    """The code the model was shown."""
    prompt: str
    """Exactly the prompt the model answered."""


@dataclass(frozen=True)
class SuggestionAdded:
    """The store keeps a new suggestion."""

    suggestion: Suggestion
    wire_type: ClassVar[SuggestionEventType] = "added"

    def wire(self) -> SuggestionEvent:
        """The event as the API's event stream sends it."""
        return SuggestionEvent(type=self.wire_type, suggestion=self.suggestion)


@dataclass(frozen=True)
class SuggestionChanged:
    """A kept suggestion changed: its status, its rating, or where it applies."""

    suggestion: Suggestion
    previous: Suggestion
    wire_type: ClassVar[SuggestionEventType] = "updated"

    @property
    def status_changed(self) -> bool:
        """Accepted, rejected or gone stale just now."""
        return self.suggestion.status != self.previous.status

    @property
    def rating_changed(self) -> bool:
        """Rated (or re-rated) just now."""
        return self.suggestion.rating != self.previous.rating

    def wire(self) -> SuggestionEvent:
        """The event as the API's event stream sends it."""
        return SuggestionEvent(type=self.wire_type, suggestion=self.suggestion)


@dataclass(frozen=True)
class SuggestionRemoved:
    """The store dropped a suggestion to stay within its bound (oldest first)."""

    suggestion: Suggestion
    wire_type: ClassVar[SuggestionEventType] = "removed"

    def wire(self) -> SuggestionEvent:
        """The event as the API's event stream sends it."""
        return SuggestionEvent(type=self.wire_type, suggestion=self.suggestion)


StoreEvent = SuggestionAdded | SuggestionChanged | SuggestionRemoved
EventT = TypeVar("EventT")


class Listeners(Generic[EventT]):
    """Callbacks for one kind of event, called in the order they subscribed."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[EventT], None]] = []

    def subscribe(self, callback: Callable[[EventT], None]) -> Callable[[], None]:
        """Call `callback` with every later event; returns the function that unsubscribes."""
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def publish(self, event: EventT) -> None:
        """Hand `event` to every listener; one that fails is logged and the rest still run."""
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception:
                # An observer (history, metrics, a client's stream) must never stop the
                # pipeline that produces suggestions.
                log.exception("a suggestion event listener failed on %s", type(event).__name__)
