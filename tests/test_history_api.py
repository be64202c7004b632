"""Specification of the daemon's history: rows written for every suggestion it keeps, outcomes
recorded, and the History API, over real HTTP to a real uvicorn around a real `DaemonService`
(never started: suggestions enter its store the way the engine adds them, no model loads)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from takeaways_daemon import locations
from takeaways_daemon.api_client import ApiError, DaemonClient
from takeaways_daemon.history.recorder import HistoryRecorder
from takeaways_daemon.history.records import HistoryRecord
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.runtime_files import RuntimeRecord
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.suggestions import Suggestion
from takeaways_daemon.tasks import Task
from tests.loopback_server import free_port, serving, unstarted_service

STUB = "def double(x):\n    pass\n"


@dataclass
class Daemon:
    service: DaemonService
    root: Path
    client: DaemonClient


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "calc.py").write_text(STUB)
    service = unstarted_service(root)
    port = free_port()
    token_file = tmp_path / "token"
    token_file.write_text("t0ken")
    with serving(service, token="t0ken", port=port, max_body_bytes=4096) as url:
        record = RuntimeRecord(
            pid=0, root=str(root), transport="tcp", address=url,
            token_file=str(token_file), log_file="", started_at=time.time(),
        )  # fmt: skip
        client = DaemonClient(record, timeout=10)
        try:
            yield Daemon(service, root, client)
        finally:
            client.close()
            if service.history is not None:
                service.history.close()


def add_suggestion(daemon: Daemon, title: str = "Double it") -> Suggestion:
    """A real suggestion for the project's file, added to the store as the engine does."""
    task = Task(
        kind="complete", path="calc.py", language="python", file_text=STUB, shown_start=1,
        shown_end=2, target_start=2, target_end=2, indent="    ", symbol="double",
    )  # fmt: skip
    answer = Answer("complete", title, "Multiplies by two.", "return x * 2")
    suggestion = build_suggestion(task, answer)
    daemon.service.store.add(suggestion)
    return suggestion


class TestRecording:
    def test_every_kept_suggestion_becomes_a_history_row(self, daemon: Daemon) -> None:
        first, second = add_suggestion(daemon, "First"), add_suggestion(daemon, "Second")
        page = daemon.client.history()
        assert page.total == 2
        assert [item.id for item in page.items] == [second.id, first.id]
        item = page.items[1]
        assert item.title == "First" and item.path == "calc.py"
        assert item.outcome == "open" and item.tampered is False
        assert "+    return x * 2" in item.diff
        assert set(item.model_dump()) == {
            "id", "created_at", "updated_at", "kind", "path", "start_line", "end_line", "title",
            "explanation", "diff", "backend", "model", "latency_ms", "outcome", "rating",
            "verified", "evidence", "tampered",
        }  # fmt: skip

    def test_accept_reject_and_rate_are_recorded_and_apply_is_audited(
        self, daemon: Daemon
    ) -> None:
        applied, dismissed = add_suggestion(daemon), add_suggestion(daemon)
        daemon.client.accept(applied.id)
        daemon.client.rate(applied.id, 1)
        daemon.client.reject(dismissed.id)
        assert daemon.client.history_item(applied.id).outcome == "accepted"
        assert daemon.client.history_item(applied.id).rating == 1
        assert daemon.client.history_item(dismissed.id).outcome == "rejected"
        assert (daemon.root / "calc.py").read_text() == "def double(x):\n    return x * 2\n"
        history = daemon.service.history
        assert history is not None
        (entry,) = history.audit.entries()
        assert (entry.action, entry.details["id"]) == ("apply_patch", applied.id)

    def test_stale_and_unanswered_suggestions_are_recorded_as_such(self, daemon: Daemon) -> None:
        stale, left = add_suggestion(daemon), add_suggestion(daemon)
        daemon.service.store.update(stale.model_copy(update={"status": "stale"}))
        asyncio.run(daemon.service.stop())
        history = daemon.service.history
        assert history is not None
        # stop() closed the store; read the file the way the next daemon would.
        reopened = type(history).open(daemon.service.settings.history)
        try:
            assert reopened.get(stale.id).outcome == "stale"  # type: ignore[union-attr]
            assert reopened.get(left.id).outcome == "ignored"  # type: ignore[union-attr]
        finally:
            reopened.close()
        daemon.service.history = None

    def test_leftovers_are_marked_ignored_by_their_row_not_their_short_id(self) -> None:
        """Suggestion ids are 32 bits: an old open row may share its id with a newer row."""
        settings = Settings().history
        with HistoryStore.open(settings) as store:
            store.append(HistoryRecord(id="abcd1234", kind="fix", created_at=1000.0, project="/a"))
            store.append(
                HistoryRecord(
                    id="abcd1234", kind="fix", created_at=2000.0, project="/b", outcome="accepted"
                )
            )
            recorder = HistoryRecorder(store, Path("/a"), settings, Metrics())
            recorder.ignore_leftovers()
            recorder.close()  # writes run on the recorder's thread: wait for them
            outcomes = {record.project: record.outcome for record in store.query(limit=None)[0]}
        assert outcomes == {"/a": "ignored", "/b": "accepted"}

    def test_status_says_history_is_on_and_where(self, daemon: Daemon) -> None:
        status = daemon.client.status().history
        assert status.enabled is True
        assert status.path == str(locations.history_db_path())
        assert status.key_source == "keyring"


