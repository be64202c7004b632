"""The daemon's side of history: a row for every kept suggestion, then its outcome and rating.

The recorder is a listener, like metrics and the API's event stream: the engine tells it the
context and prompt behind each answer it keeps, and the suggestion store tells it of additions,
outcomes and evictions. Writes run in order on a background thread (`BackgroundWriter`), so another
process holding the database never freezes the daemon's API. A write that fails is logged and
counted, never allowed to stop the daemon, and never retried in plain text.
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from takeaways_daemon.history.background_writer import BackgroundWriter
from takeaways_daemon.history.maintenance import apply_retention
from takeaways_daemon.history.records import HistoryRecord
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.kinds import Outcome
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.settings import HistorySettings
from takeaways_daemon.suggestion_events import (
    StoreEvent,
    SuggestionAdded,
    SuggestionChanged,
    SuggestionKept,
    SuggestionRemoved,
)
from takeaways_daemon.wire import Suggestion

log = logging.getLogger(__name__)
RETENTION_EVERY = 200
"""Appends between two retention passes (one also runs when the daemon starts)."""
ROWS_REMEMBERED = 4096
"""Row uids kept for answering outcomes (the live store holds at most 1000 suggestions)."""
_STATUS_OUTCOMES: dict[str, Outcome] = {
    "accepted": "accepted",
    "rejected": "rejected",
    "stale": "stale",
}


class HistoryRecorder:
    """Turns suggestion events into history rows for one project."""

    def __init__(
        self, history: HistoryStore, project: Path, settings: HistorySettings, metrics: Metrics
    ) -> None:
        self.history = history
        self.project = str(project)
        self.settings = settings
        self.metrics = metrics
        self._inputs: OrderedDict[str, tuple[str, str]] = OrderedDict()
        # Suggestion id -> the row this daemon wrote for it: ids are short and may repeat in a
        # long history, so outcomes go to the row's own uid, never to "the newest with this id".
        self._rows: OrderedDict[str, str] = OrderedDict()
        self._appends = 0
        # Suggestion id -> what to run once its apply's audit entry commits (the apply journal).
        self._after_audit: dict[str, Callable[[], object]] = {}
        self.writer = BackgroundWriter(metrics)

    def _guarded(self, what: str, action: Callable[[], object]) -> None:
        self.writer.submit(what, action)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait for the queued writes (readers call this to see their own writes)."""
        return self.writer.flush(timeout_s)

    def close(self) -> None:
        """Finish the queued writes."""
        self.writer.close()

    def on_kept(self, event: SuggestionKept) -> None:
        """Keep what the model was shown until the suggestion is stored (or forgotten)."""
        self._inputs[event.suggestion.id] = (event.context, event.prompt)
        while len(self._inputs) > 256:  # suggestions dropped as stale never arrive
            self._inputs.popitem(last=False)

    def on_store_event(self, event: StoreEvent) -> None:
        """Write a row for a new suggestion, its outcome when it changes, `ignored` if evicted."""
        suggestion = event.suggestion
        if isinstance(event, SuggestionAdded):
            self.added(suggestion)
        elif isinstance(event, SuggestionChanged):
            if event.status_changed or event.rating_changed:
                self.updated(suggestion)
            if event.status_changed and suggestion.status == "accepted":
                # Only a patch written to disk makes it accepted.
                self.applied(suggestion, on_audited=self._after_audit.pop(suggestion.id, None))
        elif isinstance(event, SuggestionRemoved) and suggestion.status == "open":
            self.ignored([suggestion.id])

    def added(self, suggestion: Suggestion) -> None:
        """Write the new suggestion's row."""
        context, prompt = self._inputs.pop(suggestion.id, ("", ""))
        record = HistoryRecord(
            id=suggestion.id, kind=suggestion.kind, created_at=suggestion.created_at,
            outcome=_STATUS_OUTCOMES.get(suggestion.status, "open"), rating=suggestion.rating,
            latency_ms=suggestion.latency_ms, project=self.project, path=suggestion.path,
            start_line=suggestion.start_line, end_line=suggestion.end_line,
            title=suggestion.title, explanation=suggestion.explanation, diff=suggestion.diff,
            backend=suggestion.backend, model=suggestion.model, symbol=suggestion.symbol,
            file_sha256=suggestion.file_sha256, replacement=suggestion.replacement,
            original=suggestion.original, context=context, prompt=prompt,
            verified=suggestion.verified, evidence=suggestion.evidence, uid=secrets.token_hex(16),
        )  # fmt: skip
        # The row's uid is known now, so outcomes queued behind this write find exactly it.
        self._rows[record.id] = record.uid
        while len(self._rows) > ROWS_REMEMBERED:
            self._rows.popitem(last=False)
        self._guarded("writing a row", lambda: self._append(record))
        self._appends += 1
        if self._appends % RETENTION_EVERY == 0:
            self.apply_retention()

    def _append(self, record: HistoryRecord) -> None:
        self.history.append(record)
        self.metrics.count("history_rows")  # only rows that were really written

    def updated(self, suggestion: Suggestion) -> None:
        """Record a new outcome or rating."""
        outcome = _STATUS_OUTCOMES.get(suggestion.status)
        uid = self._rows.get(suggestion.id)
        self._guarded(
            "recording an outcome",
            lambda: self.history.record_outcome(suggestion.id, outcome, suggestion.rating, uid=uid),
        )

    def when_audited(self, suggestion_id: str, callback: Callable[[], object]) -> None:
        """Run `callback` once the coming apply of `suggestion_id` is audited (committed)."""
        self._after_audit[suggestion_id] = callback

    def row_uid(self, suggestion_id: str) -> str | None:
        """The uid of the row this daemon wrote for a suggestion, if it remembers it."""
        return self._rows.get(suggestion_id)

    def applied(
        self, suggestion: Suggestion, on_audited: Callable[[], object] | None = None
    ) -> None:
        """Audit that a suggestion's patch was written; `on_audited` runs once that committed."""
        details = {"id": suggestion.id, "kind": suggestion.kind}

        def audit() -> None:
            self.history.audited("apply_patch", details)
            if on_audited is not None:
                on_audited()

        self._guarded("auditing an apply", audit)

    def ignored(self, suggestion_ids: list[str]) -> None:
        """Suggestions that left without an answer (evicted, or open when the daemon stopped)."""
        self._mark_ignored([(id_, self._rows.get(id_)) for id_ in suggestion_ids])

    def _mark_ignored(self, rows: list[tuple[str, str | None]]) -> None:
        for suggestion_id, uid in rows:
            self._guarded(
                "marking ignored",
                lambda i=suggestion_id, u=uid: self.history.record_outcome(i, "ignored", uid=u),  # type: ignore[misc]
            )

    def ignore_leftovers(self) -> None:
        """Rows of this project still open from a daemon that died can no longer be answered."""
        records, _ = self.history.query(outcome="open", project=self.project, limit=None)
        self._mark_ignored([(r.id, r.uid) for r in records if not r.tampered])

    def apply_retention(self) -> None:
        """Delete rows past `max_age_days` / `max_mb` (audited when any go)."""
        self._guarded(
            "applying retention",
            lambda: apply_retention(
                self.history,
                max_age_days=self.settings.max_age_days,
                max_mb=self.settings.max_mb,
            ),
        )
