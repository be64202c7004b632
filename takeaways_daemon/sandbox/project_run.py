"""Run a project's own tests (pytest) inside bubblewrap, optionally with candidate files swapped in.

Each run gets its own sandbox:

- all namespaces unshared: no network (not even loopback), its own pid namespace, so when the
  run ends every process a test started (forks, daemons) dies with it;
- the system's `/usr` and the interpreter's installation read-only, the project read-only at its
  own path (so tracebacks name the real files), and nothing else of the host: no `$HOME`, no
  `/etc`, no host `/tmp`;
- candidate files are copied in through file descriptors and bound read-only over the files they
  replace, so the host's files are never written and the scratch copy holds only what the run
  needs; the writable places are a size-capped tmpfs `/tmp` (with `HOME=/tmp/home`) and a capped
  `/dev/shm`;
- rlimits (CPU, address space, processes, file size) set before pytest starts, and a wall-clock
  limit that kills the whole process group and waits for the pid namespace to end.

The tests report through a pytest plugin writing JSON lines to a host file (see test_reports).
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from takeaways_daemon.sandbox.availability import SandboxState, sandbox_state
from takeaways_daemon.sandbox.bubblewrap import (
    SandboxLimits,
    SandboxUnavailable,
    _drop_root,
    _kill_group,
    _tail,
    _wait_for_namespace_end,
    system_mounts,
)
from takeaways_daemon.sandbox.interpreter import ProjectInterpreter, find_interpreter
from takeaways_daemon.sandbox.test_reports import RECORDER, TestReport, parse_reports

PROJECT_TEST_LIMITS = SandboxLimits(
    cpu_s=120, memory_bytes=4 << 30, processes=256, file_bytes=64 << 20, tmpfs_bytes=256 << 20
)
"""Limits for a project's test run: looser than eval's, since real test suites start more."""
SHM_BYTES = 64 << 20
"""Size of the sandbox's private /dev/shm (multiprocessing needs one)."""
PYTEST_EXIT_CODES = range(6)
"""pytest's own exit codes (0 passed … 5 no tests collected); anything else is a crash."""

RunStatus = Literal["finished", "timeout", "crashed"]

# Runs first inside the sandbox: rlimits, then pytest with the recorder plugin. The project root
# goes first on sys.path, as `python -m pytest` does, since `-I` leaves the working folder out.
_BOOTSTRAP = (
    """\
import os, resource, sys
for name, value in zip(("CPU", "AS", "NPROC", "FSIZE"), sys.argv[1:5]):
    limit = getattr(resource, "RLIMIT_" + name)
    resource.setrlimit(limit, (int(value), int(value)))
_report = os.fdopen(int(sys.argv[5]), "w", encoding="utf-8")
pytest_args = sys.argv[6:]
sys.argv = ["pytest"]
sys.path.insert(0, os.getcwd())
"""
    + RECORDER
    + """
import pytest
code = pytest.main(pytest_args, plugins=[_Recorder()])
sys.stdout.flush()
sys.stderr.flush()
os._exit(int(code))
"""
)
_PYTEST_OPTIONS = (
    "-p",
    "no:cacheprovider",
    "-q",
    "--tb=long",
    "-o",
    "console_output_style=classic",
)


@dataclass(frozen=True)
class TestRun:
    """What one sandboxed pytest run did: how it ended and each test's report."""

    __test__ = False  # a data class, not a pytest test class

    status: RunStatus
    reports: Mapping[str, TestReport]
    exit_code: int | None
    duration_s: float
    output: str = ""
    """The tail of pytest's own output."""
    error: str = field(default="")
    """One line when the run did not finish normally (timed out, crashed)."""


