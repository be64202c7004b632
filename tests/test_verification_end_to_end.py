"""From the user's red pytest run to a verified fix, with every component real.

The user's pytest (a real subprocess, with the project's own venv) leaves `lastfailed`; the
failures are re-run in the real bwrap sandbox for their tracebacks and targets; candidates are
checked on a scratch copy there. Accepting the verified one makes the user's pytest green.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from takeaways_daemon.sandbox import ProjectSandbox
from takeaways_daemon.verification.covering_tests import covering_tests
from takeaways_daemon.verification.last_failed import read_last_failed
from takeaways_daemon.verification.test_failures import (
    TestFailure,
    collect_failures,
    failures_by_target,
)
from takeaways_daemon.verification.verdict import (
    SyntaxEvidence,
    TestEvidence,
    Verdict,
    verify_candidate,
)
from tests.sample_project import (
    CALC,
    CALC_FIXED,
    CONFTEST,
    TEST_CALC,
    make_venv,
    run_pytest,
    world_readable_folder,
    write_project,
)

SEQ = """\
def last(items):
    return items[len(items)]


def first(items):
    return items[0]
"""
SEQ_FIXED = SEQ.replace("items[len(items)]", "items[len(items) - 1]")
TEST_SEQ = """\
from seq import first, last


def test_last():
    assert last([1, 2, 3]) == 3


def test_first_of_empty_is_none():
    assert first([]) is None


def test_first():
    assert first([4, 5]) == 4
"""


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    """The sample project after the user's own red pytest run."""
    with world_readable_folder("takeaways-verify-e2e-") as root:
        write_project(
            root,
            {
                "calc.py": CALC,
                "seq.py": SEQ,
                "conftest.py": CONFTEST,
                "tests/test_calc.py": TEST_CALC,
                "tests/test_seq.py": TEST_SEQ,
            },
        )
        make_venv(root / ".venv")
        done = run_pytest(root)
        assert done.returncode == 1, done.stdout + done.stderr
        yield root


@pytest.fixture(scope="module")
def box(project: Path) -> ProjectSandbox:
    return ProjectSandbox(project)


@pytest.fixture(scope="module")
def failures(box: ProjectSandbox, project: Path) -> dict[str, TestFailure]:
    found, run = collect_failures(box, read_last_failed(project))
    assert run.status == "finished"
    return {failure.node_id: failure for failure in found}


def evidence_for(failures: dict[str, TestFailure], project: Path, symbol: str) -> TestEvidence:
    """The failures pointing at `symbol`, with the other failing tests allowed to keep failing."""
    path = {"total": "calc.py", "last": "seq.py"}[symbol]
    mine = failures_by_target(list(failures.values()))[(path, symbol)]
    return TestEvidence(mine, frozenset(read_last_failed(project)))


class TestEvidenceFromARedRun:
    def test_lastfailed_names_the_failing_tests(self, project: Path) -> None:
        assert set(read_last_failed(project)) == {
            "tests/test_calc.py::test_total",
            "tests/test_seq.py::test_last",
            "tests/test_seq.py::test_first_of_empty_is_none",
        }

    def test_an_assertion_in_the_test_targets_the_function_its_line_calls(
        self, failures: dict[str, TestFailure]
    ) -> None:
        failure = failures["tests/test_calc.py::test_total"]
        assert failure.message == "assert 6 == 10"
        assert "where 6 = total([4, 1, 5])" in failure.traceback
        assert (failure.target_path, failure.target_symbol, failure.target_line) == (
            "calc.py", "total", 4,
        )  # fmt: skip

    def test_an_exception_in_project_code_targets_the_innermost_frame(
        self, failures: dict[str, TestFailure]
    ) -> None:
        failure = failures["tests/test_seq.py::test_last"]
        assert failure.message == "IndexError: list index out of range"
        assert (failure.target_path, failure.target_symbol, failure.target_line) == (
            "seq.py", "last", 2,
        )  # fmt: skip
        assert failures["tests/test_seq.py::test_first_of_empty_is_none"].target_symbol == "first"
        assert set(failures_by_target(list(failures.values()))) == {
            ("calc.py", "total"), ("seq.py", "last"), ("seq.py", "first"),
        }  # fmt: skip


