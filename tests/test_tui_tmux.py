"""`takeaways-tui` in a real terminal, the way a person uses it: tmux runs the installed console
script on a temp project, the test types keys and reads the screen with `capture-pane`.

Real everything: the script starts a real daemon (real inotify, the real packaged model), and
the file on disk is what the test checks. A private tmux server (`-S` socket, no config file)
keeps the developer's own tmux untouched.
"""

from __future__ import annotations

import ast
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from takeaways_daemon.runtime_files import ProjectFiles
from tests.tmux_pane import TmuxPane, process_alive

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
BROKEN = "def add(a, b)\n    return a + b\n\n\nprint(add(1, 2))\n"
TUI = Path(sys.executable).with_name("takeaways-tui")


@pytest.fixture
def project(tmp_path: Path, use_base_model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("demo\n")
    monkeypatch.setenv("TAKEAWAYS_SAMPLING__SEED", "7")
    monkeypatch.setenv("TAKEAWAYS_WATCHER__DEBOUNCE_MS", "100")
    monkeypatch.setenv("TAKEAWAYS_TASKS__ENABLED", '["fix"]')
    return root


@pytest.fixture
def shell_prefix() -> str:
    """Shell words run before the TUI is exec'd (a test may parametrize this)."""
    return ""


@pytest.fixture
def terminal(tmp_path: Path, project: Path, shell_prefix: str) -> Iterator[TmuxPane]:
    # tmux gives the pane the server's environment, not ours: pass what the daemon needs.
    passed = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(("TAKEAWAYS_", "DBUS_", "PYTHON_KEYRING"))
    }
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in passed.items())
    tui = f"{shlex.quote(str(TUI))} {shlex.quote(str(project))}"
    command = f"{shell_prefix}exec env {assignments} {tui}"
    terminal = TmuxPane(tmp_path / "tmux.sock", "tui")
    terminal.start(command)
    try:
        yield terminal
    finally:
        terminal.kill_server()
        if ProjectFiles(project).is_locked():
            subprocess.run(
                [sys.executable, "-m", "takeaways_daemon", "stop", str(project)],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip


def test_a_person_sees_a_suggestion_in_tmux_accepts_it_and_quits(
    project: Path, terminal: TmuxPane
) -> None:
    """Start → connected → save a syntax error → a fix row → `a` → the file is fixed → `q`, `y`."""
    terminal.wait_for(lambda shown: "● connected" in shown, timeout=90)
    (project / "calc.py").write_text(BROKEN)
    shown = terminal.wait_for(lambda shown: "calc.py:1 " in shown, timeout=180)
    assert "fix" in shown
    terminal.keys("a")
    deadline = time.monotonic() + 30
    while (project / "calc.py").read_text() == BROKEN:
        assert time.monotonic() < deadline, terminal.screen()
        time.sleep(0.25)
    fixed = (project / "calc.py").read_text()
    ast.parse(fixed)
    terminal.wait_for(lambda shown: "No suggestions yet" in shown, timeout=10)
    # The TUI started this daemon, so quitting asks whether to stop it too.
    terminal.keys("q")
    terminal.wait_for(lambda shown: "Stop it as well?" in shown, timeout=10)
    terminal.keys("y")
    deadline = time.monotonic() + 30
    while ProjectFiles(project).is_locked():
        assert time.monotonic() < deadline, "the daemon the TUI started was not stopped"
        time.sleep(0.25)


@pytest.mark.parametrize("shell_prefix", ["", "trap '' HUP; "], ids=["sighup", "sighup-ignored"])
def test_the_tui_exits_when_its_terminal_goes_away(project: Path, terminal: TmuxPane) -> None:
    """A killed terminal (here: the whole tmux server) ends the TUI; it must not spin on EOF.

    Started with SIGHUP ignored (as under nohup or some session wrappers), the TUI used to
    live on at ~90% of a core, Textual's input thread looping on the dead terminal's EOF.
    """
    terminal.wait_for(lambda shown: "● connected" in shown, timeout=90)
    pid = int(terminal.tmux("display-message", "-p", "-t", "tui", "#{pane_pid}"))
    assert Path(f"/proc/{pid}/cmdline").read_bytes().find(b"takeaways-tui") >= 0
    subprocess.run(["tmux", "-S", str(terminal.socket), "kill-server"], check=True)
    deadline = time.monotonic() + 15
    try:
        while process_alive(pid):
            assert time.monotonic() < deadline, f"takeaways-tui (pid {pid}) outlived its terminal"
            time.sleep(0.2)
    finally:
        if process_alive(pid):  # do not leave a spinning process behind a failed run
            os.kill(pid, signal.SIGKILL)
