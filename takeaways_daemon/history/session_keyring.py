"""A Secret Service for a headless machine, started once and kept while the daemons need it.

A desktop session has a Secret Service; an ssh login or a container has none, so `make run`
starts one: a private session bus plus gnome-keyring's secrets component, which unlocks (or, on
first use, creates) a login keyring with a passphrase typed at the terminal.

Three promises, each tested:
- The passphrase goes from the terminal into this process and down a pipe to gnome-keyring's
  stdin. It is never in any process's argv or environment.
- The service outlives the terminal UI: its bus address is kept in a 0600 file, so a daemon left
  running, and `takeaways history …` or `apply` from any other shell, reach the same keyring.
- `TAKEAWAYS_HOME` moves the keyring's data too; without it, the user's own login keyring is
  used (`~/.local/share/keyrings`), so a key stored by a desktop session is found again.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon import locations
from takeaways_daemon.errors import TakeawaysError

BUS_VARIABLE = "DBUS_SESSION_BUS_ADDRESS"
START_TIMEOUT_S = 15.0
SERVICE_PROGRAMS = ("dbus-daemon", "gnome-keyring-daemon")


class SessionKeyringError(TakeawaysError):
    """The headless keyring could not be started or unlocked."""

    exit_code = 4


class WrongPassphrase(SessionKeyringError):
    """The passphrase does not unlock the existing login keyring."""


@dataclass(frozen=True)
class SessionKeyring:
    """A running private bus with gnome-keyring on it."""

    address: str
    pids: tuple[int, ...]


def runtime_folder() -> Path:
    """Where the address file lives (0700), beside the daemons' other state."""
    return locations.ensure_private_dir(locations.state_dir() / "keyring-session")


def socket_folder() -> Path:
    """A short private folder for the bus socket and gnome-keyring's control socket.

    Socket paths are limited (dbus refuses ones near 100 bytes, which a state folder deep in a
    home or test tree reaches), so the sockets live in the temp folder, under a name bound to
    this user and this state folder, refused unless it is a real folder of ours and no one else's.
    """
    digest = hashlib.sha256(str(locations.state_dir()).encode()).hexdigest()[:10]
    folder = Path(tempfile.gettempdir()) / f"takeaways-keyring-{os.getuid()}-{digest}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise SessionKeyringError(
            f"{folder} is not a private folder of yours (a link, or another user's); remove it"
        )
    return folder


def data_home() -> Path | None:
    """The XDG data home for the keyring files: under TAKEAWAYS_HOME, else the user's own."""
    home = locations.home_override()
    return home / "keyring" if home else None


def keyring_file() -> Path:
    """The login keyring that gnome-keyring unlocks (created on first use)."""
    base = data_home() or Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "keyrings" / "login.keyring"


def _address_file() -> Path:
    return runtime_folder() / "bus"


# A session bus without service activation. The stock session config lets a call to
# org.freedesktop.secrets start /usr/bin/gnome-keyring-daemon by itself; when that happened
# before ours claimed the name, the activated daemon (which never got the passphrase) won and
# its login collection was missing or locked: about one start in five failed ("Prompt
# dismissed", "wrong passphrase"), and the activated daemons stayed behind.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def bus_command(folder: Path, socket: Path) -> list[str]:
    """The dbus-daemon command for a private bus at `socket`, its config written in `folder`."""
    config = folder / "bus.conf"
    config.write_text(BUS_CONFIG, encoding="utf-8")
    return [
        "dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile",
        "--print-address=1", f"--address=unix:path={socket}",
    ]  # fmt: skip


def service_answers(address: str) -> bool:
    """Whether a Secret Service answers on the bus at `address`."""
    from jeepney.io.blocking import open_dbus_connection
    from secretstorage import check_service_availability

    try:
        connection = open_dbus_connection(address)
    except (OSError, ValueError):
        return False
    try:
        return bool(check_service_availability(connection))
    finally:
        connection.close()


def _login_unlocked(address: str) -> bool:
    from jeepney.io.blocking import open_dbus_connection
    from secretstorage import get_default_collection

    connection = open_dbus_connection(address)
    try:
        return not get_default_collection(connection).is_locked()
    finally:
        connection.close()


def running() -> SessionKeyring | None:
    """The keyring an earlier `ensure` started, if it still answers and is unlocked."""
    try:
        lines = _address_file().read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    if not lines or not service_answers(lines[0]):
        return None
    if not _login_unlocked(lines[0]):
        return None
    return SessionKeyring(lines[0], tuple(int(pid) for pid in lines[1:] if pid.isdigit()))


