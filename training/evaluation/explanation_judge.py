"""Explanation quality, judged half: a model grades each explanation against a written rubric.

The judge answers with one integer from 1 to 5 per criterion, as JSON. Decoding is
constrained by a JSON schema (a llama.cpp grammar for GGUF models, `format` for Ollama), so
even a small judge always produces parseable scores; an unconstrained judge (transformers) is
parsed leniently, and an answer with no scores counts as unparsed rather than as a score.
"""

from __future__ import annotations

import json
import re

from takeaways_daemon.backends.base import GenerationRequest
from training.evaluation.explanation_quality import ExplainItem
from training.evaluation.model_runner import ModelRunner
from training.evaluation.reports import CRITERIA

RUBRIC = """\
You grade an explanation of a Python function. Give each criterion a score from 1 (poor) to
5 (excellent):
- clarity: plain, readable sentences; no repetition or filler.
- completeness: says what the function is for, names every parameter and what it returns.
- accuracy: every statement is true of the code; nothing is invented.
- structure: a one-line summary first, then the details in a sensible order.
Answer with JSON only: {"clarity": N, "completeness": N, "accuracy": N, "structure": N}."""

SCORE_SCHEMA = {
    "type": "object",
    "properties": {name: {"type": "integer", "enum": [1, 2, 3, 4, 5]} for name in CRITERIA},
    "required": list(CRITERIA),
    "additionalProperties": False,
}


def judge_prompt(item: ExplainItem, summary: str, explanation: str) -> str:
    """The rubric, the code and the explanation, ending where the judge's JSON begins."""
    return (
        f"{RUBRIC}\n\nFunction:\n```python\n{item.source}\n```\n\n"
        f"Explanation:\n{summary}\n{explanation}\n\nScores:\n"
    )


def parse_scores(text: str) -> dict[str, float] | None:
    """Scores scaled to 0–1 from the judge's answer, or None when it holds no usable scores.

    >>> parse_scores('{"clarity": 5, "completeness": 3, "accuracy": 1, "structure": 4}')
    {'clarity': 1.0, 'completeness': 0.5, 'accuracy': 0.0, 'structure': 0.75}
    >>> parse_scores("clarity: 4, completeness 2; accuracy=3 structure: 5")["completeness"]
    0.25
    >>> parse_scores("I think it is good.") is None
    True
    """
    raw: dict[str, object] = {}
    try:
        loaded = json.loads(text)
        if isinstance(loaded, dict):
            raw = loaded
    except json.JSONDecodeError:
        for name in CRITERIA:
            match = re.search(rf"{name}\W{{0,4}}([1-5])\b", text, re.I)
            if match:
                raw[name] = int(match.group(1))
    scores = {}
    for name in CRITERIA:
        value = raw.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            return None
        scores[name] = (value - 1) / 4
    return scores


def judge(runner: ModelRunner, item: ExplainItem, summary: str, explanation: str) -> tuple[
    dict[str, float] | None, str
]:
    """(scores or None, the judge's raw answer) for one explanation; greedy, schema-bound.

    The judge is a grader, not the model under test: its decoding is fixed here, not the daemon's.
    """
    request = GenerationRequest(
        prompt=judge_prompt(item, summary, explanation), temperature=0.0, repeat_penalty=1.0,
        max_tokens=64, json_schema=SCORE_SCHEMA, seed=0,
    )  # fmt: skip
    answer = runner.generate(request)
    return parse_scores(answer), answer
