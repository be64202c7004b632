"""How the daemon decodes a task's answer, defined once: engine, evaluation and gate call it.

The configured sampling (`[sampling]`, defaults from `takeaways.yaml`), the shared prompt
format's stop sequences and the task's answer grammar (`answer_grammars`). Evaluation measures
what the daemon serves by building its requests here; it may only change values through
explicit overrides, which its reports record.
"""

from __future__ import annotations

from typing import Any

from takeaways_daemon import prompt_format
from takeaways_daemon.answer_grammars import grammar_for
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.line_repair import (
    LINE_ANSWER_TOKENS,
    WHOLE_VIEW_TEMPERATURE,
    LineView,
    line_prompt,
)
from takeaways_daemon.settings import SamplingSettings
from takeaways_daemon.tasks import Task
from takeaways_daemon.verification.verdict import SyntaxEvidence

# A fix answer rewrites the whole shown window: gemma-3's tokenizer makes ~3.6 characters a token
# of stdlib source but only ~2.3 of code dense in digits and names, so 2 leaves room; the title
# and explanation get a few dozen more (below).
# Without it a 40-line window hit the 384-token cap mid-code and every such answer was malformed.
_CODE_CHARS_PER_TOKEN = 2
# The explanation is one sentence; a larger allowance the base model spent rambling (100+ tokens
# of repeated "Explanation: …" lines per candidate on bench/fix.py), and a cut-off explanation
# still parses.
_TITLE_AND_EXPLANATION_TOKENS = 64


def answer_token_budget(task: Task, configured: int) -> int:
    """The longest answer `task` may need: `configured`, or for a fix what rewriting its code takes.

    A fix copies its input with a small change, so its length is known before it starts: more
    than `configured` for a long window (else the answer is cut off mid-code), less for a short
    one (else the small base model rambles in its explanation until the cap, which cost more
    time than the fix itself).

    >>> from takeaways_daemon.tasks import Task
    >>> code = "x = 1\\n" * 300
    >>> task = Task("fix", "a.py", "python", code, 1, 300, 1, 300, error="oops")
    >>> answer_token_budget(task, 384)
    963
    >>> answer_token_budget(Task("fix", "a.py", "python", "x = 1\\n" * 10, 1, 10, 1, 10), 384)
    93
    >>> answer_token_budget(Task("explain", "a.py", "python", code, 1, 300, 1, 300), 384)
    384
    """
    if task.kind != "fix":
        return configured
    return len(task.shown_code) // _CODE_CHARS_PER_TOKEN + _TITLE_AND_EXPLANATION_TOKENS


def task_request(
    task: Task,
    sampling: SamplingSettings,
    *,
    few_shot: bool,
    attempt: int = 0,
    **overrides: Any,
) -> GenerationRequest:
    """The request for `attempt` (0, 1, … in best-of-n) at answering `task`.

    The prompt and the chat turns (for models spoken to through a chat API) come from the same
    prompt format; `few_shot` puts the worked example first. A fixed `sampling.seed` gives
    attempt i the seed `seed + i`, so retries differ but repeat. A fix may run past
    `sampling.max_tokens` by as much as rewriting its code takes (`answer_token_budget`).
    """
    values: dict[str, Any] = {
        "max_tokens": answer_token_budget(task, sampling.max_tokens),
        "messages": task.messages(few_shot=few_shot),
        "stop": prompt_format.STOP_SEQUENCES,
        "grammar": grammar_for(task),
        "seed": None if sampling.seed is None else sampling.seed + attempt,
    }
    values.update(overrides)
    return GenerationRequest.from_settings(task.prompt(few_shot=few_shot), sampling, **values)


def shows_worked_example(task: Task, model_wants_it: bool) -> bool:
    """Whether the daemon puts the worked example before `task`, for a model that wants examples.

    The worked example fixes a syntax error; shown before a fix for a wrong result or an
    undefined name, the packaged base model copied the code back unchanged (its greedy answer
    for the sample project's failing test), and without it fixed the bug.
    """
    if task.kind == "fix" and task.evidence is not None:
        return model_wants_it and isinstance(task.evidence, SyntaxEvidence)
    return model_wants_it


def candidate_request(
    task: Task,
    sampling: SamplingSettings,
    *,
    model_wants_examples: bool,
    attempt: int = 0,
    greedy: bool = False,
) -> GenerationRequest:
    """The engine's request for candidate `attempt` at `task` (`greedy`: temperature 0).

    `model_wants_examples` is the served model's few-shot policy (`ModelIdentity.wants_few_shot`);
    the task narrows it (`shows_worked_example`).
    """
    overrides: dict[str, Any] = {"temperature": 0.0} if greedy else {}
    if task.kind == "fix":
        # A fix copies its input: a repeat penalty pushes the model off the lines it should keep
        # (with it, the base model's greedy answer for a failing test was the unchanged code;
        # without it, the fix).
        overrides["repeat_penalty"] = 1.0
    few_shot = shows_worked_example(task, model_wants_examples)
    return task_request(task, sampling, few_shot=few_shot, attempt=attempt, **overrides)


def line_request(
    task: Task, number: int, sampling: SamplingSettings, view: LineView = "before"
) -> GenerationRequest:
    """The request that asks for file line `number` of a fix task written again (`line_repair`).

    One line, no grammar (the answer has no sections), no repeat penalty (the line reuses the
    names just above it); the "whole" view samples hotter (`WHOLE_VIEW_TEMPERATURE`).
    """
    overrides: dict[str, Any] = {"temperature": WHOLE_VIEW_TEMPERATURE} if view == "whole" else {}
    return GenerationRequest.from_settings(
        line_prompt(task, number, view), sampling, max_tokens=LINE_ANSWER_TOKENS,
        stop=(prompt_format.LINE_STOP,), repeat_penalty=1.0, **overrides,
    )  # fmt: skip
