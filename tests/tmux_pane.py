"""A tmux pane on a private server, driven the way a person uses a terminal (test helper)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class TmuxPane:
    """One tmux session on a private server (`-S` socket, no config file): the developer's own
    tmux is never touched."""

    def __init__(self, socket: Path, session: str) -> None:
        self.socket = socket
        self.session = session

    def tmux(self, *args: str) -> str:
        """Run a tmux command against this server; its stdout."""
        result = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        return result.stdout

    def start(self, command: str, width: int = 120, height: int = 40) -> None:
        """Open the session running `command` (a shell command line)."""
        self.tmux("new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height),
                  command)  # fmt: skip

    def screen(self) -> str:
        """What the pane shows now."""
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        """Press keys (tmux key names such as `q`, `Enter`)."""
        self.tmux("send-keys", "-t", self.session, *keys)

    def type_line(self, text: str) -> None:
        """Type `text` literally, then Enter."""
        self.tmux("send-keys", "-t", self.session, "-l", text)
        self.keys("Enter")

    def wait_for(self, condition: Callable[[str], bool], timeout: float) -> str:
        """The screen, once `condition` holds for it; AssertionError with the screen otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if condition(shown):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"not on screen within {timeout} s:\n{shown}")
            time.sleep(0.25)

    def kill_server(self) -> None:
        """End the server and everything in it, as closing a terminal window does."""
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True)


def process_alive(pid: int) -> bool:
    """Running, and not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
