"""`POST /suggestions/{id}/ask` over real HTTP (tests/tui_support.py), and its prompt.

The daemon here has no model on purpose: its only backend is an Ollama at a closed port, so
the failure path is real. The answer streaming from the real model into the TUI is covered
by tests/test_tui_live_daemon.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from takeaways_daemon import prompt_format
from takeaways_daemon.api_client import ApiError, DaemonClient
from takeaways_daemon.follow_up import MAX_QUESTION_CHARS, follow_up_prompt
from takeaways_daemon.wire import AnswerDone
from tests.tui_support import RecordedDaemon, recorded_suggestions

FIX_ID = "3f9c2a1b"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[DaemonClient]:
    root = tmp_path / "project"
    root.mkdir()
    with RecordedDaemon(root, recorded_suggestions()), DaemonClient.for_project(root) as client:
        yield client


def test_asking_about_an_unknown_suggestion_is_a_404(client: DaemonClient) -> None:
    with pytest.raises(ApiError) as refused:
        list(client.ask("00000000", "why?"))
    assert refused.value.status_code == 404
    assert "00000000" in str(refused.value)


def test_a_question_over_the_limit_is_refused_before_any_model_runs(client: DaemonClient) -> None:
    with pytest.raises(ApiError) as refused:
        list(client.ask(FIX_ID, "x" * (MAX_QUESTION_CHARS + 1)))
    assert refused.value.status_code == 422


def test_a_backend_failure_ends_the_stream_with_the_error(client: DaemonClient) -> None:
    records = list(client.ask(FIX_ID, "Why a colon?"))
    (done,) = records
    assert isinstance(done, AnswerDone)
    assert done.error is not None and "no backend is available" in done.error


def test_the_follow_up_prompt_uses_the_shared_format_with_the_suggestion_and_question() -> None:
    fix = next(item for item in recorded_suggestions() if item.id == FIX_ID)
    prompt = follow_up_prompt(fix, "Why a colon?")
    assert prompt.startswith(prompt_format.SYSTEM_PROMPT)
    assert prompt.endswith(prompt_format.RESPONSE_HEADER)
    instruction, task_input = prompt.split(prompt_format.INPUT_HEADER)
    assert "Question: Why a colon?" in instruction
    assert f"Suggestion: {fix.title}" in instruction
    assert "File: calc.py (diff)" in task_input
    assert "+def add(a, b):" in task_input
