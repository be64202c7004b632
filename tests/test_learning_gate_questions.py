"""The gate asks each model exactly what the daemon would ask it, and judges answers as the daemon
does: a model answering in the daemon's format scores, a garbage answerer scores 0, and one whose
well-formed fixes break their tests is rejected by the gate.

The daemon side is the real `SuggestionEngine` behind a real `BackendSupervisor`; the sandboxed
test runs are real bubblewrap. Answers come from `AnswerKeyBackend` (see its module for why).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.settings import LearningSettings, Settings, load_settings
from takeaways_daemon.suggestions import SuggestionStore
from takeaways_daemon.verification.verdict import SyntaxEvidence, TestEvidence
from tests.gate_answer_key import AnswerKeyBackend, Behaviour
from tests.plugins.stand_in import registry_serving
from training.evaluation.humaneval import load_problems
from training.evaluation.model_runner import BackendRunner
from training.learning.fix_bench import daemon_fixes, fix_tasks
from training.learning.gate import ModelScores, decide
from training.learning.gate_questions import (
    FORMAT_KINDS,
    AnswerScores,
    Question,
    ask_and_score,
    gate_questions,
    gate_request,
)

MODELS = [ModelIdentity.packaged_base(), ModelIdentity.built()]


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    """Four bench fixes (syntax and failing-test ones), two HumanEval problems, three format."""
    fixes = daemon_fixes(fix_tasks(5))  # the fourth bug breaks no test: left out
    return gate_questions(fixes, load_problems()[:2])


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TAKEAWAYS_SAMPLING__SEED", "7")  # the daemon seeds attempt i with 7 + i
    return load_settings()


def _daemon_request(settings: Settings, model: ModelIdentity, question: Question, root: Path):  # type: ignore[no-untyped-def]
    """The first request the daemon's engine makes for the question's task."""
    backend = AnswerKeyBackend([question], "garbage", model.label)
    supervisor = BackendSupervisor(settings, registry_serving(backend, "ollama", "embedded"))
    engine = SuggestionEngine(root, settings, supervisor, SuggestionStore(), Metrics())

    async def suggest() -> None:
        await supervisor.select()
        assert await engine.suggest(question.task) is None  # garbage makes no suggestion

    asyncio.run(suggest())
    return backend.requests[0]


def test_the_sets_are_the_daemons_own_tasks(questions: list[Question]) -> None:
    checks = [question.check for question in questions]
    assert checks == ["fix"] * 4 + ["humaneval"] * 2 + ["format"] * 3
    evidence = {type(q.task.evidence) for q in questions if q.check == "fix"}
    assert evidence == {SyntaxEvidence, TestEvidence}, "both kinds of fix the daemon asks"
    failing = next(q.task for q in questions if isinstance(q.task.evidence, TestEvidence))
    assert failing.error and "failed: assert" in failing.error and failing.failure
    assert all(q.task.kind == "complete" for q in questions if q.check == "humaneval")
    assert [q.task.kind for q in questions if q.check == "format"] == list(FORMAT_KINDS)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.label)
def test_the_gate_asks_exactly_what_the_daemon_asks_the_same_model(
    settings: Settings, model: ModelIdentity, questions: list[Question], tmp_path: Path
) -> None:
    policy = settings.tasks.few_shot
    for question in questions:
        daemon = _daemon_request(settings, model, question, tmp_path)
        gate = gate_request(question.task, settings.sampling, model, policy)
        assert gate.grammar and gate.grammar == daemon.grammar
        if question.task.kind == "fix":
            # The daemon's first candidate for a fix with evidence is its greedy one.
            assert gate == daemon, question.task.path
        else:
            # Elsewhere the daemon samples; the gate asks greedily and changes nothing else.
            assert gate == dataclasses.replace(daemon, temperature=0.0), question.task.path
    syntax_fix = next(q.task for q in questions if isinstance(q.task.evidence, SyntaxEvidence))
    shown = gate_request(syntax_fix, settings.sampling, model, policy).prompt
    assert (shown != syntax_fix.prompt()) == (not model.is_tuned), "the worked example"


def _scores(questions: list[Question], behaviour: Behaviour) -> AnswerScores:
    backend = AnswerKeyBackend(questions, behaviour, "answer-key")
    runner = BackendRunner(backend, ModelIdentity.packaged_base())
    try:
        scores = ask_and_score(runner, questions, sampling=load_settings().sampling, policy="auto")
    finally:
        runner.close()
    assert len(backend.requests) == len(questions)
    return scores


def test_a_model_answering_in_the_daemons_format_scores_and_garbage_scores_zero(
    questions: list[Question],
) -> None:
    right = _scores(questions, "right")
    garbage = _scores(questions, "garbage")
    stalled = _scores(questions, "stalled")  # the daemon gives up on such answers: so does the gate

    assert right == AnswerScores(format_valid=1.0, answers=9, fix_success=1.0, humaneval_pass1=1.0)
    assert garbage == stalled == AnswerScores(0.0, 9, 0.0, 0.0)


def test_well_formed_fixes_that_break_their_tests_fail_the_gate(
    questions: list[Question],
) -> None:
    """The poisoned model of acceptance 2: it learned fixes that break their tests."""
    served, poisoned = _scores(questions, "right"), _scores(questions, "wrong")
    assert poisoned.format_valid == 1.0, "its answers are well-formed; only the tests catch it"
    assert poisoned.fix_success == poisoned.humaneval_pass1 == 0.0

    def model(label: str, scores: AnswerScores, loss: float) -> ModelScores:
        return ModelScores(label, scores.format_valid, scores.answers, loss,
                           scores.humaneval_pass1, scores.fix_success)  # fmt: skip

    # It learned its poison well: the held-out slice of that poison is likelier to it.
    candidate, before = model("candidate", poisoned, 0.5), model("served", served, 1.0)
    report = decide(candidate, before, LearningSettings())
    assert not report.passed
    assert [reason.split(":")[0] for reason in report.reasons()] == ["humaneval", "fixes"]
