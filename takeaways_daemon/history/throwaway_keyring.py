"""A private, throwaway Secret Service (dbus-daemon + gnome-keyring) for tests and benchmarks.

It runs on its own session bus with its own data folder, so nothing touches the user's real
keyring, and works headless and as root (Debian packages `dbus` and `gnome-keyring`). The login
collection is created and unlocked with a known password fed on stdin: nothing ever prompts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from takeaways_daemon.history.session_keyring import bus_command

UNLOCK_PASSWORD = b"takeaways-throwaway-keyring"


class SecretServiceStartError(RuntimeError):
    """The throwaway Secret Service could not be started."""


@dataclass
class ThrowawaySecretService:
    """A running private session bus with gnome-keyring's secrets component on it."""

    address: str
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        """Stop gnome-keyring and the bus (in that order) and remove the folder."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _service_ready(address: str) -> bool:
    from jeepney.io.blocking import open_dbus_connection
    from secretstorage import check_service_availability

    try:
        connection = open_dbus_connection(address)
    except OSError:
        return False
    try:
        return bool(check_service_availability(connection))
    finally:
        connection.close()


def start_throwaway_secret_service(timeout_s: float = 15.0) -> ThrowawaySecretService:
    """Start the bus and gnome-keyring; return once the Secret Service answers."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            raise SecretServiceStartError(
                f"{tool} is not installed; `apt-get install dbus gnome-keyring`"
            )
    folder = Path(tempfile.mkdtemp(prefix="takeaways-keyring-"))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_RUNTIME_DIR": str(folder / "run"),
        "XDG_CONFIG_HOME": str(folder / "config"),
    }
    for name in ("data", "run", "config"):
        (folder / name).mkdir(mode=0o700)
    service = ThrowawaySecretService(address="", folder=folder)
    try:
        bus = subprocess.Popen(
            bus_command(folder / "run", folder / "run" / "bus"),
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env,
        )  # fmt: skip
        service.processes.append(bus)
        assert bus.stdout is not None
        service.address = bus.stdout.readline().decode().strip()
        if not service.address:
            raise SecretServiceStartError("dbus-daemon printed no address")
        keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**env, "DBUS_SESSION_BUS_ADDRESS": service.address},
        )  # fmt: skip
        service.processes.append(keyring)
        assert keyring.stdin is not None
        keyring.stdin.write(UNLOCK_PASSWORD)
        keyring.stdin.close()
        deadline = time.monotonic() + timeout_s
        while not _service_ready(service.address):
            if keyring.poll() is not None or time.monotonic() > deadline:
                raise SecretServiceStartError(
                    f"gnome-keyring-daemon did not offer the Secret Service within {timeout_s} s"
                )
            time.sleep(0.05)
    except BaseException:
        service.stop()
        raise
    return service
