"""An explanation-quality run: the model explains each function, checks and a judge score it.

Resumes like a benchmark run: explanations are the run's samples, scores its results.
"""

from __future__ import annotations

import time
from typing import Any

from tqdm import tqdm

from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.errors import MalformedAnswer
from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.sanitize import strip_control
from takeaways_daemon.settings import SamplingSettings
from takeaways_daemon.task_decoding import task_request
from training.evaluation.benchmark_run import machine_description
from training.evaluation.decoding import NO_OVERRIDE, DecodingOverride, sample_seed
from training.evaluation.explanation_judge import judge
from training.evaluation.explanation_quality import (
    ITEMS,
    ExplainItem,
    check_explanation,
    malformed_scores,
    parse_explanation,
)
from training.evaluation.model_runner import ModelRunner
from training.evaluation.reports import CRITERIA
from training.evaluation.results_store import RunStore


def explain_request(
    item: ExplainItem,
    model: ModelIdentity,
    sampling: SamplingSettings,
    override: DecodingOverride = NO_OVERRIDE,
) -> GenerationRequest:
    """The daemon's request for this explain task (its seed pinned so runs repeat), overridden."""
    return task_request(
        item.task(), sampling, few_shot=model.wants_few_shot(),
        **{"seed": sample_seed(sampling, 0), **override.values()},
    )  # fmt: skip


def run_explanations(
    runner: ModelRunner,
    store: RunStore,
    *,
    sampling: SamplingSettings,
    override: DecodingOverride = NO_OVERRIDE,
    judge_runner: ModelRunner | None = None,
    items: tuple[ExplainItem, ...] = ITEMS,
    progress: bool = True,
) -> None:
    """Explain every item not yet explained, then score every explanation not yet scored."""
    for item in tqdm(items, desc="explaining", unit="function", disable=not progress):
        if (item.name, 0) in store.samples:
            continue
        started = time.monotonic()
        text = runner.generate(explain_request(item, runner.identity, sampling, override))
        store.add_sample(
            {"task_id": item.name, "sample": 0, "completion": strip_control(text),
             "seconds": round(time.monotonic() - started, 3)}
        )  # fmt: skip
    for item in tqdm(items, desc="scoring", unit="function", disable=not progress):
        if (item.name, 0) in store.results or (item.name, 0) not in store.samples:
            continue
        store.add_result(score_one(item, store.samples[(item.name, 0)]["completion"], judge_runner))


def score_one(item: ExplainItem, text: str, judge_runner: ModelRunner | None) -> dict[str, Any]:
    """Checks (and, with a judge, the judge's scores) for one explanation."""
    row: dict[str, Any] = {"task_id": item.name, "sample": 0, "status": "scored", "error": ""}
    try:
        summary, explanation = parse_explanation(text)
    except MalformedAnswer as error:
        return {**row, "status": "malformed", "error": str(error), "checks": malformed_scores()}
    row["checks"] = check_explanation(item, summary, explanation)
    if judge_runner is not None:
        scores, answer = judge(judge_runner, item, summary, explanation)
        row["judge"] = scores
        row["judge_answer"] = strip_control(answer)
    return row


def summarize_explanations(store: RunStore) -> dict[str, Any]:
    """Per-criterion means of the checks and of the judge, and every item's details."""
    rows = [store.results[key] for key in sorted(store.results)]
    judged = [row["judge"] for row in rows if row.get("judge")]

    def means(score_sets: list[dict[str, float]]) -> dict[str, float]:
        if not score_sets:
            return {}
        return {c: round(sum(s[c] for s in score_sets) / len(score_sets), 4) for c in CRITERIA}

    return {
        **store.settings,
        "checks": means([row["checks"] for row in rows]),
        "judge": means(judged) or None,
        "judge_unparsed": sum(1 for row in rows if "judge" in row and row["judge"] is None),
        "malformed": sum(1 for row in rows if row["status"] == "malformed"),
        "machine": machine_description(),
        "items": [{**store.samples.get(k, {}), **store.results[k]} for k in sorted(store.results)],
    }
