"""What the gate asks each model, asked as the daemon asks it and judged as the daemon judges it.

Three sets of the daemon's own tasks:
- fix: the held-out injected bugs (`fix_bench`), each the fix task the daemon would plan;
- humaneval: HumanEval problems as the daemon's `complete` task (the problem's signature and
  docstring with a `pass` body, which the answer's code replaces), run with the problem's tests;
- format: `docstring`, `types` and `explain` tasks the planner makes on the bench's working
  functions.

Each is asked with the engine's request for its first candidate, greedy
(`task_decoding.candidate_request`: the answer grammar, the worked example by the model's
`ModelIdentity`, the answer's token budget), so that sampling noise cannot decide between two
models. An answer is well-formed when the daemon would make a suggestion of it (`parse_answer`,
then `build_suggestion`); a fix or a completion counts when the file that suggestion leaves
passes its tests in the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from takeaways_daemon import prompt_format
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.context.task_planner import plan_file_tasks
from takeaways_daemon.errors import BackendStalled, MalformedAnswer, PatchRejected, PromptTooLong
from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.model_identity import FewShotPolicy, ModelIdentity
from takeaways_daemon.patches import LinePatch
from takeaways_daemon.settings import SamplingSettings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.task_decoding import candidate_request
from takeaways_daemon.tasks import Task
from training.evaluation.model_runner import ModelRunner
from training.evaluation.problems import Problem
from training.learning.fix_bench import BENCH_FUNCTIONS, BenchFix

GateCheck = Literal["fix", "humaneval", "format"]
FORMAT_KINDS: tuple[TaskKind, ...] = ("docstring", "types", "explain")
FORMAT_TASKS = 3
"""Format-only questions per model (one of each kind in `FORMAT_KINDS`, on different functions)."""
_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Question:
    """One daemon task the gate asks, and the tests the file its answer leaves must pass."""

    check: GateCheck
    task: Task
    tests: str = ""
    """Appended to the answered file and run in the sandbox; empty: only the format counts."""

    def program(self, file_text: str) -> str:
        """The file (as an answer left it, or as it was) followed by its tests."""
        return f"{file_text}\n\n{self.tests}\n"


@dataclass(frozen=True)
class AnswerScores:
    """How one model's answers to the gate's questions fared (None: that set was empty)."""

    format_valid: float
    answers: int
    fix_success: float | None
    humaneval_pass1: float | None


def gate_questions(
    fixes: Sequence[BenchFix], problems: Sequence[Problem], format_tasks: int = FORMAT_TASKS
) -> list[Question]:
    """The gate's questions: every fix, every HumanEval problem, then `format_tasks` others."""
    questions = [Question("fix", fix.task, fix.bench.tests) for fix in fixes]
    for problem in problems:
        task = humaneval_task(problem)
        if task is not None:
            questions.append(Question("humaneval", task, problem.test))
    return questions + [Question("format", task) for task in format_only_tasks(format_tasks)]


def humaneval_task(problem: Problem) -> Task | None:
    """The daemon's `complete` task for a HumanEval problem: its function with a `pass` body."""
    number = problem.task_id.rsplit("/", 1)[-1]
    text = f"{problem.prompt.rstrip()}\n    pass\n"
    planned = plan_file_tasks(f"humaneval/problem_{number}.py", text, ["complete"])
    return planned[-1] if planned else None  # the entry point: the prompt's one stub, last


def format_only_tasks(count: int) -> list[Task]:
    """`count` tasks of the `FORMAT_KINDS` in turn, each on another working bench function."""
    tasks: list[Task] = []
    for number, (source, _) in enumerate(BENCH_FUNCTIONS):
        if len(tasks) >= count:
            break
        kind = FORMAT_KINDS[len(tasks) % len(FORMAT_KINDS)]
        planned = plan_file_tasks(f"gate/working_{number}.py", source, [kind])
        tasks += planned[:1]
    return tasks


def gate_request(
    task: Task, sampling: SamplingSettings, identity: ModelIdentity, policy: FewShotPolicy
) -> GenerationRequest:
    """The engine's first, greedy, request for `task` to the model `identity` names."""
    wants_examples = identity.wants_few_shot(policy)
    return candidate_request(task, sampling, model_wants_examples=wants_examples, greedy=True)


def answered_file(task: Task, text: str) -> str | None:
    """The file as the daemon's suggestion from `text` would leave it; None: it would drop it."""
    try:
        suggestion = build_suggestion(task, prompt_format.parse_answer(text, task.kind))
    except (MalformedAnswer, PatchRejected):
        return None
    patch = LinePatch(
        task.path, suggestion.start_line, suggestion.end_line, suggestion.replacement,
        suggestion.original,
    )  # fmt: skip
    return patch.apply_to(task.file_text)


def ask_and_score(
    runner: ModelRunner,
    questions: Sequence[Question],
    *,
    sampling: SamplingSettings,
    policy: FewShotPolicy,
    say: Callable[[str], None] = lambda line: None,
) -> AnswerScores:
    """Ask every question, then run the answered files' tests in the sandbox."""
    from takeaways_daemon.sandbox import Sandbox
    from training.evaluation.parallel_execution import execute_all

    well_formed = 0
    programs = []
    for index, question in enumerate(questions):
        request = gate_request(question.task, sampling, runner.identity, policy)
        try:
            text = runner.generate(request)
        except (BackendStalled, PromptTooLong) as error:
            # The daemon gives up on such an answer and suggests nothing: no well-formed answer.
            text = ""
            say(f"        {question.check} {question.task.path}: {error}")
        answered = answered_file(question.task, text)
        well_formed += answered is not None
        say(f"        {question.check} {question.task.path}: "
            + ("well-formed" if answered is not None else "no suggestion"))  # fmt: skip
        if question.tests:
            # An answer the daemon would drop leaves the file as it was: broken, or a stub.
            file_text = answered if answered is not None else question.task.file_text
            programs.append((index, question.program(file_text)))
    passed = {
        index for index, result in execute_all(programs, Sandbox(), timeout_s=_TIMEOUT_S)
        if result.passed
    }  # fmt: skip

    def share(check: GateCheck) -> float | None:
        chosen = [index for index, question in enumerate(questions) if question.check == check]
        return sum(index in passed for index in chosen) / len(chosen) if chosen else None

    return AnswerScores(
        format_valid=well_formed / len(questions) if questions else 1.0,
        answers=len(questions),
        fix_success=share("fix"),
        humaneval_pass1=share("humaneval"),
    )
