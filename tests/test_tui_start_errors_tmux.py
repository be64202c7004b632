"""What must not hide or scribble over the TUI: the daemon's start-up error (shown at 80x24
until it is resolved) and other programs' stderr.

Real failures, not simulated ones: history on with no usable keyring, and a passphrase key file
opened with the wrong passphrase. The TUI starts the real daemon, which exits with its error;
the panel shows that error (with the fix it names), and the TUI exits non-zero on `q` so that
`make run` does too.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from takeaways_daemon.history.data_key import PASSPHRASE_VARIABLE
from tests.scripted_terminal import (
    REPO,
    install_scripted,
    pane_environment,
    tui_in_tmux,
    write_config,
)
from tests.tmux_pane import TmuxPane
from tui.terminal_guard import stray_output_log

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def site(tmp_path: Path) -> Path:
    # The scripted model: no model loads, the failure is the keyring's alone.
    write_config({"backend": {"prefer": ["scripted"]}, "backend.scripted": {"reply": "-"}})
    return install_scripted(tmp_path / "site")


def _panel_then_quit(tmp_path: Path, project: Path, environment: dict[str, str]) -> str:
    """The screen once the panel shows; then `q`, and the exit line."""
    with tui_in_tmux(tmp_path, project, environment, size=(80, 24)) as pane:
        shown = pane.wait_for(lambda shown: "The daemon could not start" in shown, timeout=60)
        assert "✖ the daemon could not start" in shown  # the status bar agrees
        assert "disconnected, retrying" not in shown
        pane.keys("q")
        exited = pane.wait_for(lambda screen: "tui exited" in screen, timeout=20)
    return shown + "\n" + exited


def test_no_keyring_shows_the_daemons_error_and_its_fixes(
    tmp_path: Path, project: Path, site: Path
) -> None:
    environment = pane_environment(site, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    environment.pop("DBUS_SESSION_BUS_ADDRESS", None)
    shown = _panel_then_quit(tmp_path, project, environment)
    assert "keyring" in shown.lower()
    assert "fixes:" in shown  # the daemon's own fix list, not generic advice
    assert "tui exited 1" in shown


def test_a_wrong_passphrase_says_wrong_passphrase(
    tmp_path: Path, project: Path, site: Path
) -> None:
    key_file = {"TAKEAWAYS_HISTORY__KEY_SOURCE": "passphrase-file"}
    right = pane_environment(site, **key_file, **{PASSPHRASE_VARIABLE: "right horse battery"})
    # First use, with the right passphrase: the key file is made.
    for verb in ("start", "stop"):
        subprocess.run(
            [sys.executable, "-m", "takeaways_daemon", verb, str(project)],
            env={**os.environ, **right}, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    wrong = {**right, PASSPHRASE_VARIABLE: "wrong staple"}
    shown = _panel_then_quit(tmp_path, project, wrong)
    assert "wrong passphrase" in shown
    assert "tui exited 1" in shown


STRAY_WRITER = """
import os, sys, threading, time

def _warn():
    time.sleep(2)
    os.write(2, b"(gcr-prompter:4711): Gcr-WARNING **: stray warning from a library\\n")

if sys.argv and sys.argv[0].endswith("takeaways-tui"):
    threading.Thread(target=_warn, daemon=True).start()
"""


def test_warnings_written_to_stderr_are_never_drawn_over_the_tui(
    tmp_path: Path, project: Path, site: Path
) -> None:
    """A library in the TUI's process writes to fd 2 (as gcr and dbus do): it lands in
    `tui-stderr.log`, not on the screen."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(STRAY_WRITER)
    environment = pane_environment(site)
    environment["PYTHONPATH"] = os.pathsep.join([str(hooks), environment["PYTHONPATH"]])
    with tui_in_tmux(tmp_path, project, environment, size=(80, 24)) as pane:
        pane.wait_for(lambda shown: "● connected" in shown, timeout=60)
        log = stray_output_log(project)
        deadline = time.monotonic() + 10
        while "stray warning" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "the warning never reached the log"
            time.sleep(0.2)
        time.sleep(0.5)
        assert "stray warning" not in pane.screen()
        assert "● connected" in pane.screen()


def test_make_runs_script_exits_non_zero_when_the_tui_could_not_start_a_daemon(
    tmp_path: Path, project: Path, site: Path
) -> None:
    """`scripts/run.sh` (what `make run` runs) with a Secret Service at hand and a wrong
    history passphrase: the panel shows, `q` leaves, and the script's status is not 0."""
    key_file = {"TAKEAWAYS_HISTORY__KEY_SOURCE": "passphrase-file"}
    right = pane_environment(site, **key_file, **{PASSPHRASE_VARIABLE: "right horse battery"})
    for verb in ("start", "stop"):
        subprocess.run(
            [sys.executable, "-m", "takeaways_daemon", verb, str(project)],
            env={**os.environ, **right}, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    wrong = {**right, PASSPHRASE_VARIABLE: "wrong staple"}
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in wrong.items())
    script = shlex.quote(str(REPO / "scripts" / "run.sh"))
    pane = TmuxPane(tmp_path / "tmux.sock", "run")
    pane.start(f"env -i {assignments} {script} {shlex.quote(str(project))}; echo run.sh exited $?; "
               "sleep 600", width=80, height=24)  # fmt: skip
    try:
        pane.wait_for(lambda shown: "wrong passphrase" in shown, timeout=60)
        pane.keys("q")
        shown = pane.wait_for(lambda shown: "run.sh exited" in shown, timeout=20)
    finally:
        pane.kill_server()
    assert "run.sh exited 1" in shown
    assert "run: takeaways-tui exited with status 1" in shown
