"""A project's own tests run in the real bubblewrap sandbox, and cannot reach out of it.

Every test runs real pytest, with the sample project's own venv, under the real bwrap. Hostile
tests (hanging, forking, networking, writing $HOME or the project) live in the sample project.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from takeaways_daemon.sandbox import ProjectSandbox, SandboxUnavailable, TestRun, find_interpreter
from takeaways_daemon.verification.test_failures import collect_failures
from tests.sample_project import (
    CALC,
    CALC_FIXED,
    CONFTEST,
    TEST_CALC,
    make_venv,
    world_readable_folder,
    write_project,
)

HOST_CANARY_NAME = f".takeaways-sandbox-canary-{uuid.uuid4().hex[:8]}"

HOSTILE = f"""\
import os, socket, subprocess, sys, time
from pathlib import Path

HOST_HOME = {str(Path.home())!r}


def test_hangs():
    time.sleep(600)


def test_forks_a_daemon_and_passes():
    if os.fork() == 0:
        os.setsid()
        time.sleep(600)
        os._exit(0)


def test_reaches_the_network():
    socket.create_connection(("127.0.0.1", int(os.environ.get("PORT", "{{port}}"))), 2)


def test_writes_the_real_home():
    Path(HOST_HOME, {HOST_CANARY_NAME!r}).write_text("escaped")


def test_writes_its_own_home():
    Path.home().joinpath("note").write_text("kept inside")
    assert Path.home().joinpath("note").read_text() == "kept inside"


def test_writes_the_project():
    Path(__file__).with_name("written.txt").write_text("escaped")
"""


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    """The sample project (package, tests, conftest.py and its own venv), built once."""
    with world_readable_folder("takeaways-sandbox-project-") as root:
        write_project(
            root,
            {
                "calc.py": CALC,
                "conftest.py": CONFTEST,
                "tests/test_calc.py": TEST_CALC,
                "tests/test_hostile.py": HOSTILE,
            },
        )
        make_venv(root / ".venv")
        yield root


@pytest.fixture
def box(project: Path) -> ProjectSandbox:
    return ProjectSandbox(project)


@pytest.fixture
def marker() -> str:
    """A unique word put in the sandboxed processes' argv, to find leftovers in /proc."""
    return f"takeaways-tests-{uuid.uuid4().hex[:12]}"


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def run(box: ProjectSandbox, node: str, marker: str, timeout_s: float = 30) -> TestRun:
    """Run one node id, then check that nothing it started is still alive."""
    result = box.run_tests([node], timeout_s=timeout_s, label=marker)
    time.sleep(0.2)
    assert processes_with(marker) == [], "a sandboxed process is still running"
    return result


class TestProjectRuns:
    def test_the_project_venv_runs_the_tests_and_reports_each_failure(
        self, box: ProjectSandbox, marker: str
    ) -> None:
        assert box.interpreter.source == "project"
        result = run(box, "tests/test_calc.py", marker)
        assert result.status == "finished" and result.exit_code == 1
        outcomes = {node: report.outcome for node, report in result.reports.items()}
        assert outcomes == {
            "tests/test_calc.py::test_total": "failed",
            "tests/test_calc.py::test_discount": "passed",
            "tests/test_calc.py::test_total_of_nothing": "passed",
        }
        failed = result.reports["tests/test_calc.py::test_total"]
        assert failed.message == "AssertionError: assert 6 == 10"
        assert "where 6 = total([4, 1, 5])" in failed.traceback
        assert failed.frames[-1] == (str(box.root / "tests/test_calc.py"), 5, "test_total")

    def test_a_candidate_is_seen_inside_while_the_host_file_stays(
        self, box: ProjectSandbox, project: Path, marker: str
    ) -> None:
        result = box.run_tests(
            ["tests/test_calc.py"], replacements={"calc.py": CALC_FIXED}, label=marker
        )
        assert {report.outcome for report in result.reports.values()} == {"passed"}
        assert (project / "calc.py").read_text() == CALC

    def test_a_replacement_outside_the_project_is_refused(self, box: ProjectSandbox) -> None:
        with pytest.raises(ValueError, match="not a file inside"):
            box.run_tests(["tests/test_calc.py"], replacements={"../etc/passwd": "x"})


