"""Acceptance: the user's red pytest run becomes a verified fix from the real model, and accepting
it turns pytest green.

Everything is real: the daemon service (watcher, engine, store, accept), the embedded backend on
the packaged gemma-3-270m GGUF, bubblewrap, and the sample project's own venv and pytest. The
bug is one the small base model can fix (a slice that skips the first price, in a 3-line loop);
sampling has a fixed seed and best-of-n grows until a candidate verifies, so the run repeats.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestions import Suggestion
from tests.sample_project import (
    CALC,
    CONFTEST,
    TEST_CALC,
    make_venv,
    run_pytest,
    world_readable_folder,
    write_project,
)

pytestmark = pytest.mark.model
SCAN_KEYS = {"id", "kind", "path", "start_line", "end_line", "replacement", "title",
             "explanation", "diff", "verified", "evidence"}  # fmt: skip


@pytest.fixture
def project() -> Iterator[Path]:
    with world_readable_folder("takeaways-fix-acceptance-") as root:
        write_project(
            root, {"calc.py": CALC, "conftest.py": CONFTEST, "tests/test_calc.py": TEST_CALC}
        )
        make_venv(root / ".venv")
        yield root


# Minutes on a loaded 2-core machine: every candidate is generated, then tested in the sandbox.
@pytest.mark.timeout(1500)
def test_a_red_pytest_run_becomes_a_verified_fix_that_turns_it_green(
    project: Path, use_base_model: Path
) -> None:
    settings = Settings(
        # A loaded 2-core machine can take minutes per answer: no backend timeout gets in first.
        backend={"prefer": ["embedded"], "embedded": {"generation_timeout_s": 1200}},
        sampling={"seed": 7, "candidates": 3},
        fix={"max_candidates": 12, "verify_budget_s": 900},
        tasks={"enabled": ["fix"]},
        history={"enabled": False},
    )

    async def scenario() -> tuple[Suggestion, int]:
        service = DaemonService(project, settings)
        await service.start()
        try:
            red = await asyncio.to_thread(run_pytest, project)
            assert red.returncode == 1, red.stdout
            async with asyncio.timeout(1200):
                while not len(service.store):
                    await asyncio.sleep(0.5)
            [fix] = list(service.store)
            service.accept(fix.id)
            green = await asyncio.to_thread(run_pytest, project)
            return fix, green.returncode
        finally:
            await service.stop()

    fix, green = asyncio.run(scenario())
    assert (fix.kind, fix.path, fix.symbol, fix.verified) == ("fix", "calc.py", "total", True)
    assert fix.evidence.startswith("tests/test_calc.py::test_total passed; was: assert 6 == 10")
    assert green == 0


@pytest.mark.timeout(1500)
def test_scan_with_tests_prints_only_the_stable_json_with_a_verified_fix(
    project: Path, use_base_model: Path
) -> None:
    env = {
        **os.environ,
        "TAKEAWAYS_SAMPLING__SEED": "7",
        "TAKEAWAYS_FIX__MAX_CANDIDATES": "12",
        "TAKEAWAYS_FIX__VERIFY_BUDGET_S": "900",
        "TAKEAWAYS_BACKEND__EMBEDDED__GENERATION_TIMEOUT_S": "1200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", "scan", str(project), "--json",
         "--kind", "fix", "--tests"],
        capture_output=True, text=True, timeout=1400, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)  # nothing but the JSON on stdout
    [fix] = shown["suggestions"]
    assert set(fix) == SCAN_KEYS
    assert (fix["kind"], fix["path"], fix["verified"]) == ("fix", "calc.py", True)
    assert fix["evidence"].startswith("tests/test_calc.py::test_total passed")
    assert "running the tests in the sandbox" in done.stderr
    assert (project / "calc.py").read_text() == CALC  # scanning never applies anything
