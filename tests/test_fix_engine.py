"""Fixes for real bugs through the daemon's engine: evidence in, checked suggestions out.

Every component is real (the watcher on a real folder, ruff, bubblewrap, the project's own venv
and pytest, the engine and store) except the model: the scripted backend plugin answers what
each test queues, so each test states exactly which candidates the model offered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.cli.printing import status_text
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.line_repair import LINE_SAMPLES
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.prompt_format import render_answer
from takeaways_daemon.scanner import failing_test_tasks
from takeaways_daemon.settings import Settings, WatcherSettings
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.verification.diagnostics import Diagnostic
from takeaways_daemon.verification.fix_checker import FixChecker
from takeaways_daemon.verification.last_failed import LAST_FAILED
from takeaways_daemon.verification.verdict import TestEvidence
from takeaways_daemon.watcher import FileChange, ProjectWatcher
from takeaways_daemon.wire import DaemonStatus
from tests.plugins.install import install_plugin
from tests.sample_project import (
    CALC,
    CONFTEST,
    TEST_CALC,
    make_venv,
    run_pytest,
    world_readable_folder,
    write_project,
)

if TYPE_CHECKING:
    from takeaways_scripted import ScriptedBackend

TOTAL_FIXED = '''\
def total(prices):
    """The sum of all prices."""
    result = 0
    for price in prices:
        result += price
    return result'''
# Passes test_total ([4, 1, 5] → 10) but breaks test_total_of_nothing (expects 0 for []).
TOTAL_BREAKS_ANOTHER = '''\
def total(prices):
    """The sum of all prices."""
    return sum(prices) if prices else 1'''
SHOP = '''\
def price_with_tax(price, rate):
    """`price` plus `rate` per cent tax."""
    return price + price * rte / 100
'''
PRICE_FIXED = '''\
def price_with_tax(price, rate):
    """`price` plus `rate` per cent tax."""
    return price + price * rate / 100'''


def padded(*lines: str) -> list[str]:
    """One suspect line's samples: `lines`, then blanks (which the engine drops unchecked)."""
    return [*lines, *[""] * (LINE_SAMPLES - len(lines))]


def answer(code: str) -> str:
    return render_answer("Fix the bug", "It was wrong.", code)


@pytest.fixture
def project() -> Iterator[Path]:
    """The sample project (a module, tests/, its own venv); the user has not run pytest yet."""
    with world_readable_folder("takeaways-fix-engine-") as root:
        write_project(
            root, {"calc.py": CALC, "conftest.py": CONFTEST, "tests/test_calc.py": TEST_CALC}
        )
        make_venv(root / ".venv")
        yield root


@pytest.fixture
def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The `takeaways-scripted` backend plugin, installed for this test only."""
    return install_plugin(
        tmp_path / "site", monkeypatch, "takeaways-scripted",
        {"scripted": "takeaways_scripted:register"},
    )  # fmt: skip


class Rig:
    """The daemon's engine on `root`, with the scripted model and the real sandbox."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self.metrics = Metrics()
        self.store = SuggestionStore()
        self.store.events.subscribe(self.metrics.on_store_event)
        self.supervisor = BackendSupervisor(settings)
        self.engine = SuggestionEngine(root, settings, self.supervisor, self.store, self.metrics)
        self.backend: ScriptedBackend

    async def watched(self, action: Callable[[], Awaitable[None] | None]) -> list[Suggestion]:
        """Run the engine on the real watcher, do `action`, and wait for a suggestion to arrive."""
        watcher = ProjectWatcher(self.root, WatcherSettings(debounce_ms=50))
        await watcher.start()
        engine = asyncio.create_task(self.engine.run(watcher))
        try:
            done = action()
            if done is not None:
                await done
            async with asyncio.timeout(120):
                while not len(self.store):
                    await asyncio.sleep(0.05)
            return list(self.store)
        finally:
            engine.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await engine
            await watcher.stop()


