"""How the TUI starts its daemon: the real `takeaways start`, never holding up a quit."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from takeaways_daemon.runtime_files import ProjectFiles
from tui.daemon_link import DaemonLink, DaemonStartCancelled


def test_quitting_while_the_daemon_starts_cuts_the_wait_short(tmp_path: Path) -> None:
    """`start` polls its `cancelled` callback: the TUI's worker ends within moments of a quit."""
    root = tmp_path / "project"
    root.mkdir()
    quit_pressed = threading.Event()
    threading.Timer(0.2, quit_pressed.set).start()
    started = time.monotonic()
    try:
        with pytest.raises(DaemonStartCancelled):
            DaemonLink(root).start(cancelled=quit_pressed.is_set)
        assert time.monotonic() - started < 2.0
    finally:
        # The daemon runs in its own session: if it got going, it is still starting. Stop it.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not ProjectFiles(root).is_locked():
            time.sleep(0.2)
        if ProjectFiles(root).is_locked():
            subprocess.run(
                [sys.executable, "-m", "takeaways_daemon", "stop", str(root)],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
