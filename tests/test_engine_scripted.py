"""The suggestion engine on the scripted backend: every path from answer to store, in milliseconds.

The backend is the `scripted` plugin from `tests/plugins/`, installed through its entry point;
the registry, supervisor, engine, planner, patch checks and store are the real ones. Only the
model is scripted, so each test states exactly what the model said.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.errors import BackendUnavailable
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.patches import sha256_text
from takeaways_daemon.prompt_format import SYSTEM_PROMPT, render_answer
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestions import SuggestionStore
from takeaways_daemon.watcher import FileChange
from tests.plugins.install import install_plugin

if TYPE_CHECKING:
    from takeaways_scripted import ScriptedBackend

BROKEN = "def greet(name)\n    print('hi', name)\n"
BROKEN_AGAIN = "def greet(name)\n    print('hello', name)\n"
FIXED_CODE = "def greet(name):\n    print('hi', name)"
GOOD = render_answer("Add the missing colon", "The def line lacked its colon.", FIXED_CODE)
STILL_BROKEN = render_answer("Rename", "Renamed it.", "def greet(name\n    print('hi', name)")
GOOD_AGAIN = render_answer(
    "Add the missing colon", "The def line lacked its colon.",
    "def greet(name):\n    print('hello', name)",
)  # fmt: skip


class Rig:
    """One engine on a project folder, with the scripted backend it talks to."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.metrics = Metrics()
        self.store = SuggestionStore()
        # Wired as the daemon wires it: metrics count what the store publishes.
        self.store.events.subscribe(self.metrics.on_store_event)
        self.supervisor = BackendSupervisor(settings)
        self.engine = SuggestionEngine(root, settings, self.supervisor, self.store, self.metrics)
        self.backend: ScriptedBackend

    def save(self, relative: str, text: str) -> None:
        (self.root / relative).write_text(text)

    @property
    def counters(self) -> dict[str, int]:
        return dict(self.metrics.counters)


@pytest.fixture
def scripted_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The `takeaways-scripted` distribution, installed for this test only."""
    return install_plugin(
        tmp_path / "site", monkeypatch, "takeaways-scripted",
        {"scripted": "takeaways_scripted:register"},
    )  # fmt: skip


Scenario = Callable[[Rig], Awaitable[None]]


@pytest.fixture
def run_rig(scripted_installed: Path, tmp_path: Path) -> Callable[..., Callable[[Scenario], None]]:
    """`run_rig(**settings)(scenario)`: the scenario on a fresh rig in its own event loop."""

    def with_settings(**sections: Any) -> Callable[[Scenario], None]:
        backend = {"prefer": ["scripted"], **sections.pop("backend", {})}
        settings = Settings(backend=backend, **sections)
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)

        def run(scenario: Scenario) -> None:
            async def main() -> None:
                rig = Rig(root, settings)
                try:
                    with contextlib.suppress(BackendUnavailable):  # a test may script that
                        rig.backend = cast("ScriptedBackend", await rig.supervisor.select())
                    await scenario(rig)
                finally:
                    await rig.supervisor.close()

            asyncio.run(main())

        return run

    return with_settings


def plan(rig: Rig, text: str, relative: str = "greet.py") -> list[Any]:
    """Save `text` and plan what to ask about it, as the watcher's change would."""
    rig.save(relative, text)
    return rig.engine.plan(relative, text)


class TestBestOfN:
    def test_two_malformed_answers_then_a_good_one_keeps_the_third(self, run_rig) -> None:
        async def scenario(rig: Rig) -> None:
            rig.backend.enqueue("I think the colon is missing.")
            rig.backend.enqueue("Title: Add the colon\n")  # no code, no explanation
            rig.backend.enqueue(GOOD)
            [task] = plan(rig, BROKEN)

            suggestion = await rig.engine.suggest(task)

            assert suggestion is not None
            assert suggestion.replacement == FIXED_CODE + "\n"
            assert (suggestion.backend, suggestion.model) == ("scripted", "scripted")
            assert rig.counters["malformed"] == 2
            # Each candidate is a fresh sample: the seed moves on with the attempt.
            assert [request.seed for request in rig.backend.requests] == [5, 6, 7]

        run_rig(sampling={"seed": 5})(scenario)

    def test_all_candidates_malformed_gives_nothing_and_stops_at_the_limit(self, run_rig) -> None:
        """A malformed candidate never verifies, so n grows past best-of-n, up to the fix limit."""

        async def scenario(rig: Rig) -> None:
            for _ in range(3):
                rig.backend.enqueue("no sections at all")
            [task] = plan(rig, BROKEN)

            assert await rig.engine.suggest(task) is None
            assert rig.counters["malformed"] == 3
            assert len(rig.backend.requests) == 3

        run_rig(sampling={"candidates": 2}, fix={"max_candidates": 3})(scenario)

    def test_a_rejected_patch_is_counted_and_the_next_candidate_tried(self, run_rig) -> None:
        """A fix whose patched file still does not parse is never kept."""

        async def scenario(rig: Rig) -> None:
            rig.backend.enqueue(STILL_BROKEN)
            rig.backend.enqueue(GOOD)
            [task] = plan(rig, BROKEN)

            suggestion = await rig.engine.suggest(task)

            assert suggestion is not None and suggestion.title == "Add the missing colon"
            assert rig.counters["rejected"] == 1
            assert "malformed" not in rig.counters

        run_rig()(scenario)