def run_rig(root: Path, scenario: Callable[[Rig], Awaitable[Any]], **sections: Any) -> Any:
    """`scenario` on a fresh rig (candidates: one per round unless set) in its own loop."""
    sections.setdefault("sampling", {"candidates": 1, "seed": 1})
    settings = Settings(backend={"prefer": ["scripted"]}, **sections)

    async def main() -> Any:
        rig = Rig(root, settings)
        try:
            rig.backend = cast("ScriptedBackend", await rig.supervisor.select())
            return await scenario(rig)
        finally:
            await rig.supervisor.close()

    return asyncio.run(main())


def red_run(root: Path) -> FileChange:
    """The user's own pytest run (real, outside the daemon) and the change it leaves."""
    done = run_pytest(root)
    assert done.returncode == 1, done.stdout + done.stderr
    text = (root / LAST_FAILED).read_text()
    return FileChange(root / LAST_FAILED, LAST_FAILED.as_posix(), text, "modified")


class TestFailingTests:
    def test_the_users_red_run_becomes_a_verified_fix_and_accepting_it_turns_pytest_green(
        self, project: Path, scripted: Path
    ) -> None:
        async def scenario(rig: Rig) -> list[Suggestion]:
            rig.backend.enqueue(answer(TOTAL_FIXED))
            return await rig.watched(lambda: asyncio.to_thread(run_pytest, project))

        [fix] = run_rig(project, scenario)

        assert (fix.kind, fix.path, fix.symbol, fix.verified) == ("fix", "calc.py", "total", True)
        assert fix.evidence == (
            "tests/test_calc.py::test_total passed; was: assert 6 == 10; 2 other tests still pass"
        )
        assert (project / "calc.py").read_text() == CALC  # nothing is applied until accepted
        (project / "calc.py").write_text(fix.patch().apply_to(CALC))
        assert run_pytest(project).returncode == 0

    def test_the_prompt_carries_the_failing_test_and_its_traceback(
        self, project: Path, scripted: Path
    ) -> None:
        change = red_run(project)

        async def scenario(rig: Rig) -> Any:
            [task] = await rig.engine.plan_change(change)
            return task

        task = run_rig(project, scenario)
        assert (task.kind, task.path, task.symbol) == ("fix", "calc.py", "total")
        assert isinstance(task.evidence, TestEvidence)
        prompt = task.prompt()
        assert "Error: tests/test_calc.py::test_total failed: assert 6 == 10" in prompt
        assert "Failure:\n" in prompt and "where 6 = total([4, 1, 5])" in prompt
        assert "for price in prices[1:]:" in task.shown_code

    def test_a_candidate_that_breaks_another_test_is_never_shown_as_verified(
        self, project: Path, scripted: Path
    ) -> None:
        change = red_run(project)

        async def scenario(rig: Rig) -> tuple[Suggestion | None, dict[str, int]]:
            rig.backend.enqueue(answer(TOTAL_BREAKS_ANOTHER))
            [task] = await rig.engine.plan_change(change)
            return await rig.engine.suggest(task), dict(rig.metrics.counters)

        fix, counters = run_rig(project, scenario, fix={"max_candidates": 1})
        assert fix is None
        assert counters["unverified_dropped"] == 1

        shown, _ = run_rig(project, scenario, fix={"max_candidates": 1, "show_unverified": True})
        assert shown is not None and shown.verified is False
        assert shown.evidence == "breaks tests/test_calc.py::test_total_of_nothing: assert 1 == 0"

    def test_when_none_verifies_more_candidates_are_tried_the_first_greedy(
        self, project: Path, scripted: Path
    ) -> None:
        change = red_run(project)

        async def scenario(rig: Rig) -> tuple[Suggestion | None, list[float]]:
            rig.backend.enqueue(answer(TOTAL_BREAKS_ANOTHER))
            rig.backend.enqueue(answer(TOTAL_FIXED))
            [task] = await rig.engine.plan_change(change)
            fix = await rig.engine.suggest(task)
            return fix, [request.temperature for request in rig.backend.requests]

        fix, temperatures = run_rig(
            project,
            scenario,
            fix={"max_candidates": 2},
            sampling={"candidates": 1, "seed": 1, "temperature": 0.7},
        )
        assert fix is not None and fix.verified is True
        assert fix.replacement.rstrip("\n") == TOTAL_FIXED
        # The model's most likely answer first, then sampled ones.
        assert temperatures == [0.0, 0.7]

    def test_candidates_dropped_before_any_check_also_make_n_grow(
        self, project: Path, scripted: Path
    ) -> None:
        """The base model's copy of a broken file is rejected before a check; n must still grow."""
        change = red_run(project)

        async def scenario(rig: Rig) -> tuple[Suggestion | None, int]:
            rig.backend.enqueue("no answer format at all")
            rig.backend.enqueue(answer(TOTAL_FIXED))
            [task] = await rig.engine.plan_change(change)
            return await rig.engine.suggest(task), len(rig.backend.requests)

        fix, asked = run_rig(
            project, scenario, fix={"max_candidates": 2}, sampling={"candidates": 1, "seed": 1}
        )
        assert asked == 2
        assert fix is not None and fix.verified is True


