"""One project's fix checks: its sandbox (probed once), its test runner, each candidate's verdict.

Everything here blocks (ruff, bubblewrap, pytest): the engine calls it on worker threads so the
daemon's event loop, and with it the API, stays responsive.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon.sandbox.bubblewrap import SandboxUnavailable
from takeaways_daemon.sandbox.interpreter import ProjectInterpreter, find_interpreter
from takeaways_daemon.sandbox.project_run import ProjectSandbox, TestRun
from takeaways_daemon.settings import FixSettings
from takeaways_daemon.tasks import Task
from takeaways_daemon.verification.covering_tests import covering_tests
from takeaways_daemon.verification.diagnostics import (
    Diagnostic,
    DiagnosticsUnavailable,
    find_diagnostics,
)
from takeaways_daemon.verification.last_failed import parse_last_failed, read_last_failed
from takeaways_daemon.verification.test_failures import (
    TestFailure,
    collect_failures,
    failure_from_report,
    failures_by_target,
)
from takeaways_daemon.verification.verdict import SyntaxEvidence, Verdict, verify_candidate
from takeaways_daemon.wire import Suggestion

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestRunnerState:
    """What `takeaways status` says about running the project's tests."""

    __test__ = False  # a data class, not a pytest test class

    tests: str
    """The `fix.tests` setting: off, on-failure or scan-only."""
    sandbox: bool
    """Whether the sandbox works here; without it no test ever runs."""
    sandbox_reason: str
    interpreter: str
    """The interpreter the tests run with, and why that one."""


class FixChecker:
    """Checks fix candidates and finds failing tests for one project, always in its sandbox."""

    def __init__(self, root: Path, settings: FixSettings, *, bwrap: str | Path | None = None):
        self.root = root.resolve()
        self.settings = settings
        self._bwrap = bwrap
        self._sandbox: ProjectSandbox | None = None
        self._lock = threading.Lock()

    @property
    def interpreter(self) -> ProjectInterpreter:
        """The interpreter for the project's tests (configured, the project's own, or ours)."""
        return self.sandbox.interpreter

    @property
    def sandbox(self) -> ProjectSandbox:
        """The project's sandbox (created on first use; it remembers its probe)."""
        with self._lock:
            if self._sandbox is None:
                interpreter = find_interpreter(self.root, self.settings.python)
                self._sandbox = ProjectSandbox(self.root, interpreter, bwrap=self._bwrap)
            return self._sandbox

    def state(self) -> TestRunnerState:
        """The sandbox's and test runner's state, for `status` (probes bwrap the first time)."""
        box = self.sandbox
        probe = box.state()
        return TestRunnerState(
            self.settings.tests, probe.available, probe.reason, box.interpreter.describe()
        )

    def diagnostics(self, relative: str, text: str) -> list[Diagnostic]:
        """ruff's bug findings for one file's text; none when diagnostics are off or ruff fails."""
        if not self.settings.diagnostics:
            return []
        try:
            return find_diagnostics(text, relative, project_root=self.root)
        except DiagnosticsUnavailable as error:
            log.warning("no diagnostics for %s: %s", relative, error)
            return []

    def check(self, task: Task, suggestion: Suggestion) -> Verdict:
        """The verdict on `suggestion` (made for `task`), against the task's evidence.

        A syntax or diagnostic fix must also keep the tests importing its module green, when
        `fix.tests` is `on-failure` (tests run on their own) and the sandbox works.
        """
        candidate = suggestion.patch().apply_to(task.file_text)
        covering: tuple[str, ...] = ()
        if (
            isinstance(task.evidence, SyntaxEvidence | Diagnostic)
            and self.settings.tests == "on-failure"
            and self.sandbox.state().available
        ):
            covering = covering_tests(self.root, task.path)
        return verify_candidate(
            self.root, task.path, task.file_text, candidate, task.evidence,
            sandbox=self.sandbox, timeout_s=self.settings.test_timeout_s,
            covering_tests=covering, already_failing=frozenset(read_last_failed(self.root)),
        )  # fmt: skip

    def failing_tests(
        self, last_failed_text: str
    ) -> tuple[dict[tuple[str, str], tuple[TestFailure, ...]], frozenset[str]]:
        """Failures grouped by target for the ids in pytest's `lastfailed` text, re-run sandboxed.

        Nothing runs (and nothing is found) when `fix.tests` is not `on-failure` or there is no
        sandbox.
        """
        ids = parse_last_failed(last_failed_text)
        if self.settings.tests != "on-failure" or not ids or not self.sandbox.state().available:
            return {}, frozenset(ids)
        try:
            failures, run = collect_failures(
                self.sandbox, ids, timeout_s=self.settings.test_timeout_s
            )
        except SandboxUnavailable as error:
            log.warning("failing tests not re-run: %s", error)
            return {}, frozenset(ids)
        if run.status != "finished":
            log.info("re-running %d failing tests: %s", len(ids), run.error)
        return failures_by_target(failures), frozenset(ids)

    def whole_suite(self) -> tuple[dict[tuple[str, str], tuple[TestFailure, ...]], TestRun]:
        """Run every test of the project (`scan --tests`): the failures grouped by target."""
        run = self.sandbox.run_tests([], timeout_s=self.settings.test_timeout_s)
        failures = [
            failure_from_report(report, self.root)
            for report in run.reports.values()
            if report.outcome in ("failed", "error")
        ]
        return failures_by_target(failures), run
