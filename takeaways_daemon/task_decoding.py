"""How the daemon decodes a task's answer, defined once: the engine and evaluation both call it.

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
from takeaways_daemon.settings import SamplingSettings
from takeaways_daemon.tasks import Task


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
    attempt i the seed `seed + i`, so retries differ but repeat.
    """
    values: dict[str, Any] = {
        "messages": task.messages(few_shot=few_shot),
        "stop": prompt_format.STOP_SEQUENCES,
        "grammar": grammar_for(task),
        "seed": None if sampling.seed is None else sampling.seed + attempt,
    }
    values.update(overrides)
    return GenerationRequest.from_settings(task.prompt(few_shot=few_shot), sampling, **values)