class TestLineCandidates:
    """After the greedy rewrite, each suspect line is written again on its own and checked."""

    def test_a_rewritten_line_that_passes_the_tests_is_the_verified_fix(
        self, project: Path, scripted: Path
    ) -> None:
        change = red_run(project)

        async def scenario(rig: Rig) -> tuple[Suggestion | None, list[str], int]:
            rig.backend.enqueue(answer(CALC.split("\n\n\n")[1]))  # the greedy rewrite: a copy
            # The first suspect line's samples: a copy and a wrong guess that parses; the
            # second's: the fix.
            rig.backend.enqueue_lines(*padded("result = 0", "result = 1"))
            rig.backend.enqueue_lines(*padded("for price in prices:"))
            [task] = await rig.engine.plan_change(change)
            fix = await rig.engine.suggest(task)
            prompts = [request.prompt for request in rig.backend.line_requests]
            return fix, prompts, rig.metrics.counters["unverified"]

        fix, prompts, unverified = run_rig(
            project, scenario, fix={"max_candidates": 1}, sampling={"candidates": 3, "seed": 1}
        )
        assert fix is not None and fix.verified is True
        assert fix.replacement.rstrip("\n") == TOTAL_FIXED
        assert fix.title == "Change line 7: for price in prices:"
        assert fix.evidence.startswith("tests/test_calc.py::test_total passed")
        assert unverified == 1  # `result = 1` was checked in the sandbox and failed
        # The first suspect line is the statement after the docstring; each prompt ends at its
        # line, so the model never sees the line it replaces.
        first, second = prompts[:2]
        assert first.endswith('    """The sum of all prices."""\n    ')
        assert "result = 0" not in first and second.endswith("    result = 0\n    ")
        assert "# tests/test_calc.py::test_total failed: assert 6 == 10" in first

    def test_line_candidates_off_asks_for_rewrites_only(
        self, project: Path, scripted: Path
    ) -> None:
        change = red_run(project)

        async def scenario(rig: Rig) -> tuple[Suggestion | None, int, int]:
            rig.backend.enqueue(answer(TOTAL_BREAKS_ANOTHER))
            rig.backend.enqueue(answer(TOTAL_FIXED))
            [task] = await rig.engine.plan_change(change)
            fix = await rig.engine.suggest(task)
            return fix, len(rig.backend.requests), len(rig.backend.line_requests)

        fix, rewrites, lines = run_rig(
            project, scenario, fix={"max_candidates": 2, "line_candidates": False}
        )
        assert fix is not None and fix.verified is True
        assert (rewrites, lines) == (2, 0)