def start(passphrase: bytes) -> SessionKeyring:
    """Start the bus and gnome-keyring, unlocking the login keyring with `passphrase`."""
    for tool in SERVICE_PROGRAMS:
        if shutil.which(tool) is None:
            raise SessionKeyringError(
                f"{tool} is not installed; `sudo apt-get install dbus gnome-keyring`"
            )
    folder = socket_folder()
    stop()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path.home())}
    env["XDG_RUNTIME_DIR"] = str(folder)
    custom_data = data_home()
    if custom_data is not None:
        locations.ensure_private_dir(custom_data)
        env["XDG_DATA_HOME"] = str(custom_data)
    # Own sessions: the services must outlive the terminal (and the TUI) that started them.
    bus = subprocess.Popen(
        bus_command(folder, folder / "bus.socket"),
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, start_new_session=True,
    )  # fmt: skip
    assert bus.stdout is not None
    address = bus.stdout.readline().decode().strip()
    bus.stdout.close()
    if not address:
        _terminate([bus.pid])
        raise SessionKeyringError("dbus-daemon printed no address")
    keyring = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**env, BUS_VARIABLE: address}, start_new_session=True,
    )  # fmt: skip
    pids = [bus.pid, keyring.pid]
    assert keyring.stdin is not None
    keyring.stdin.write(passphrase)
    keyring.stdin.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not service_answers(address):
        if keyring.poll() is not None or time.monotonic() > deadline:
            _terminate(pids)
            raise SessionKeyringError(
                f"gnome-keyring-daemon did not start within {START_TIMEOUT_S:.0f} s"
            )
        time.sleep(0.05)
    if not _login_unlocked(address):
        _terminate(pids)
        raise WrongPassphrase(
            f"wrong passphrase for the login keyring {keyring_file()}; run again and retype it"
        )
    record = _address_file()
    record.write_text("\n".join([address, *map(str, pids)]) + "\n", encoding="utf-8")
    record.chmod(0o600)
    return SessionKeyring(address, tuple(pids))


def _ours(pid: int) -> bool:
    # A recorded pid may have been reused since (after a reboot, say): only signal our services.
    try:
        program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return False
    return Path(program.decode(errors="replace")).name in SERVICE_PROGRAMS


def _terminate(pids: list[int] | tuple[int, ...]) -> None:
    for pid in reversed(pids):
        if _ours(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
    for pid in pids:
        # Our own children are reaped here; ones an earlier run started are not ours to wait for.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def stop() -> bool:
    """Stop a keyring an earlier `start` left running; False if none was recorded."""
    record = _address_file()
    try:
        lines = record.read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    _terminate(tuple(int(pid) for pid in lines[1:] if pid.isdigit()))
    record.unlink(missing_ok=True)
    return True


def adopt() -> str | None:
    """Point this process at the session keyring when no other Secret Service is configured.

    Called by the CLI and the TUI at start, so commands typed in another shell reach the
    keyring that `make run` started. A session bus already set (a desktop) always wins.
    """
    if os.environ.get(BUS_VARIABLE):
        return None
    session = running()
    if session is None:
        return None
    os.environ[BUS_VARIABLE] = session.address
    return session.address


def read_passphrase(first_use: bool, prompt: str = "Login keyring passphrase: ") -> bytes:
    """Ask at the terminal; on first use ask twice, so a typo does not become the passphrase."""
    while True:
        first = getpass.getpass(prompt)
        if not first:
            print("The passphrase may not be empty.", file=sys.stderr)
            continue
        if not first_use:
            return first.encode()
        if getpass.getpass("Type it again: ") == first:
            return first.encode()
        print("The two passphrases differ; try again.", file=sys.stderr)


def ensure() -> SessionKeyring:
    """The running session keyring, or a new one unlocked with a passphrase typed now."""
    session = running()
    if session is not None:
        return session
    first_use = not keyring_file().exists()
    if first_use:
        print(
            f"Creating a login keyring in {keyring_file().parent}: choose its passphrase.",
            file=sys.stderr,
        )
    return start(read_passphrase(first_use))


def main(argv: list[str] | None = None) -> int:
    """`python -m takeaways_daemon.history.session_keyring ensure|stop|status`."""
    command = (argv if argv is not None else sys.argv[1:]) or ["status"]
    try:
        if command[0] == "ensure":
            # The only stdout line, for `eval` in scripts/run.sh; everything else goes to stderr.
            print(f"export {BUS_VARIABLE}={shlex.quote(ensure().address)}")
        elif command[0] == "stop":
            print("stopped" if stop() else "no session keyring was running", file=sys.stderr)
        elif command[0] == "status":
            session = running()
            print(f"running on {session.address}" if session else "not running", file=sys.stderr)
            return 0 if session else 1
        else:
            print(f"unknown command {command[0]!r}; use ensure, stop or status", file=sys.stderr)
            return 2
    except SessionKeyringError as error:
        print(f"takeaways: {error}", file=sys.stderr)
        return 3 if isinstance(error, WrongPassphrase) else error.exit_code
    except (KeyboardInterrupt, EOFError):
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
