"""How the TUI starts its daemon: through the lifecycle module, never holding up a quit."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from takeaways_daemon.lifecycle import DaemonStartCancelled
from tui.daemon_link import DaemonLink


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
        _end_daemons_serving(root)


def _end_daemons_serving(root: Path) -> None:
    """SIGTERM any daemon the cut-short start had already spawned, and wait for it to exit.

    `takeaways start` was killed ~0.2 s in: a daemon it spawned before that already shows in
    /proc, and none can appear later. Waiting for its lock instead would miss a daemon that is
    slow to import on a loaded machine, and leave it running.
    """
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in arguments and str(root).encode() in arguments:
            pids.append(int(cmdline.parent.name))
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        if time.monotonic() > deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
