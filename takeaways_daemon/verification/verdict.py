"""Check one candidate fix against its evidence, on a scratch copy, before anyone sees it.

The checks, in order: the candidate changes something; it parses; it stays near its evidence
(nearness); it brings no new bug diagnostic into the lines it changed; and the evidence is gone:
the syntax error, the ruff diagnostic, or the failing tests, which must pass in the sandbox along
with every other test of their files that was not already failing. A syntax or diagnostic fix
must also keep the tests that import its module (`covering_tests`) passing, where given. The
host's files are never written.
"""

from __future__ import annotations

import ast
import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon.sandbox.bubblewrap import SandboxUnavailable
from takeaways_daemon.sandbox.project_run import ProjectSandbox
from takeaways_daemon.verification.diagnostics import (
    Diagnostic,
    DiagnosticsUnavailable,
    find_diagnostics,
)
from takeaways_daemon.verification.last_failed import node_file
from takeaways_daemon.verification.nearness import CHANGED_LINES_ALLOWED, too_far
from takeaways_daemon.verification.test_failures import RERUN_TIMEOUT_S, TestFailure, short_message


@dataclass(frozen=True)
class SyntaxEvidence:
    """The file did not parse: where and why."""

    line: int
    message: str


@dataclass(frozen=True)
class TestEvidence:
    """Failing tests the fix must make pass, and other tests allowed to keep failing."""

    __test__ = False  # a data class, not a pytest test class

    failures: tuple[TestFailure, ...]
    already_failing: frozenset[str] = frozenset()
    """Other node ids pytest last saw failing (its `lastfailed`): not this fix's to repair."""


Evidence = SyntaxEvidence | Diagnostic | TestEvidence | None
"""What a fix answers; None for tasks with nothing to check (the verdict is then None)."""


@dataclass(frozen=True)
class Verdict:
    """Whether a candidate holds up: True, False, or None when nothing could check it."""

    verified: bool | None
    evidence: str
    """One short human line, e.g. `tests/test_calc.py::test_total passed; was: assert 6 == 10`."""


def verify_candidate(
    project_root: Path,
    path: Path | str,
    original_text: str,
    candidate_text: str,
    evidence: Evidence,
    *,
    sandbox: ProjectSandbox | None = None,
    timeout_s: float = RERUN_TIMEOUT_S,
    allowed_lines: int = CHANGED_LINES_ALLOWED,
    covering_tests: Sequence[str] = (),
    already_failing: frozenset[str] = frozenset(),
) -> Verdict:
    """Re-check `evidence` with `candidate_text` in place of the file at `path` (never written).

    `path` is relative to `project_root` or absolute inside it (else ValueError). For a syntax or
    diagnostic fix, the test files in `covering_tests` must then pass too, but for the tests in
    `already_failing` (pytest's own record).
    """
    root = project_root.resolve()
    relative = _relative(root, Path(path))
    if evidence is not None and candidate_text == original_text:
        # The model copied the code back: it can never fix anything, so spare the checks.
        return Verdict(False, "changes nothing")
    try:
        ast.parse(candidate_text)
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None)
        return Verdict(False, f"does not parse: line {line}: {getattr(error, 'msg', error)}")
    # Only a fix has evidence to stay near; a completion or a docstring may add many lines.
    stray = too_far(original_text, candidate_text, 1, allowed_lines) if evidence else None
    if stray is not None:
        return Verdict(False, f"too far from its evidence: {stray}")
    unavailable = ""
    try:
        before = find_diagnostics(original_text, relative, project_root=root)
        after: list[Diagnostic] | None = find_diagnostics(
            candidate_text, relative, project_root=root
        )
    except DiagnosticsUnavailable as error:
        before, after = [], None
        unavailable = str(error)
    if after is not None:
        introduced = _introduced(before, after, original_text, candidate_text)
        if introduced is not None:
            return Verdict(False, f"introduces {introduced.describe()}")
    if evidence is None:
        return Verdict(None, "nothing to check it against")
    if isinstance(evidence, SyntaxEvidence | Diagnostic):
        if isinstance(evidence, SyntaxEvidence):
            verdict = Verdict(True, f"parses; was: line {evidence.line}: {evidence.message}")
        elif after is None:
            return Verdict(None, f"not checked: {unavailable}")
        else:
            verdict = _diagnostic_verdict(evidence, after)
        if not verdict.verified or not covering_tests or sandbox is None:
            return verdict
        return _covering_verdict(
            verdict, covering_tests, already_failing, relative, candidate_text, sandbox, timeout_s
        )
    return _test_verdict(evidence, relative, candidate_text, sandbox, timeout_s)


def _relative(root: Path, path: Path) -> str:
    """`path` as a POSIX path relative to the project root (it may be given either way)."""
    if path.is_absolute():
        return path.resolve().relative_to(root).as_posix()
    return path.as_posix()


