"""Specification of suggestion events: the engine and the store publish what happens to
suggestions, and history, metrics, the API's event stream and the TUI follow them as listeners.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from takeaways_daemon import prompt_format
from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.backends.base import Backend, GenerationRequest
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.suggestion_events import (
    Listeners,
    StoreEvent,
    SuggestionAdded,
    SuggestionChanged,
    SuggestionKept,
    SuggestionRemoved,
)
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.tasks import Task
from takeaways_daemon.wire import SuggestionEvent
from tests.loopback_server import free_port
from tests.plugins.stand_in import registry_serving
from tests.tui_support import RECORDED_NOW, RecordedDaemon, main_screen_with_rows
from tests.tui_support import recorded_suggestions as recorded
from tui.app import TakeawaysApp

STUB = "def double(x):\n    pass\n"


def complete_task(text: str = STUB) -> Task:
    return Task(
        kind="complete", path="calc.py", language="python", file_text=text, shown_start=1,
        shown_end=2, target_start=2, target_end=2, indent="    ", symbol="double",
    )  # fmt: skip


def a_suggestion(title: str = "Double it") -> Suggestion:
    """A real checked suggestion, as the engine builds it."""
    return build_suggestion(complete_task(), Answer("complete", title, "Times two.", "return x*2"))


def closed_ollama() -> Settings:
    """Settings whose only backend is an Ollama at a closed port: nothing loads a model."""
    closed = {"prefer": "ollama", "ollama": {"host": f"http://127.0.0.1:{free_port()}"}}
    return Settings(backend=closed)


class ScriptedBackend(Backend):
    """Answers queued by the test, in the slot `backend.prefer` names.

    A stand-in for the model: the real GGUF answers neither fast nor repeatably enough to pin
    which prompt produced which kept answer. Everything around it (supervisor, engine, store,
    history) is real.
    """

    name = "ollama"
    model = "scripted"

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.prompts: list[str] = []

    async def ensure_ready(self) -> None:
        return None

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        self.prompts.append(request.prompt)
        yield self.answers.pop(0)


def scripted_supervisor(settings: Settings, backend: ScriptedBackend) -> BackendSupervisor:
    return BackendSupervisor(settings, registry_serving(backend, "ollama"))


class TestListeners:
    def test_a_failing_listener_is_logged_and_the_others_still_hear(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        listeners: Listeners[str] = Listeners()
        heard: list[str] = []

        def broken(_: str) -> None:
            raise RuntimeError("observer bug")

        listeners.subscribe(broken)
        stop = listeners.subscribe(heard.append)
        with caplog.at_level(logging.ERROR):
            listeners.publish("first")
        stop()
        listeners.publish("second")
        assert heard == ["first"]
        assert "listener failed" in caplog.text


class TestStoreEvents:
    def test_add_update_and_the_bound_publish_added_changed_and_removed(self) -> None:
        store = SuggestionStore(limit=2)
        events: list[StoreEvent] = []
        store.events.subscribe(events.append)
        first, second, third = a_suggestion("1"), a_suggestion("2"), a_suggestion("3")
        store.add(first)
        store.add(second)
        store.update(first.model_copy(update={"rating": 1}))
        store.add(third)  # one over the bound: the oldest goes
        assert [type(event) for event in events] == [
            SuggestionAdded, SuggestionAdded, SuggestionChanged, SuggestionAdded, SuggestionRemoved
        ]  # fmt: skip
        changed, removed = events[2], events[4]
        assert isinstance(changed, SuggestionChanged)
        assert changed.rating_changed and not changed.status_changed
        assert changed.previous.rating is None
        assert removed.suggestion.id == first.id and store.get(first.id) is None
        assert [item.id for item in store] == [second.id, third.id]
        assert removed.wire() == SuggestionEvent(type="removed", suggestion=removed.suggestion)


class TestOneGraph:
    @pytest.mark.parametrize("history", [True, False], ids=["history-on", "history-off"])
    def test_the_same_engine_store_and_metrics_whether_history_is_on_or_off(
        self, tmp_path: Path, history: bool
    ) -> None:
        settings = closed_ollama().model_copy(
            update={"history": Settings().history.model_copy(update={"enabled": history})}
        )
        service = DaemonService(tmp_path, settings)
        try:
            assert type(service.engine) is SuggestionEngine
            assert type(service.store) is SuggestionStore
            assert service.engine.store is service.store
            assert (service.recorder is not None) == history
            kept = a_suggestion()
            service.store.add(kept)
            service.reject(kept.id)
            counters = service.metrics.counters
            assert (counters["suggestions"], counters["rejected_by_user"]) == (1, 1)
            if service.recorder is not None and service.history is not None:
                assert service.recorder.flush()
                assert service.history.get(kept.id).outcome == "rejected"  # type: ignore[union-attr]
        finally:
            if service.history is not None:
                assert service.recorder is not None
                service.recorder.close()
                service.history.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DaemonService]:
    """A real service with history on (the session's keyring), never started."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "calc.py").write_text(STUB)
    made = DaemonService(root, closed_ollama())
    yield made
    if made.recorder is not None and made.history is not None:
        made.recorder.close()
        made.history.close()


class TestHistoryListens:
    def test_the_row_keeps_exactly_the_prompt_the_model_answered(
        self, service: DaemonService
    ) -> None:
        """A malformed first answer, then a good one: the row has the prompt of the kept one."""
        good = prompt_format.render_answer("Double it", "Times two.", "return x * 2")
        backend = ScriptedBackend(["no answer format at all", good])
        service.engine.supervisor = scripted_supervisor(service.settings, backend)
        kept: list[SuggestionKept] = []
        service.engine.kept.subscribe(kept.append)
        asyncio.run(service.engine.process("calc.py", [complete_task()], time.monotonic()))
        assert len(backend.prompts) == 2 and len(kept) == 1
        (item,) = list(service.store)
        assert kept[0].suggestion.id == item.id and kept[0].prompt == backend.prompts[1]
        assert service.recorder is not None and service.recorder.flush()
        assert service.history is not None
        row = service.history.get(item.id)
        assert row is not None and row.prompt == backend.prompts[1]
        assert row.context == kept[0].context and "def double(x):" in row.context
        assert service.metrics.counters["malformed"] == 1
        assert service.metrics.counters["suggestions_complete"] == 1

    def test_an_open_suggestion_pushed_out_by_the_bound_is_recorded_as_ignored(
        self, service: DaemonService
    ) -> None:
        service.store.limit = 2
        oldest, decided = a_suggestion("oldest"), a_suggestion("decided")
        service.store.add(oldest)
        service.store.add(decided)
        service.reject(decided.id)
        service.store.add(a_suggestion("pushes the oldest out"))
        service.store.add(a_suggestion("pushes the decided one out"))
        assert service.recorder is not None and service.recorder.flush()
        assert service.history is not None
        assert service.history.get(oldest.id).outcome == "ignored"  # type: ignore[union-attr]
        assert service.history.get(decided.id).outcome == "rejected"  # type: ignore[union-attr]
        assert service.metrics.counters["evicted"] == 2

    def test_accept_is_audited_by_the_listener_and_counted(self, service: DaemonService) -> None:
        accepted = a_suggestion()
        service.store.add(accepted)
        service.accept(accepted.id)
        service.rate(accepted.id, 1)
        assert service.recorder is not None and service.recorder.flush()
        assert service.history is not None
        row = service.history.get(accepted.id)
        assert row is not None and (row.outcome, row.rating) == ("accepted", 1)
        (entry,) = service.history.audit.entries()
        assert (entry.action, entry.details["id"]) == ("apply_patch", accepted.id)
        counters = service.metrics.counters
        assert (counters["accepted"], counters["rated_up"]) == (1, 1)


def test_the_event_stream_sends_removed_when_the_bound_pushes_a_suggestion_out(
    tmp_path: Path,
) -> None:
    """Over real HTTP: the typed client yields the `removed` event for the evicted suggestion."""
    listed = recorded()
    with RecordedDaemon(tmp_path, listed) as daemon, DaemonClient.for_project(tmp_path) as client:
        daemon.service.store.limit = len(listed)
        received: list[SuggestionEvent] = []
        started = threading.Event()

        def follow() -> None:
            for event in client.events():
                started.set()
                if isinstance(event, SuggestionEvent):
                    received.append(event)
                    if event.type == "removed":
                        return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        assert started.wait(10), "no hello on the event stream"
        newcomer = a_suggestion("newcomer")
        daemon.service.store.add(newcomer)
        reader.join(10)
    assert [(event.type, event.suggestion.id) for event in received] == [
        ("added", newcomer.id),
        ("removed", listed[0].id),
    ]


def test_the_tui_drops_the_row_of_a_suggestion_the_daemon_no_longer_keeps(
    tmp_path: Path,
) -> None:
    """A real daemon API on loopback, the TUI attached to it: an eviction removes the row."""
    listed = recorded()
    oldest = listed[0]

    async def scenario(daemon: RecordedDaemon) -> tuple[set[str], set[str], str]:
        app = TakeawaysApp(tmp_path, clock=lambda: RECORDED_NOW, start_daemon=False)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await main_screen_with_rows(app, pilot)
            before = set(screen.suggestions.items)
            newcomer = a_suggestion("newcomer")
            daemon.service.store.add(newcomer)
            deadline = time.monotonic() + 15
            rows = screen.suggestions.items
            while newcomer.id not in rows or oldest.id in rows:
                assert time.monotonic() < deadline, sorted(rows)
                await pilot.pause(0.05)
                rows = screen.suggestions.items
            return before, set(screen.suggestions.items), newcomer.id

    with RecordedDaemon(tmp_path, listed) as daemon:
        daemon.service.store.limit = len(listed)
        before, after, newcomer_id = asyncio.run(scenario(daemon))
    assert before - after == {oldest.id}
    assert after - before == {newcomer_id}
