"""ChangeQueue alone: debounce, latest-wins, supersede notices and the bound (no watchdog)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from takeaways_daemon.watcher import ChangeQueue, FileChange

T = TypeVar("T")


def run(coroutine: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, timeout=10)

    return asyncio.run(bounded())


def change(relative: str, text: str | None = "x") -> FileChange:
    return FileChange(Path("/p") / relative, relative, text, "modified")


class TestDebounce:
    def test_touches_within_the_quiet_period_become_one_due_file(self) -> None:
        async def scenario() -> list[list[str]]:
            batches: list[list[str]] = []
            queue = ChangeQueue(debounce_s=0.05, max_files=10, on_due=batches.append)
            for _ in range(5):
                queue.touch("a.py")
                queue.touch("b.py")
                await asyncio.sleep(0.01)
            assert batches == []
            await asyncio.sleep(0.1)
            assert queue.stats.coalesced == 8
            return batches

        assert run(scenario()) == [["a.py", "b.py"]]

    def test_each_file_has_its_own_quiet_period(self) -> None:
        async def scenario() -> list[list[str]]:
            batches: list[list[str]] = []
            queue = ChangeQueue(debounce_s=0.1, max_files=10, on_due=batches.append)
            queue.touch("early.py")  # due at 0.10
            await asyncio.sleep(0.06)
            queue.touch("late.py")  # due at 0.16
            await asyncio.sleep(0.07)
            assert batches == [["early.py"]]
            await asyncio.sleep(0.1)
            return batches

        assert run(scenario()) == [["early.py"], ["late.py"]]

    def test_an_idle_queue_schedules_nothing(self) -> None:
        async def scenario() -> int:
            queue = ChangeQueue(debounce_s=0.01, max_files=10, on_due=lambda files: None)
            queue.touch("a.py")
            await asyncio.sleep(0.05)
            # Idle CPU ~0 means no timer left behind once the last file is due.
            return len(asyncio.get_running_loop()._scheduled)  # type: ignore[attr-defined]

        assert asyncio.run(scenario()) == 0


class TestLatestWins:
    def test_offer_replaces_and_notifies(self) -> None:
        async def scenario() -> tuple[dict[str, FileChange], list[str]]:
            superseded: list[str] = []
            queue = ChangeQueue(debounce_s=0.05, max_files=10, on_due=lambda files: None)
            queue.add_superseded_listener(superseded.append)
            queue.offer(change("a.py", "one"))
            queue.offer(change("b.py", "b"))
            queue.offer(change("a.py", "two"))
            return queue.pending(), superseded

        pending, superseded = run(scenario())
        assert [(c.relative, c.text) for c in pending.values()] == [("b.py", "b"), ("a.py", "two")]
        assert superseded == ["a.py"]

    def test_a_touch_withdraws_queued_work_and_work_in_flight(self) -> None:
        async def scenario() -> tuple[int, list[str]]:
            superseded: list[str] = []
            queue = ChangeQueue(debounce_s=0.05, max_files=10, on_due=lambda files: None)
            queue.add_superseded_listener(superseded.append)
            queue.offer(change("queued.py"))
            queue.offer(change("taken.py"))
            queue.offer(change("other.py"))
            await queue.get()  # queued.py is handed out
            await queue.get()  # so is taken.py
            queue.touch("taken.py")
            queue.touch("other.py")
            queue.touch("fresh.py")
            return queue.depth, superseded

        assert run(scenario()) == (0, ["taken.py", "other.py"])

    def test_get_waits_for_a_change(self) -> None:
        async def scenario() -> FileChange:
            queue = ChangeQueue(debounce_s=0.05, max_files=10, on_due=lambda files: None)
            asyncio.get_running_loop().call_later(0.02, queue.offer, change("late.py"))
            return await queue.get()

        assert run(scenario()).relative == "late.py"


class TestBound:
    def test_a_full_queue_refuses_new_files_but_accepts_newer_versions(self) -> None:
        async def scenario() -> tuple[list[bool], dict[str, FileChange]]:
            queue = ChangeQueue(debounce_s=0.05, max_files=2, on_due=lambda files: None)
            accepted = [
                queue.offer(change("a.py")),
                queue.offer(change("b.py")),
                queue.offer(change("c.py")),
                queue.offer(change("a.py", "newer")),
            ]
            return accepted, queue.pending()

        accepted, pending = run(scenario())
        assert accepted == [True, True, False, True]
        assert {r: c.text for r, c in pending.items()} == {"b.py": "x", "a.py": "newer"}
