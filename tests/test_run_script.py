"""`make run`'s script on a headless machine, in a real terminal (tmux), as a person types.

No Secret Service runs (the test session's bus address is withheld), so the script starts the
headless keyring and asks for a passphrase: twice on first use. While the TUI runs, the test
reads every process's argv and environment for the passphrase. After the TUI quits and leaves
its daemon running, `takeaways history` typed in another shell still reaches the keyring.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from takeaways_daemon.history import session_keyring
from takeaways_daemon.runtime_files import ProjectFiles

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
REPO = Path(__file__).resolve().parents[1]
PASSPHRASE = "planted-Passphrase-4711"
CLI = Path(sys.executable).with_name("takeaways")


class Pane:
    """One tmux pane on a private server."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "run")

    def wait_for(self, condition: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if condition(shown):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"not on screen within {timeout} s:\n{shown}")
            time.sleep(0.25)

    def type_line(self, text: str) -> None:
        self.tmux("send-keys", "-t", "run", "-l", text)
        self.tmux("send-keys", "-t", "run", "Enter")


def _processes_holding(secret: bytes) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        for part in ("cmdline", "environ"):
            try:
                if secret in (proc / part).read_bytes():
                    found.append(f"{proc.name}/{part}")
            except OSError:
                continue
    return found


@pytest.fixture
def project(tmp_path: Path, use_base_model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("demo\n")
    monkeypatch.setenv("TAKEAWAYS_TASKS__ENABLED", '["fix"]')
    monkeypatch.delenv(session_keyring.BUS_VARIABLE, raising=False)
    return root


@pytest.fixture
def pane(tmp_path: Path, project: Path) -> Iterator[Pane]:
    # Only what a user's shell would have: no bus address, so no Secret Service is reachable.
    passed = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(("TAKEAWAYS_", "PYTHON")) or name in ("PATH", "HOME")
    }
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in passed.items())
    script = shlex.quote(str(REPO / "scripts" / "run.sh"))
    run = f"env -i {assignments} {script} {shlex.quote(str(project))}"
    command = f"{run}; echo run.sh exited $?; sleep 600"
    pane = Pane(tmp_path / "tmux.sock")
    pane.tmux("new-session", "-d", "-s", "run", "-x", "120", "-y", "40", command)
    try:
        yield pane
    finally:
        subprocess.run(["tmux", "-S", str(pane.socket), "kill-server"], capture_output=True)
        if ProjectFiles(project).is_locked():
            subprocess.run(
                [sys.executable, "-m", "takeaways_daemon", "stop", str(project)],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        session_keyring.stop()


def test_run_script_keeps_the_passphrase_out_of_every_process_and_the_keyring_outlives_the_tui(
    project: Path, pane: Pane
) -> None:
    shown = pane.wait_for(lambda shown: "Login keyring passphrase:" in shown, timeout=60)
    assert "Creating a login keyring" in shown  # first use: it will ask twice
    pane.type_line(PASSPHRASE)
    pane.wait_for(lambda shown: "Type it again:" in shown, timeout=10)
    pane.type_line(PASSPHRASE)
    pane.wait_for(lambda shown: "● connected" in shown, timeout=120)
    assert _processes_holding(PASSPHRASE.encode()) == []

    # Quit, keeping the daemon: it keeps the keyring, and so does a command in another shell.
    pane.tmux("send-keys", "-t", "run", "q")
    pane.wait_for(lambda shown: "Stop it as well?" in shown, timeout=10)
    pane.tmux("send-keys", "-t", "run", "n")
    deadline = time.monotonic() + 30
    while (
        "takeaways-tui"
        in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    ):
        assert time.monotonic() < deadline, pane.screen()
        time.sleep(0.25)
    assert ProjectFiles(project).is_locked(), "the daemon should still run"
    shell = {
        name: value for name, value in os.environ.items() if name != "DBUS_SESSION_BUS_ADDRESS"
    }
    listed = subprocess.run(
        [str(CLI), "history", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=shell,
    )
    assert listed.returncode == 0, listed.stderr
    assert _processes_holding(PASSPHRASE.encode()) == []
