"""The gate's verdicts: each check with its margin, and the held-out fix bench run for real in
the bubblewrap sandbox (a right fix passes its tests, the injected bug fails them)."""

from __future__ import annotations

import dataclasses

from takeaways_daemon.sandbox import Sandbox
from takeaways_daemon.settings import LearningSettings
from training.evaluation.parallel_execution import execute_all
from training.learning.fix_bench import BENCH_FUNCTIONS, daemon_fixes, fix_tasks
from training.learning.gate import ModelScores, decide

SERVED = ModelScores("served", 0.9, 20, 1.50, 0.20, 0.60)
SETTINGS = LearningSettings(humaneval_margin=0.02, fix_margin=0.0, format_margin=0.0)


def _failed(candidate: ModelScores, settings: LearningSettings = SETTINGS) -> list[str]:
    report = decide(candidate, SERVED, settings)
    assert report.passed == (not report.reasons())
    return [reason.split(":")[0] for reason in report.reasons()]


def test_a_candidate_better_or_within_every_margin_passes() -> None:
    better = ModelScores("candidate", 0.9, 20, 1.20, 0.19, 0.60)
    assert _failed(better) == []
    report = decide(better, SERVED, SETTINGS).to_dict()
    assert report["passed"] is True and len(report["checks"]) == 4


def test_each_regression_is_named_in_the_reasons() -> None:
    good = ModelScores("candidate", 0.9, 20, 1.20, 0.20, 0.60)
    assert _failed(dataclasses.replace(good, fix_success=0.5)) == ["fixes"]
    assert _failed(dataclasses.replace(good, humaneval_pass1=0.17)) == ["humaneval"]
    assert _failed(dataclasses.replace(good, format_valid=0.85)) == ["format"]
    assert _failed(dataclasses.replace(good, held_out_loss=1.50)) == ["held_out_loss"]
    margin = SETTINGS.model_copy(update={"loss_margin": 0.5})
    assert _failed(good, margin) == ["held_out_loss"], "0.30 lower is not enough for margin 0.5"


def test_checks_that_were_not_measured_are_skipped_not_failed() -> None:
    unmeasured = ModelScores("candidate", 0.9, 0, None, None, None)
    report = decide(unmeasured, SERVED, SETTINGS)
    assert report.passed
    assert all("skipped" in check.detail for check in report.checks[1:])


def test_the_fix_bench_bugs_fail_their_tests_and_the_original_code_passes_them() -> None:
    fixes = daemon_fixes(fix_tasks(len(BENCH_FUNCTIONS)))
    assert len(fixes) >= 8, "too few injected bugs break their tests"
    originals = {tests: source for source, tests in BENCH_FUNCTIONS}
    jobs = [(index, fix.bench.program(originals[fix.bench.tests]))
            for index, fix in enumerate(fixes)]  # fmt: skip
    results = dict(execute_all(jobs, Sandbox(), timeout_s=10))
    assert all(result.passed for result in results.values()), "a right fix must count"
    broken = [(index, fix.bench.program(fix.bench.broken)) for index, fix in enumerate(fixes)]
    assert not any(result.passed for _, result in execute_all(broken, Sandbox(), timeout_s=10))
    first = fixes[0].task
    assert first.kind == "fix" and first.error and fixes[0].bench.broken in first.prompt()