class ProjectSandbox:
    """Runs one project's tests under bwrap; `state()` says whether it can, and why not."""

    def __init__(
        self,
        project_root: Path,
        interpreter: ProjectInterpreter | None = None,
        *,
        limits: SandboxLimits = PROJECT_TEST_LIMITS,
        bwrap: str | Path | None = None,
    ) -> None:
        self.root = project_root.resolve()
        self.interpreter = interpreter or find_interpreter(self.root)
        self.limits = limits
        self._bwrap_path = bwrap
        self._state: SandboxState | None = None

    def state(self) -> SandboxState:
        """Whether bwrap works here (probed once, then remembered)."""
        if self._state is None:
            self._state = sandbox_state(self._bwrap_path)
        return self._state

    def run_tests(
        self,
        selection: Sequence[str],
        *,
        replacements: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
        label: str = "takeaways-tests",
    ) -> TestRun:
        """Run the pytest node ids or files in `selection`, with `replacements` (path → text).

        An empty selection runs the whole suite, as a bare `pytest` does (`scan --tests`).
        Raises `SandboxUnavailable` (and runs nothing) when bwrap does not work here.
        """
        state = self.state()
        if not state.available or state.bwrap is None:
            raise SandboxUnavailable(state.reason)
        chosen = [item for item in selection if item and not item.startswith("-")]
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="takeaways-tests-") as folder:
            scratch = Path(folder)
            with contextlib.ExitStack() as files:
                sources = [
                    (
                        self._inside(relative),
                        _data_file(files, scratch / f"candidate-{index}", text),
                    )
                    for index, (relative, text) in enumerate((replacements or {}).items())
                ]
                out = files.enter_context(open(scratch / "output", "wb"))
                report = files.enter_context(open(scratch / "report", "wb"))
                info = files.enter_context(open(scratch / "info", "wb"))
                argv = [
                    *_drop_root(), str(state.bwrap), "--info-fd", str(info.fileno()),
                    *self._bwrap_args([(target, data.fileno()) for target, data in sources]),
                    "--", *self._python_command(report.fileno(), label), *_PYTEST_OPTIONS,
                    "--", *chosen,
                ]  # fmt: skip
                process = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd="/",
                    pass_fds=(info.fileno(), report.fileno(), *(d.fileno() for _, d in sources)),
                    start_new_session=True,
                )  # fmt: skip
                timed_out = False
                try:
                    process.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    _kill_group(process)
                    _wait_for_namespace_end(scratch / "info")
            output = _tail(scratch / "output")
            reports = parse_reports(
                (scratch / "report").read_text(encoding="utf-8", errors="replace").splitlines()
            )
        duration = time.monotonic() - started
        if timed_out:
            error = f"timed out after {timeout_s:g} s; killed with every process it started"
            return TestRun("timeout", reports, None, duration, output, error)
        code = process.returncode
        if code not in PYTEST_EXIT_CODES:
            lines = [line for line in output.strip().splitlines() if line.strip()]
            error = f"pytest ended with status {code}: {lines[-1][:300] if lines else 'no output'}"
            return TestRun("crashed", reports, code, duration, output, error)
        return TestRun("finished", reports, code, duration, output)

    def _inside(self, relative: str) -> Path:
        """The project file `relative` names; refuses paths outside the project or not files."""
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            raise ValueError(f"{relative} is not a file inside {self.root}")
        return target

    def _python_command(self, report_fd: int, label: str) -> list[str]:
        """The interpreter, its bootstrap and the rlimits; `label` shows in process listings."""
        limits = self.limits
        return [
            str(self.interpreter.python), "-I", "-B", "-c", _BOOTSTRAP,
            str(limits.cpu_s), str(limits.memory_bytes), str(limits.processes),
            str(limits.file_bytes), str(report_fd), "-p", f"no:{label}",
        ]  # fmt: skip

    def _bwrap_args(self, replacements: list[tuple[Path, int]]) -> list[str]:
        """The sandbox: system read-only, the project read-only, candidates bound over files."""
        python_bin = str(self.interpreter.python.parent)
        args = [
            "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--setenv", "PATH", f"{python_bin}:/usr/bin:/bin", "--setenv", "HOME", "/tmp/home",
            "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8",
            *system_mounts(),
            "--proc", "/proc", "--dev", "/dev",
            "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",
            "--size", str(self.limits.tmpfs_bytes), "--tmpfs", "/tmp", "--dir", "/tmp/home",
        ]  # fmt: skip
        for folder in self.interpreter.mounts:
            args += ["--ro-bind", str(folder), str(folder)]
        args += ["--ro-bind", str(self.root), str(self.root)]
        for target, descriptor in replacements:
            args += ["--ro-bind-data", str(descriptor), str(target)]
        args += ["--chdir", str(self.root), "--remount-ro", "/", "--uid", "65534", "--gid", "65534"]
        return args


def _data_file(files: contextlib.ExitStack, path: Path, text: str) -> IO[bytes]:
    """`text` written to `path` and opened for reading, for bwrap to copy in through its fd."""
    path.write_text(text, encoding="utf-8")
    return files.enter_context(open(path, "rb"))
