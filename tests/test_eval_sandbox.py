"""The bubblewrap sandbox contains hostile samples, and leaves nothing running afterwards.

Every test runs the real bwrap. Limits are kept small so the whole file takes seconds.
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

from takeaways_daemon.sandbox import Execution, Sandbox, SandboxLimits

LIMITS = SandboxLimits(cpu_s=5, memory_bytes=512 << 20, processes=16, file_bytes=4 << 20)
TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    box = Sandbox(LIMITS)
    box.ensure_available()
    return box


@pytest.fixture
def marker() -> str:
    """A unique word put in the sandboxed process's argv, to find leftovers in /proc."""
    return f"takeaways-hostile-{uuid.uuid4().hex[:12]}"


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def run_hostile(sandbox: Sandbox, program: str, marker: str) -> Execution:
    """Run `program`, then check that none of its processes outlive the run."""
    started = time.monotonic()
    result = sandbox.run(program, timeout_s=TIMEOUT_S, label=marker)
    assert time.monotonic() - started < TIMEOUT_S + 5, "the wall-clock timeout did not hold"
    time.sleep(0.2)
    assert processes_with(marker) == [], "a sandboxed process is still running"
    return result


@pytest.fixture
def listener() -> Iterator[tuple[int, list[object]]]:
    """A real TCP server on 127.0.0.1 (like the daemon's API) recording every connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, address = server.accept()
            except TimeoutError:
                continue
            accepted.append(address)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


class TestContainment:
    def test_a_normal_program_passes_and_a_failing_one_reports_its_exception(
        self, sandbox: Sandbox, marker: str
    ) -> None:
        assert run_hostile(sandbox, "assert sum([1, 2]) == 3", marker).passed
        failed = run_hostile(sandbox, "assert 1 == 2, 'wrong sum'", marker)
        assert (failed.status, failed.error) == ("failed", "AssertionError: wrong sum")

    def test_cannot_delete_a_canary_outside_its_tmpfs(
        self, sandbox: Sandbox, marker: str, tmp_path: Path
    ) -> None:
        canary = tmp_path / "canary.txt"
        canary.write_text("still here")
        program = f"import os, shutil\nos.remove({str(canary)!r})"
        result = run_hostile(sandbox, program, marker)
        assert result.status == "failed" and "FileNotFoundError" in result.error
        # The system folders are there, but read-only.
        result = run_hostile(sandbox, "open('/usr/evil', 'w')", marker)
        assert "Read-only file system" in result.error
        assert canary.read_text() == "still here"

    def test_cannot_read_a_canary_under_home(self, sandbox: Sandbox, marker: str) -> None:
        secret = uuid.uuid4().hex
        canary = Path.home() / f".takeaways-canary-{marker}"
        canary.write_text(secret)
        try:
            program = f"print(open({str(canary)!r}).read())"
            result = run_hostile(sandbox, program, marker)
        finally:
            canary.unlink()
        assert result.status == "failed" and "FileNotFoundError" in result.error
        assert secret not in result.output

    def test_cannot_connect_to_a_loopback_listener_or_ollama(
        self, sandbox: Sandbox, marker: str, listener: tuple[int, list[object]]
    ) -> None:
        port, accepted = listener
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # the listener is real and reachable from outside the sandbox
        time.sleep(0.3)
        assert len(accepted) == 1
        for target in (port, 11434):
            program = f"import socket\nsocket.create_connection(('127.0.0.1', {target}), 2)"
            result = run_hostile(sandbox, program, marker)
            assert result.status == "failed"
            assert "ConnectionRefusedError" in result.error or "OSError" in result.error
        assert len(accepted) == 1

    def test_a_fork_bomb_is_contained(self, sandbox: Sandbox, marker: str) -> None:
        bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        0"
        assert run_hostile(sandbox, bomb, marker).status == "timeout"
        # The process rlimit holds inside the sandbox (even when the evaluator runs as root).
        counting = (
            "import os, time\n"
            "count = 0\n"
            "for _ in range(200):\n"
            "    try:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(1)\n"
            "            os._exit(0)\n"
            "    except OSError:\n"
            "        break\n"
            "    count += 1\n"
            "print('forked', count)\n"
        )
        forked = int(run_hostile(sandbox, counting, marker).output.split()[-1])
        assert 0 < forked < LIMITS.processes

    def test_allocating_10_gb_fails_with_memory_error(self, sandbox: Sandbox, marker: str) -> None:
        result = run_hostile(sandbox, "block = bytearray(10 * 1024**3)", marker)
        assert (result.status, result.error) == ("failed", "MemoryError")

    def test_writing_10_gb_is_stopped_at_the_file_size_limit(
        self, sandbox: Sandbox, marker: str
    ) -> None:
        program = (
            "chunk = b'x' * (1 << 20)\n"
            "with open('/tmp/work/big', 'wb') as f:\n"
            "    for _ in range(10 * 1024):\n"
            "        f.write(chunk)\n"
        )
        result = run_hostile(sandbox, program, marker)
        assert result.status != "passed"
        assert "File too large" in result.output or result.status == "timeout"

    def test_shared_memory_is_capped_like_tmp(self, sandbox: Sandbox, marker: str) -> None:
        """Many files, each under the file-size limit, still cannot grow /dev/shm past its cap."""
        program = (
            "chunk = b'x' * (1 << 20)\n"
            f"for number in range({2 * LIMITS.shm_bytes >> 20} // 2):\n"
            "    with open(f'/dev/shm/part{number}', 'wb') as f:\n"
            "        f.write(chunk * 2)\n"
        )
        result = run_hostile(sandbox, program, marker)
        assert (result.status, result.error) == (
            "failed",
            "OSError: [Errno 28] No space left on device",
        )

    def test_dev_is_read_only_outside_shared_memory(self, sandbox: Sandbox, marker: str) -> None:
        result = run_hostile(sandbox, "open('/dev/stash', 'wb').write(b'x' * 1024)", marker)
        assert result.status == "failed" and "Read-only file system" in result.error
        assert run_hostile(sandbox, "open('/dev/null', 'wb').write(b'ok')", marker).passed

    def test_an_infinite_loop_times_out(self, sandbox: Sandbox, marker: str) -> None:
        started = time.monotonic()
        result = run_hostile(sandbox, "while True:\n    pass", marker)
        assert result.status == "timeout"
        assert TIMEOUT_S <= time.monotonic() - started < TIMEOUT_S + 3

    def test_a_detached_child_dies_with_the_sample(self, sandbox: Sandbox, marker: str) -> None:
        # Double fork + setsid: the classic way to escape a process group. The grandchild
        # execs `sleep` under the marker's name, so it is findable even after exec.
        program = (
            "import os, time\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            f"        os.execv('/usr/bin/sleep', [{marker!r}, '300'])\n"
            "    os._exit(0)\n"
            "time.sleep(0.5)\n"
        )
        result = run_hostile(sandbox, program, marker)
        assert result.passed  # the sample itself exits cleanly; its child must not survive it