class TestCandidates:
    def test_a_correct_fix_is_verified_and_accepting_it_turns_pytest_green(
        self, project: Path, box: ProjectSandbox, failures: dict[str, TestFailure]
    ) -> None:
        evidence = evidence_for(failures, project, "total")
        verdict = verify_candidate(project, "calc.py", CALC, CALC_FIXED, evidence, sandbox=box)
        assert verdict == Verdict(
            True, "tests/test_calc.py::test_total passed; was: assert 6 == 10; "
            "2 other tests still pass",
        )  # fmt: skip
        assert (project / "calc.py").read_text() == CALC, "checking never writes the project"
        (project / "calc.py").write_text(CALC_FIXED)  # what accepting the suggestion does
        try:
            assert run_pytest(project, "tests/test_calc.py").returncode == 0
        finally:
            (project / "calc.py").write_text(CALC)

    def test_a_fix_that_breaks_another_test_of_the_file_is_not_verified(
        self, project: Path, box: ProjectSandbox, failures: dict[str, TestFailure]
    ) -> None:
        breaking = CALC.replace("prices[1:]", "prices or [None]")
        evidence = evidence_for(failures, project, "total")
        verdict = verify_candidate(project, "calc.py", CALC, breaking, evidence, sandbox=box)
        assert verdict.verified is False
        assert verdict.evidence.startswith(
            "breaks tests/test_calc.py::test_total_of_nothing: TypeError: unsupported operand"
        )

    def test_a_fix_that_does_not_fix_says_what_still_fails(
        self, project: Path, box: ProjectSandbox, failures: dict[str, TestFailure]
    ) -> None:
        wrong = CALC.replace("prices[1:]", "prices[2:]")
        evidence = evidence_for(failures, project, "total")
        verdict = verify_candidate(project, "calc.py", CALC, wrong, evidence, sandbox=box)
        assert verdict == Verdict(
            False, "tests/test_calc.py::test_total still fails: assert 5 == 10"
        )

    def test_tests_that_were_already_failing_may_keep_failing(
        self, project: Path, box: ProjectSandbox, failures: dict[str, TestFailure]
    ) -> None:
        evidence = evidence_for(failures, project, "last")
        assert [f.node_id for f in evidence.failures] == ["tests/test_seq.py::test_last"]
        verdict = verify_candidate(project, "seq.py", SEQ, SEQ_FIXED, evidence, sandbox=box)
        assert verdict == Verdict(
            True, "tests/test_seq.py::test_last passed; was: IndexError: list index out of range; "
            "1 other test still passes",
        )  # fmt: skip

    def test_a_candidate_that_hangs_is_killed_and_reported(
        self, project: Path, box: ProjectSandbox, failures: dict[str, TestFailure]
    ) -> None:
        hanging = CALC.replace(
            "    result = 0\n", "    result = 0\n    while True:\n        pass\n"
        )
        evidence = evidence_for(failures, project, "total")
        verdict = verify_candidate(
            project, "calc.py", CALC, hanging, evidence, sandbox=box, timeout_s=3
        )
        assert verdict == Verdict(
            False, "tests/test_calc.py: timed out after 3 s; killed with every process it started"
        )

    def test_without_a_sandbox_nothing_runs_and_the_verdict_is_unknown(
        self, project: Path, failures: dict[str, TestFailure]
    ) -> None:
        missing = ProjectSandbox(project, bwrap=project / "no-such-bwrap")
        evidence = evidence_for(failures, project, "total")
        verdict = verify_candidate(project, "calc.py", CALC, CALC_FIXED, evidence, sandbox=missing)
        assert verdict.verified is None
        assert verdict.evidence.startswith("tests not run: bubblewrap (bwrap) is not installed")


class TestSyntaxFixesKeepTheTestsOfTheirModuleGreen:
    """A fix for a syntax error must parse and leave the tests importing its module passing."""

    BROKEN = CALC.replace("def discount(amount, percent):", "def discount(amount, percent)")
    EVIDENCE = SyntaxEvidence(11, "expected ':'")
    RED = frozenset({"tests/test_calc.py::test_total"})
    """pytest's record of the user's red run (read here, a later test's green run rewrites it)."""

    def test_the_tests_importing_a_module_cover_it(self, project: Path) -> None:
        assert covering_tests(project, "calc.py") == ("tests/test_calc.py",)
        assert covering_tests(project, "seq.py") == ("tests/test_seq.py",)
        assert covering_tests(project, "tests/test_seq.py") == ("tests/test_seq.py",)
        assert covering_tests(project, "conftest.py") == ()

    def test_a_fix_that_parses_but_drops_code_the_tests_need_is_not_verified(
        self, project: Path, box: ProjectSandbox
    ) -> None:
        dropped = CALC.replace("    return amount * (100 - percent) / 100\n", "    return amount\n")
        verdict = verify_candidate(
            project, "calc.py", self.BROKEN, dropped, self.EVIDENCE, sandbox=box,
            covering_tests=covering_tests(project, "calc.py"),
            already_failing=self.RED,
        )  # fmt: skip
        assert verdict == Verdict(
            False, "breaks tests/test_calc.py::test_discount: assert 200 == 180"
        )

    def test_the_right_fix_is_verified_with_the_tests_that_were_passing(
        self, project: Path, box: ProjectSandbox
    ) -> None:
        verdict = verify_candidate(
            project, "calc.py", self.BROKEN, CALC, self.EVIDENCE, sandbox=box,
            covering_tests=covering_tests(project, "calc.py"),
            already_failing=self.RED,
        )  # fmt: skip
        assert verdict == Verdict(
            True, "parses; was: line 11: expected ':'; 2 tests of tests/test_calc.py pass"
        ), "test_total was already failing (pytest's record): not this fix's to repair"

    def test_a_candidate_that_copies_the_code_back_is_dropped_before_any_check(
        self, project: Path
    ) -> None:
        verdict = verify_candidate(project, "calc.py", self.BROKEN, self.BROKEN, self.EVIDENCE)
        assert verdict == Verdict(False, "changes nothing")
