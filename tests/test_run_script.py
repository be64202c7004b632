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
from collections.abc import Iterator
from pathlib import Path

import pytest

from takeaways_daemon.history import session_keyring
from takeaways_daemon.runtime_files import ProjectFiles
from tests.tmux_pane import TmuxPane

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
REPO = Path(__file__).resolve().parents[1]
PASSPHRASE = "planted-Passphrase-4711"
CLI = Path(sys.executable).with_name("takeaways")


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
def pane(tmp_path: Path, project: Path) -> Iterator[TmuxPane]:
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
    pane = TmuxPane(tmp_path / "tmux.sock", "run")
    pane.start(command)
    try:
        yield pane
    finally:
        pane.kill_server()
        if ProjectFiles(project).is_locked():
            subprocess.run(
                [sys.executable, "-m", "takeaways_daemon", "stop", str(project)],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        session_keyring.stop()


def test_run_script_keeps_the_passphrase_out_of_every_process_and_the_keyring_outlives_the_tui(
    project: Path, pane: TmuxPane
) -> None:
    shown = pane.wait_for(lambda shown: "Login keyring passphrase:" in shown, timeout=60)
    assert "Creating a login keyring" in shown  # first use: it will ask twice
    pane.type_line(PASSPHRASE)
    pane.wait_for(lambda shown: "Type it again:" in shown, timeout=10)
    pane.type_line(PASSPHRASE)
    pane.wait_for(lambda shown: "● connected" in shown, timeout=120)
    assert _processes_holding(PASSPHRASE.encode()) == []

    # Quit, keeping the daemon: it keeps the keyring, and so does a command in another shell.
    pane.keys("q")
    pane.wait_for(lambda shown: "Stop it as well?" in shown, timeout=10)
    pane.keys("n")
    pane.wait_for(lambda shown: "run.sh exited 0" in shown, timeout=30)
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
