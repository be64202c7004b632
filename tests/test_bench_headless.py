"""Specification: the benchmarks run on a headless machine with no Secret Service.

The bench runs as a real process whose environment has no session bus, as on a server; it
starts its own throwaway Secret Service for the history's key, never the user's keyring.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


def headless_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"
    env["PYTHONPATH"] = str(REPOSITORY)
    return env


def test_a_bench_daemon_service_opens_its_encrypted_history_headless(tmp_path: Path) -> None:
    """The part of bench/latency.py that died with a keyring traceback, run headless."""
    script = (
        "import sys; sys.path.insert(0, 'bench')\n"
        "from pathlib import Path\n"
        "from bench_keyring import bench_keyring\n"
        "from takeaways_daemon.service import DaemonService\n"
        "from takeaways_daemon.settings import Settings\n"
        "with bench_keyring() as line:\n"
        f"    service = DaemonService(Path({str(tmp_path)!r}), Settings())\n"
        "    print(line, service.status().history.enabled)\n"
        "    service.history.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, env=headless_environment(),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "history on, keys in a throwaway Secret Service True"


@pytest.mark.model
def test_the_latency_bench_runs_headless(use_base_model: Path) -> None:
    """One round of the whole bench on the real model (a few minutes on two busy cores)."""
    done = subprocess.run(
        [sys.executable, "bench/latency.py", "--rounds", "1"], cwd=REPOSITORY,
        env=headless_environment(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "history on, keys in a throwaway Secret Service" in done.stdout
    assert "3. prefill saved by prefix reuse" in done.stdout