class TestDiagnostics:
    def test_an_undefined_name_becomes_a_verified_fix_on_save(
        self, project: Path, scripted: Path
    ) -> None:
        async def scenario(rig: Rig) -> list[Suggestion]:
            rig.backend.enqueue(answer(PRICE_FIXED))
            return await rig.watched(lambda: (project / "shop.py").write_text(SHOP) and None)

        [fix] = run_rig(project, scenario, tasks={"enabled": ["fix"]})
        assert (fix.kind, fix.path, fix.symbol, fix.verified) == (
            "fix", "shop.py", "price_with_tax", True,
        )  # fmt: skip
        assert fix.evidence == "F821 Undefined name `rte` gone; was line 3"
        assert "rate / 100" in fix.replacement

    def test_the_prompt_names_the_rule_and_why_it_is_a_bug(
        self, project: Path, scripted: Path
    ) -> None:
        change = FileChange(project / "shop.py", "shop.py", SHOP, "modified")
        (project / "shop.py").write_text(SHOP)

        async def scenario(rig: Rig) -> Any:
            return await rig.engine.plan_change(change)

        fix, *others = run_rig(project, scenario)
        assert isinstance(fix.evidence, Diagnostic) and fix.evidence.code == "F821"
        assert "Error: F821 Undefined name `rte` (line 3): undefined name" in fix.prompt()
        assert all(task.kind != "fix" for task in others)


class TestNoSandbox:
    def test_no_bwrap_means_a_clear_status_line_and_no_test_run(
        self, project: Path, scripted: Path
    ) -> None:
        change = red_run(project)

        async def scenario(rig: Rig) -> tuple[list[Any], dict[str, Any]]:
            rig.engine.checker = FixChecker(
                project, rig.settings.fix, bwrap=project / "no-such-bwrap"
            )
            tasks = await rig.engine.plan_change(change)
            return tasks, vars(rig.engine.checker.state())

        tasks, state = run_rig(project, scenario)
        assert tasks == []
        assert state["sandbox"] is False
        status = DaemonStatus.model_validate(
            {"root": str(project), "pid": 1, "uptime_s": 0, "version": "0",
             "backend": {"name": None, "state": "down", "model": None, "reason": ""},
             "watcher": {"mode": "inotify", "queue_depth": 0},
             "suggestions": {"open": 0, "kept": 0}, "metrics": {},
             "history": {"enabled": False}, "fix": state}
        )  # fmt: skip
        record = {"address": "-", "token_file": "-", "log_file": "-"}
        lines = status_text(record, status).splitlines()
        [line] = [row for row in lines if row.startswith("tests")]
        assert "never run: bubblewrap (bwrap) is not installed at" in line
        assert "sudo apt-get install bubblewrap" in line


class TestScanTests:
    """`scan --tests` runs the whole suite itself (in the sandbox) before planning fixes."""

    def test_the_whole_suite_runs_sandboxed_and_each_failure_plans_a_checked_fix(
        self, project: Path
    ) -> None:
        settings = Settings(history={"enabled": False})
        engine = SuggestionEngine(
            project, settings, BackendSupervisor(settings), SuggestionStore(), Metrics()
        )
        said: list[str] = []
        [task] = failing_test_tasks(engine, settings, said.append)
        assert (task.kind, task.path, task.symbol) == ("fix", "calc.py", "total")
        assert isinstance(task.evidence, TestEvidence)
        assert [f.node_id for f in task.evidence.failures] == ["tests/test_calc.py::test_total"]
        assert said[0].startswith("running the tests in the sandbox with ")
        assert "the project's own .venv/" in said[0]
        assert said[1] == "tests: 3 ran, 1 failed"
        assert not (project / ".pytest_cache").exists()  # the sandbox wrote nothing here

    def test_fix_tests_off_runs_nothing(self, project: Path) -> None:
        settings = Settings(history={"enabled": False}, fix={"tests": "off"})
        engine = SuggestionEngine(
            project, settings, BackendSupervisor(settings), SuggestionStore(), Metrics()
        )
        said: list[str] = []
        assert failing_test_tasks(engine, settings, said.append) == []
        assert said == ["tests not run: fix.tests is off"]
