"""The real run's report says why a rejected round was rejected, and never claims a swap it did
not make.

Found by the real run (scripts/learning_real_run.py) with the daemon's own gate: the candidate
was rejected, yet the report said "no file was saved after the swap". The gate numbers come from
the real `gate.measure` and `decide`, the sandboxed tests from real bubblewrap; only the model
is `AnswerKeyBackend` (see its module for why), put where `measure` opens the GGUF.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.settings import LearningSettings, load_settings
from tests.gate_answer_key import AnswerKeyBackend, Behaviour
from training.evaluation.humaneval import load_problems
from training.evaluation.model_runner import BackendRunner
from training.learning import gate
from training.learning.fix_bench import daemon_fixes, fix_tasks
from training.learning.gate_questions import Question, gate_questions

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "learning_real_run.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("learning_real_run", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _measure(
    monkeypatch: pytest.MonkeyPatch, questions: list[Question], behaviour: Behaviour, label: str
) -> tuple[gate.ModelScores, list[str]]:
    """One model through the gate's own `measure`; its scores and the lines it logged."""
    backend = AnswerKeyBackend(questions, behaviour, label)
    monkeypatch.setattr(
        gate, "open_gate_model", lambda *args: BackendRunner(backend, ModelIdentity.built())
    )
    log: list[str] = []
    scores = gate.measure(
        Path("unused.gguf"), ModelIdentity.built(), label=label, held_out=[],
        questions=questions, settings=load_settings(), say=log.append,
    )  # fmt: skip
    return scores, log


def _result(round_: dict[str, Any], log: list[str], served: str) -> dict[str, Any]:
    """What the script records, around a round report shaped as `round.py` writes it."""
    backend = {"details": {"model": served}}
    return {
        "started": "2026-01-01 00:00:00 UTC", "machine": "test", "cpu_count": 2,
        "load_at_start": (1.0, 1.0, 1.0), "settings": {"fix_bugs": 3}, "sampling": {},
        "embedded": {}, "accepting": {}, "round": round_, "round_seen_after_s": 100.0,
        "timeline": [], "served_before": backend, "served_after": backend,
        "round_log_tail": ["learn: stage gate [5/6]", *log, "learn: stage swap [6/6]"],
        "learn_list": "no model versions kept yet", "learn_status": "last round: rejected",
    }  # fmt: skip


def test_a_rejected_round_says_which_checks_failed_and_that_the_served_model_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    questions = gate_questions(daemon_fixes(fix_tasks(3)), load_problems()[:1])
    candidate, candidate_log = _measure(monkeypatch, questions, "garbage", "candidate")
    served, served_log = _measure(monkeypatch, questions, "right", "base-model")
    report = gate.decide(candidate, served, LearningSettings())
    assert not report.passed
    round_ = {
        "decision": "rejected", "version": "v-1", "gate": report.to_dict(),
        "rejected_because": report.reasons(), "kept_for_inspection": "/h/rejected/v-1",
        "timings_s": {"gate": 1.0, "swap": 0.1}, "seconds": 1.1,
    }  # fmt: skip

    text = _script().markdown(_result(round_, candidate_log + served_log, "base-model"))

    assert "### Why the gate rejected the candidate" in text
    assert all(f"`{reason}`" in text for reason in report.reasons())
    assert "The served model stays (`base-model`)" in text
    assert "after the swap" not in text, "a rejected round swaps nothing"
    for question in questions:
        row = f"| {question.check} `{question.task.path}` | no suggestion | well-formed |"
        assert row in text
    assert f"differ on {len(questions)} of {len(questions)} questions" in text


def test_an_installed_round_still_tells_which_model_answered_after_the_swap() -> None:
    round_ = {"decision": "installed", "version": "v-2", "timings_s": {"swap": 0.1}, "seconds": 1}
    result = _result(round_, [], "takeaways") | {
        "after_swap": {"model": "takeaways", "seconds": 3.0}
    }
    text = _script().markdown(result)
    assert "a file saved after the swap was answered by `takeaways` (3.0 s)" in text
    assert "Why the gate rejected" not in text
