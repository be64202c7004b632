"""Failing tests as fix evidence: re-run in the sandbox for their tracebacks and their targets.

pytest's `lastfailed` only names the failing tests; re-running just those ids in the sandbox gives
each one's message, traceback and frames, and from them the project function to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon.sandbox.project_run import ProjectSandbox, TestRun
from takeaways_daemon.sandbox.test_reports import TestReport
from takeaways_daemon.verification.failure_target import find_target

RERUN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class TestFailure:
    """One failing test: what it said, its traceback, and the project function it points at."""

    __test__ = False  # a data class, not a pytest test class

    node_id: str
    message: str
    """The failure in one line, e.g. `assert 6 == 10`, or `timed out after 60 s`."""
    traceback: str
    target_path: str | None
    target_symbol: str | None
    target_line: int | None


def short_message(message: str) -> str:
    """The failure without the noise: `AssertionError: assert 6 == 10` → `assert 6 == 10`.

    >>> short_message("AssertionError: assert 6 == 10")
    'assert 6 == 10'
    >>> short_message("ZeroDivisionError: division by zero")
    'ZeroDivisionError: division by zero'
    """
    first = (message.strip().splitlines() or [""])[0]
    rest = first.removeprefix("AssertionError: ")
    return rest if rest.startswith("assert ") else first


def failure_from_report(report: TestReport, project_root: Path) -> TestFailure:
    """A `TestFailure` from one failed test's sandboxed report."""
    target = find_target(report.frames, project_root)
    return TestFailure(
        report.node_id,
        short_message(report.message) or report.outcome,
        report.traceback,
        target.path if target else None,
        target.symbol if target else None,
        target.line if target else None,
    )


def collect_failures(
    sandbox: ProjectSandbox, node_ids: Sequence[str], *, timeout_s: float = RERUN_TIMEOUT_S
) -> tuple[list[TestFailure], TestRun]:
    """Re-run `node_ids` in the sandbox; the ones still failing, with targets, and the run.

    A test still running when the wall clock ran out is reported as a failure that timed out.
    Raises `SandboxUnavailable` (running nothing) when there is no sandbox.
    """
    run = sandbox.run_tests(node_ids, timeout_s=timeout_s)
    failures = []
    for report in run.reports.values():
        if report.outcome in ("failed", "error"):
            failures.append(failure_from_report(report, sandbox.root))
        elif report.outcome == "unfinished" and run.status != "finished":
            message = run.error or "did not finish"
            failures.append(TestFailure(report.node_id, message, run.output, None, None, None))
    return failures, run


def failures_by_target(
    failures: Sequence[TestFailure],
) -> dict[tuple[str, str], tuple[TestFailure, ...]]:
    """Failures grouped by the (path, symbol) they point at: one fix task per group.

    Failures without a target (a timeout, a failure outside project code) are left out.
    """
    groups: dict[tuple[str, str], list[TestFailure]] = {}
    for failure in failures:
        if failure.target_path is not None and failure.target_symbol is not None:
            key = (failure.target_path, failure.target_symbol)
            groups.setdefault(key, []).append(failure)
    return {key: tuple(group) for key, group in groups.items()}
