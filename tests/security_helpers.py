"""A real daemon process for the security tests, started and stopped with the real CLI.

The model side is an Ollama at a closed port (see conftest), so no model loads: these tests are
about what the daemon does with hostile files and connections, not about answers.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord

ADDRESS_SPACE_LIMIT = 3 << 30
"""Virtual memory a test daemon may map: a regression that reads without limit fails fast
(MemoryError) instead of taking the machine's RAM."""


def takeaways(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process (whose children inherit the memory limit)."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))

    return subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})}, preexec_fn=limit_memory,
    )  # fmt: skip


@contextmanager
def running_daemon(project: Path, **env: str) -> Iterator[RuntimeRecord]:
    """A daemon serving `project` (history off unless `env` turns it on); stopped at the end."""
    variables = {
        "TAKEAWAYS_HISTORY__ENABLED": "false",
        "TAKEAWAYS_WATCHER__DEBOUNCE_MS": "50",
        "TAKEAWAYS_BACKEND__PREFER": "ollama",  # at a closed port: no model ever loads
    }
    variables.update(env)
    started = takeaways("start", str(project), env=variables)
    assert started.returncode == 0, started.stderr + started.stdout
    try:
        yield ProjectFiles(project).read_runtime()
    finally:
        takeaways("stop", str(project))


def peak_rss_mb(pid: int) -> float:
    """The highest resident memory the process has had, in MiB (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")