class TestApi:
    def test_filters_search_and_paging(self, daemon: Daemon) -> None:
        ids = [add_suggestion(daemon, f"Title {n}").id for n in range(5)]
        daemon.client.reject(ids[1])
        assert [i.id for i in daemon.client.history(outcome="rejected").items] == [ids[1]]
        assert daemon.client.history(q="TITLE 3").items[0].id == ids[3]
        assert daemon.client.history(kind="fix").total == 0
        page = daemon.client.history(limit=2, offset=1)
        assert page.total == 5 and [i.id for i in page.items] == [ids[3], ids[2]]
        assert daemon.client.history(path="calc.py").total == 5

    def test_bad_filters_are_refused(self, daemon: Daemon) -> None:
        for filters in ({"kind": "poem"}, {"outcome": "maybe"}, {"limit": 0}):
            with pytest.raises(ApiError) as refused:
                daemon.client.history(**filters)
            assert refused.value.status_code == 422

    def test_one_item_carries_context_and_prompt_and_unknown_ids_are_404(
        self, daemon: Daemon
    ) -> None:
        suggestion = add_suggestion(daemon)
        item = daemon.client.history_item(suggestion.id)
        assert item.title == "Double it"
        # Added straight to the store (no engine ran), so the model was shown nothing.
        assert (item.context, item.prompt) == ("", "")
        with pytest.raises(ApiError) as missing:
            daemon.client.history_item("deadbeef")
        assert missing.value.status_code == 404

    def test_stats(self, daemon: Daemon) -> None:
        ids = [add_suggestion(daemon).id for _ in range(4)]
        daemon.client.reject(ids[0])
        daemon.client.rate(ids[0], -1)
        daemon.client.accept(ids[3])
        stats = daemon.client.history_stats()
        assert stats.total == 4
        assert stats.by_kind == {"complete": 4}
        assert stats.outcomes == {"rejected": 1, "accepted": 1, "open": 2}
        assert stats.acceptance_rate == 0.5
        assert (stats.ratings.up, stats.ratings.down) == (0, 1)
        assert stats.latency_ms.p50 is None  # suggestions added by hand carry no latency

    def test_a_tampered_row_is_flagged_and_the_rest_still_list(self, daemon: Daemon) -> None:
        good, bad = add_suggestion(daemon, "Good"), add_suggestion(daemon, "Bad")
        assert daemon.service.recorder is not None
        assert daemon.service.recorder.flush(), "the rows are written before we edit them"
        with sqlite3.connect(locations.history_db_path()) as raw:
            raw.execute("UPDATE records SET summary = zeroblob(60) WHERE id = ?", (bad.id,))
        items = {item.id: item for item in daemon.client.history().items}
        assert items[bad.id].tampered is True and items[bad.id].title == ""
        assert items[good.id].tampered is False and items[good.id].title == "Good"
