"""Models with known answers for the gate's questions (test helper).

The tiny random-weight model cannot learn to fix a bug in a CPU test, and the packaged base
answers too slowly for one, so these backends stand in where a test needs a model that answers
the gate's questions in the daemon's format, rightly or wrongly. They answer by recognising the
question's task in the prompt; the gate's requests, parsing, judging and sandboxed tests stay real.
"""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator, Sequence
from typing import Literal

from takeaways_daemon import prompt_format
from takeaways_daemon.backends.base import Backend, GenerationRequest
from takeaways_daemon.errors import BackendStalled
from training.evaluation.humaneval import load_problems
from training.learning.fix_bench import BENCH_FUNCTIONS
from training.learning.gate_questions import Question

Behaviour = Literal["right", "wrong", "garbage", "stalled"]


def _right_code(question: Question) -> str | None:
    """The code a right answer holds (None: explain, which has none)."""
    task = question.task
    if question.check == "fix":
        return next(source for source, tests in BENCH_FUNCTIONS if tests == question.tests)
    if question.check == "humaneval":
        return next(p.canonical for p in load_problems() if p.test == question.tests)
    if task.kind == "docstring":
        return "Return what the function computes from its arguments."
    if task.kind == "types":
        function = ast.parse(task.file_text).body[0]
        assert isinstance(function, ast.FunctionDef)
        arguments = ", ".join(f"{argument.arg}: object" for argument in function.args.args)
        return f"def {function.name}({arguments}) -> object:"
    return None


def _wrong_code(question: Question) -> str | None:
    """Well-formed code that breaks the question's tests (a fix or completion that is wrong)."""
    if question.check == "fix":
        function = ast.parse(_right_code(question) or "").body[0]
        assert isinstance(function, ast.FunctionDef)
        arguments = ", ".join(argument.arg for argument in function.args.args)
        return f"def {function.name}({arguments}):\n    return None\n"
    if question.check == "humaneval":
        return "    return None\n"
    return _right_code(question)


def answer(question: Question, behaviour: Behaviour) -> str:
    """The answer text a model with `behaviour` gives to `question`."""
    if behaviour == "garbage":
        return "Sure! Here is some help with your code."
    code = _right_code(question) if behaviour == "right" else _wrong_code(question)
    return prompt_format.render_answer("Answer the task", "It does what was asked.", code)


def answer_line(behaviour: Behaviour) -> str:
    """What a model with `behaviour` writes for a one-line prompt (it knows no gate answer)."""
    return "Sure! Here is some help with your code." if behaviour == "garbage" else ""


class AnswerKeyBackend(Backend):
    """Answers each gate question it recognises as `behaviour` says; keeps every request."""

    name = "answer-key"

    def __init__(self, questions: Sequence[Question], behaviour: Behaviour, model: str) -> None:
        self.questions = list(questions)
        self.behaviour = behaviour
        self.model = model
        self.requests: list[GenerationRequest] = []
        self.line_requests: list[GenerationRequest] = []

    async def ensure_ready(self) -> None:
        return None

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        if self.behaviour == "stalled":
            self.requests.append(request)
            raise BackendStalled("the answer-key model took over 180 s")
        if request.stop == (prompt_format.LINE_STOP,):
            # The daemon's one-line candidates (`line_repair`) name no gate question: a garbage
            # model writes its sentence as the line, any other proposes no new line.
            self.line_requests.append(request)
            yield answer_line(self.behaviour)
            return
        self.requests.append(request)
        asked = [q for q in self.questions if q.task.input_text() in request.prompt]
        if not asked:
            raise LookupError("a request for no gate question came")
        # The worked example's own task may match too; the asked task is the last in the prompt.
        question = max(asked, key=lambda q: request.prompt.rfind(q.task.input_text()))
        yield answer(question, self.behaviour)