class TestPrompt:
    def test_a_model_not_tuned_on_our_format_gets_the_worked_example_in_both_forms(
        self, run_rig
    ) -> None:
        async def scenario(rig: Rig) -> None:
            rig.backend.enqueue(GOOD)
            [task] = plan(rig, BROKEN)

            await rig.engine.suggest(task)

            [request] = rig.backend.requests
            roles = [message.role for message in request.messages]
            assert roles == ["system", "user", "assistant", "user"]
            assert request.prompt == task.prompt(few_shot=True)
            assert "example.py" in request.messages[1].content
            assert request.messages[-1].content in request.prompt

        run_rig()(scenario)

    def test_our_tuned_model_gets_no_example(self, run_rig) -> None:
        async def scenario(rig: Rig) -> None:
            rig.backend.enqueue(GOOD)
            [task] = plan(rig, BROKEN)

            await rig.engine.suggest(task)

            [request] = rig.backend.requests
            assert [message.role for message in request.messages] == ["system", "user"]
            assert request.prompt.startswith(SYSTEM_PROMPT)
            assert "example.py" not in request.prompt

        run_rig(backend={"scripted": {"model": "takeaways:latest"}})(scenario)


class TestProcess:
    def test_a_kept_suggestion_is_stored_and_counted(self, run_rig) -> None:
        async def scenario(rig: Rig) -> None:
            rig.backend.enqueue(GOOD)
            tasks = plan(rig, BROKEN)

            await rig.engine.process("greet.py", tasks, saved_at=time.monotonic())

            [stored] = list(rig.store)
            assert stored.file_sha256 == sha256_text(BROKEN)
            assert stored.latency_ms is not None and stored.latency_ms >= 0
            assert rig.counters["suggestions"] == rig.counters["suggestions_fix"] == 1

        run_rig()(scenario)

    def test_a_file_changed_before_storing_drops_the_suggestion(self, run_rig) -> None:
        async def scenario(rig: Rig) -> None:
            rig.backend.enqueue(GOOD)
            tasks = plan(rig, BROKEN)
            rig.save("greet.py", BROKEN_AGAIN)  # the developer saved again meanwhile

            await rig.engine.process("greet.py", tasks, saved_at=time.monotonic())

            assert len(rig.store) == 0
            assert rig.counters["stale_dropped"] == 1
            assert "suggestions" not in rig.counters

        run_rig()(scenario)

    def test_a_backend_failing_mid_answer_is_counted_and_the_change_given_up(self, run_rig) -> None:
        async def scenario(rig: Rig) -> None:
            rig.backend.enqueue(error=BackendUnavailable("the model runner crashed"))
            tasks = plan(rig, BROKEN)

            await rig.engine.process("greet.py", tasks, saved_at=time.monotonic())

            assert len(rig.store) == 0
            assert rig.counters["backend_errors"] == 1
            assert rig.supervisor.status.state == "down"
            assert rig.supervisor.status.reason == "the model runner crashed"

        run_rig()(scenario)

    def test_no_backend_ready_is_counted_with_the_reason(self, run_rig) -> None:
        async def scenario(rig: Rig) -> None:
            tasks = plan(rig, BROKEN)

            await rig.engine.process("greet.py", tasks, saved_at=time.monotonic())

            assert rig.counters["backend_errors"] == 1
            assert rig.supervisor.status.state == "down"
            assert "scripted: no model file here" in rig.supervisor.status.reason

        run_rig(backend={"scripted": {"unavailable": "no model file here"}})(scenario)


class ChangeFeed:
    """The watcher's side of the engine: changes the test hands over one by one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[FileChange] = asyncio.Queue()

    async def next_change(self) -> FileChange:
        return await self.queue.get()

    def saved(self, rig: Rig, relative: str, text: str) -> None:
        rig.save(relative, text)
        self.queue.put_nowait(FileChange(rig.root / relative, relative, text, "modified"))


class TestRun:
    def test_a_newer_save_cancels_the_answer_in_flight(self, run_rig) -> None:
        async def scenario(rig: Rig) -> None:
            feed, added = ChangeFeed(), rig.store.subscribe()
            rig.backend.enqueue(GOOD, delay_s=60)  # the first answer would take a minute
            rig.backend.enqueue(GOOD_AGAIN)
            worker = asyncio.create_task(rig.engine.run(feed))
            try:
                feed.saved(rig, "greet.py", BROKEN)
                await rig.backend.requested(1)
                rig.engine.on_superseded("greet.py")  # what the watcher says on the next save
                feed.saved(rig, "greet.py", BROKEN_AGAIN)
                event = await asyncio.wait_for(added.get(), timeout=5)
            finally:
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)

            assert event.type == "added"
            assert event.suggestion.file_sha256 == sha256_text(BROKEN_AGAIN)
            assert [item.title for item in rig.store] == ["Add the missing colon"]
            assert rig.counters["cancelled"] == 1
            assert "print('hi', name)" in rig.backend.requests[0].prompt
            assert "print('hello', name)" in rig.backend.requests[1].prompt

        run_rig()(scenario)

    def test_an_unchanged_save_asks_nothing(self, run_rig) -> None:
        async def scenario(rig: Rig) -> None:
            feed, added = ChangeFeed(), rig.store.subscribe()
            rig.backend.enqueue(GOOD)
            worker = asyncio.create_task(rig.engine.run(feed))
            try:
                feed.saved(rig, "greet.py", BROKEN)
                await asyncio.wait_for(added.get(), timeout=5)
                feed.saved(rig, "greet.py", BROKEN)  # saved again, same text
                await asyncio.sleep(0.05)
            finally:
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)

            assert len(rig.backend.requests) == 1
            assert rig.counters["changes"] == 1

        run_rig()(scenario)
