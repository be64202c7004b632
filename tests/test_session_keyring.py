"""The headless keyring that `make run` starts: real dbus-daemon and gnome-keyring processes.

Each test has its own TAKEAWAYS_HOME, so the keyring's data and sockets are its own; the
session-wide throwaway keyring of conftest is hidden from the code under test by unsetting
DBUS_SESSION_BUS_ADDRESS.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from takeaways_daemon.history import session_keyring
from takeaways_daemon.history.data_key import KeyringKeyStore
from tests.tmux_pane import process_alive

pytestmark = pytest.mark.skipif(
    shutil.which("gnome-keyring-daemon") is None, reason="gnome-keyring is not installed"
)
PASSPHRASE = b"correct horse battery"


@pytest.fixture
def no_session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(session_keyring.BUS_VARIABLE, raising=False)
    yield
    session_keyring.stop()


def _secrets(address: str, monkeypatch: pytest.MonkeyPatch) -> KeyringKeyStore:
    monkeypatch.setenv(session_keyring.BUS_VARIABLE, address)
    return KeyringKeyStore("takeaways-test")


def test_the_keyring_lives_under_takeaways_home_and_keeps_secrets_across_restarts(
    isolated_home: Path,
    no_session_bus: None,
    private_keyring: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not session_keyring.keyring_file().exists()
    first = session_keyring.start(PASSPHRASE)
    assert session_keyring.keyring_file().is_relative_to(isolated_home)
    _secrets(first.address, monkeypatch).put("data-key", b"\x01\x02secret")
    assert session_keyring.keyring_file().is_file()
    record = session_keyring.runtime_folder() / "bus"
    assert record.stat().st_mode & 0o777 == 0o600
    assert session_keyring.stop()
    assert not any(process_alive(pid) for pid in first.pids)

    second = session_keyring.start(PASSPHRASE)
    assert _secrets(second.address, monkeypatch).get("data-key") == b"\x01\x02secret"
    # It went to this keyring, not to the test session's own.
    assert _secrets(private_keyring, monkeypatch).get("data-key") is None


def test_a_wrong_passphrase_is_named_and_leaves_nothing_running(
    isolated_home: Path, no_session_bus: None
) -> None:
    session_keyring.start(PASSPHRASE)
    session_keyring.stop()
    with pytest.raises(session_keyring.WrongPassphrase, match="wrong passphrase"):
        session_keyring.start(b"not the passphrase")
    assert session_keyring.running() is None
    for line in os.popen("ps -eo pid,args").read().splitlines():
        assert str(session_keyring.socket_folder()) not in line


def test_running_keyring_is_reused_and_adopted_only_without_a_session_bus(
    isolated_home: Path, no_session_bus: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = session_keyring.start(PASSPHRASE)
    assert session_keyring.running() == started
    # ensure() must not prompt when one runs: a prompt here would fail on pytest's stdin.
    assert session_keyring.ensure() == started
    assert session_keyring.adopt() == started.address
    assert os.environ[session_keyring.BUS_VARIABLE] == started.address
    monkeypatch.setenv(session_keyring.BUS_VARIABLE, "unix:path=/desktop/bus")
    assert session_keyring.adopt() is None
    assert os.environ[session_keyring.BUS_VARIABLE] == "unix:path=/desktop/bus"


def test_a_recorded_pid_that_is_not_our_service_is_never_signalled(
    isolated_home: Path, no_session_bus: None
) -> None:
    record = session_keyring.runtime_folder() / "bus"
    record.write_text(f"unix:path=/nowhere\n{os.getpid()}\n")
    assert session_keyring.stop()
    assert process_alive(os.getpid())


def test_a_planted_link_in_place_of_the_socket_folder_is_refused(
    isolated_home: Path, no_session_bus: None, tmp_path: Path
) -> None:
    folder = session_keyring.socket_folder()
    folder.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder.symlink_to(elsewhere)
    try:
        with pytest.raises(session_keyring.SessionKeyringError, match="not a private folder"):
            session_keyring.start(PASSPHRASE)
        assert list(elsewhere.iterdir()) == []
    finally:
        folder.unlink()