class TestContainment:
    def test_a_hanging_test_is_killed_and_reported(self, box: ProjectSandbox, marker: str) -> None:
        started = time.monotonic()
        result = run(box, "tests/test_hostile.py::test_hangs", marker, timeout_s=3)
        assert time.monotonic() - started < 3 + 5, "the wall-clock limit did not hold"
        assert result.status == "timeout" and "timed out after 3 s" in result.error
        assert result.reports["tests/test_hostile.py::test_hangs"].outcome == "unfinished"
        failures, _ = collect_failures(box, ["tests/test_hostile.py::test_hangs"], timeout_s=2)
        assert [(f.node_id, f.message) for f in failures] == [
            (
                "tests/test_hostile.py::test_hangs",
                "timed out after 2 s; killed with every process it started",
            )
        ]

    def test_a_forked_daemon_dies_with_the_run(self, box: ProjectSandbox, marker: str) -> None:
        result = run(box, "tests/test_hostile.py::test_forks_a_daemon_and_passes", marker)
        assert result.status == "finished"
        node = "tests/test_hostile.py::test_forks_a_daemon_and_passes"
        assert result.reports[node].outcome == "passed"

    def test_the_network_is_unreachable(
        self, project: Path, box: ProjectSandbox, marker: str
    ) -> None:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        accepted: list[object] = []
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    accepted.append(server.accept()[1])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        port = server.getsockname()[1]
        hostile = (project / "tests/test_hostile.py").read_text().replace("{port}", str(port))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass  # reachable from the host
            time.sleep(0.3)
            result = box.run_tests(
                ["tests/test_hostile.py::test_reaches_the_network"],
                replacements={"tests/test_hostile.py": hostile},
                label=marker,
            )
        finally:
            stop.set()
            thread.join()
            server.close()
        report = result.reports["tests/test_hostile.py::test_reaches_the_network"]
        assert report.outcome == "failed"
        assert report.message.startswith(("ConnectionRefusedError", "OSError"))
        assert len(accepted) == 1, "only the host's own connection arrived"

    def test_the_real_home_is_out_of_reach_and_its_own_home_is_private(
        self, box: ProjectSandbox, marker: str
    ) -> None:
        canary = Path.home() / HOST_CANARY_NAME
        result = run(box, "tests/test_hostile.py::test_writes_the_real_home", marker)
        report = result.reports["tests/test_hostile.py::test_writes_the_real_home"]
        assert report.outcome == "failed" and "Error" in report.message
        assert not canary.exists()
        result = run(box, "tests/test_hostile.py::test_writes_its_own_home", marker)
        assert result.reports["tests/test_hostile.py::test_writes_its_own_home"].outcome == "passed"

    def test_the_project_is_read_only(
        self, box: ProjectSandbox, project: Path, marker: str
    ) -> None:
        result = run(box, "tests/test_hostile.py::test_writes_the_project", marker)
        report = result.reports["tests/test_hostile.py::test_writes_the_project"]
        assert report.outcome == "failed" and "Read-only file system" in report.message
        assert not (project / "tests" / "written.txt").exists()


class TestNoSandbox:
    def test_a_missing_bwrap_is_a_reason_and_nothing_runs(self, project: Path) -> None:
        with world_readable_folder("takeaways-no-bwrap-") as outside:
            outside.chmod(0o777)
            witness = outside / "ran"
            spy = (
                f"from pathlib import Path\n\ndef test_spy():\n    Path({str(witness)!r}).touch()\n"
            )
            box = ProjectSandbox(project, bwrap=outside / "missing" / "bwrap")
            state = box.state()
            assert not state.available and state.bwrap is None
            assert "bubblewrap (bwrap) is not installed at" in state.reason
            with pytest.raises(SandboxUnavailable, match="not installed"):
                box.run_tests(["tests/test_calc.py"], replacements={"tests/test_calc.py": spy})
            assert not witness.exists()


def test_the_interpreter_is_the_projects_and_says_why(project: Path) -> None:
    chosen = find_interpreter(project)
    assert chosen.python == project.resolve() / ".venv" / "bin" / "python"
    assert chosen.describe().endswith("(the project's own .venv/)")