def _changed_line_numbers(original: str, candidate: str) -> set[int]:
    """The candidate's line numbers (1-based) that are new or changed."""
    matcher = difflib.SequenceMatcher(None, original.splitlines(), candidate.splitlines(), False)
    changed: set[int] = set()
    for tag, _, _, new_start, new_end in matcher.get_opcodes():
        if tag != "equal":
            changed.update(range(new_start + 1, new_end + 1))
    return changed


def _introduced(
    before: list[Diagnostic], after: list[Diagnostic], original: str, candidate: str
) -> Diagnostic | None:
    """A bug diagnostic on a line the candidate changed, about code the original did not have.

    A finding whose flagged text already was in the original (say `basket=[]` on the line whose
    missing colon was fixed) was there before, even where ruff could not see it in a broken file.
    """
    known = Counter((d.code, d.message) for d in before)
    changed = _changed_line_numbers(original, candidate)
    for diagnostic in after:
        key = (diagnostic.code, diagnostic.message)
        if known[key] > 0:
            known[key] -= 1
        elif diagnostic.line in changed and not (
            diagnostic.snippet and diagnostic.snippet in original
        ):
            return diagnostic
    return None


def _diagnostic_verdict(evidence: Diagnostic, after: list[Diagnostic]) -> Verdict:
    """Verified when ruff no longer reports the evidence's rule and message."""
    same = [d for d in after if (d.code, d.message) == (evidence.code, evidence.message)]
    if same:
        return Verdict(False, f"{same[0].describe()} still reported")
    return Verdict(True, f"{evidence.code} {evidence.message} gone; was line {evidence.line}")


def _covering_verdict(
    verdict: Verdict,
    files: Sequence[str],
    already_failing: frozenset[str],
    relative: str,
    candidate: str,
    sandbox: ProjectSandbox,
    timeout_s: float,
) -> Verdict:
    """`verdict` (a passed syntax or diagnostic check), unless the covering tests now fail."""
    if not sandbox.state().available:
        return verdict
    try:
        run = sandbox.run_tests(
            list(files), replacements={relative: candidate}, timeout_s=timeout_s
        )
    except SandboxUnavailable:
        return verdict
    if run.status != "finished":
        return Verdict(False, f"{', '.join(files)}: {run.error}")
    passed = 0
    for node_id, report in run.reports.items():
        if node_id in already_failing:
            continue
        if report.outcome in ("failed", "error", "unfinished"):
            now = short_message(report.message) or report.outcome
            return Verdict(False, f"breaks {node_id}: {now}")
        passed += report.outcome == "passed"
    if not passed:
        return verdict
    tests = "1 test" if passed == 1 else f"{passed} tests"
    return Verdict(True, f"{verdict.evidence}; {tests} of {', '.join(files)} pass")


def _test_verdict(
    evidence: TestEvidence,
    relative: str,
    candidate: str,
    sandbox: ProjectSandbox | None,
    timeout_s: float,
) -> Verdict:
    """Run the failing tests' files with the candidate in place; judge every test in them."""
    if not evidence.failures:
        return Verdict(None, "nothing to check it against")
    if sandbox is None:
        return Verdict(None, "tests not run: no sandbox given")
    state = sandbox.state()
    if not state.available:
        return Verdict(None, f"tests not run: {state.reason}")
    files = list(dict.fromkeys(node_file(failure.node_id) for failure in evidence.failures))
    try:
        run = sandbox.run_tests(files, replacements={relative: candidate}, timeout_s=timeout_s)
    except SandboxUnavailable as error:
        return Verdict(None, f"tests not run: {error}")
    if run.status != "finished":
        return Verdict(False, f"{', '.join(files)}: {run.error}")
    fixed = []
    for failure in evidence.failures:
        report = run.reports.get(failure.node_id)
        if report is None:
            return Verdict(False, f"{failure.node_id} did not run")
        if report.outcome != "passed":
            now = short_message(report.message) or report.outcome
            return Verdict(False, f"{failure.node_id} still fails: {now}")
        fixed.append(f"{failure.node_id} passed; was: {failure.message}")
    targets = {failure.node_id for failure in evidence.failures}
    others = 0
    for node_id, report in run.reports.items():
        if node_id in targets or node_id in evidence.already_failing:
            continue
        if report.outcome in ("failed", "error", "unfinished"):
            now = short_message(report.message) or report.outcome
            return Verdict(False, f"breaks {node_id}: {now}")
        others += report.outcome == "passed"
    kept = ""
    if others:
        kept = f"; {others} other tests still pass" if others > 1 else "; 1 other test still passes"
    return Verdict(True, "; ".join(fixed) + kept)
