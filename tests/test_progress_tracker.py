"""The progress tracker on its own: how a task's end becomes one sentence, and what views show."""

from __future__ import annotations

import asyncio

import pytest

from takeaways_daemon.errors import BackendUnavailable
from takeaways_daemon.progress import RECENT_NOTHING_FOUND, ProgressTracker
from takeaways_daemon.tasks import Task
from takeaways_daemon.wire import ProgressView


def _task(path: str = "calc.py") -> Task:
    text = "def add(a, b)\n    return a + b\n"
    return Task(
        kind="fix", path=path, language="python", file_text=text, shown_start=1, shown_end=2,
        target_start=1, target_end=2, symbol="add",
    )  # fmt: skip


def test_rejected_candidates_are_summed_up_with_the_most_common_reason() -> None:
    tracker = ProgressTracker()
    views: list[ProgressView] = []
    tracker.changed.subscribe(views.append)
    with tracker.working_on(_task(), candidates=3) as work:
        for number, reason in enumerate(
            ["the patched file does not parse", "malformed answer (no code)",
             "the patched file does not parse"], 1
        ):  # fmt: skip
            work.next_candidate(number)
            assert tracker.view().current is not None
            assert tracker.view().current.candidate == number
            work.discard(reason)
    view = tracker.view()
    assert view.current is None
    assert [item.reason for item in view.recent] == [
        "3 candidates rejected: the patched file does not parse"
    ]
    assert [v.current.candidate for v in views if v.current] == [0, 1, 2, 3]


def test_a_kept_suggestion_leaves_no_reason() -> None:
    tracker = ProgressTracker()
    with tracker.working_on(_task(), candidates=2) as work:
        work.next_candidate(1)
        work.kept()
    assert tracker.view() == ProgressView()


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (asyncio.CancelledError(), "cancelled"),
        (BackendUnavailable("Ollama is not reachable"), "the model is unavailable: Ollama is"),
    ],
)
def test_a_task_that_ends_in_an_error_says_so(error: BaseException, reason: str) -> None:
    tracker = ProgressTracker()
    with pytest.raises(type(error)), tracker.working_on(_task(), candidates=1):
        raise error
    assert tracker.view().recent[0].reason.startswith(reason)


def test_only_the_latest_tasks_that_found_nothing_are_kept_newest_first() -> None:
    tracker = ProgressTracker()
    for index in range(RECENT_NOTHING_FOUND + 2):
        tracker.nothing_found(_task(f"f{index}.py"), "nothing")
    paths = [item.path for item in tracker.view().recent]
    assert len(paths) == RECENT_NOTHING_FOUND
    assert paths[0] == f"f{RECENT_NOTHING_FOUND + 1}.py"


def test_counts_it_does_not_own_come_from_its_extra_source() -> None:
    tracker = ProgressTracker()
    tracker.tasks_left = 2
    tracker.extra = lambda: {"queued": 3, "interactive": 1}
    view = tracker.view()
    assert (view.queued, view.interactive) == (5, 1)
