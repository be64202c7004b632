"""Specification of the history's keys: kept in the real (throwaway) OS keyring, refused when
wrong or missing without touching the file, rotated in one transaction, an opt-in passphrase
file, and clear errors instead of plain text or hangs when no keyring can be used."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import keyring.backend
import pytest
from history_helpers import PLANTED, database_bytes, keyring_keys, make_record
from keyring.backends import fail

from takeaways_daemon.history import maintenance
from takeaways_daemon.history.data_key import (
    PASSPHRASE_VARIABLE,
    KeyringKeyStore,
    PassphraseFileKeyStore,
    data_key_name,
    passphrase_from_environment_or_tty,
)
from takeaways_daemon.history.errors import (
    KeyMissing,
    KeyringUnavailable,
    PassphraseUnavailable,
    TamperedRecord,
    WrongKey,
)
from takeaways_daemon.history.record_cipher import new_data_key
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.history.throwaway_keyring import start_throwaway_secret_service


def filled_store(path: Path, keys: KeyringKeyStore, rows: int = 5) -> None:
    with HistoryStore(path, keys) as store:
        for number in range(rows):
            store.append(make_record(number))


class TestKeyring:
    def test_first_use_creates_a_256_bit_key_in_the_keyring(self, tmp_path: Path) -> None:
        keys = keyring_keys()
        with HistoryStore(tmp_path / "h.sqlite3", keys) as store:
            name = data_key_name(store.store_id, store.key_id)
        import keyring

        stored = keyring.get_password(keys.service, name)
        assert stored is not None
        assert len(keys.get(name) or b"") == 32

    def test_a_wrong_key_is_refused_and_the_file_is_untouched(self, tmp_path: Path) -> None:
        path, keys = tmp_path / "h.sqlite3", keyring_keys()
        filled_store(path, keys)
        with HistoryStore(path, keys) as store:
            name = data_key_name(store.store_id, store.key_id)
        before = database_bytes(path)
        keys.put(name, new_data_key())
        with pytest.raises(WrongKey, match="does not open the history"):
            HistoryStore(path, keys)
        assert database_bytes(path) == before

    def test_a_deleted_key_is_refused_and_never_silently_replaced(self, tmp_path: Path) -> None:
        path, keys = tmp_path / "h.sqlite3", keyring_keys()
        filled_store(path, keys)
        with HistoryStore(path, keys) as store:
            name = data_key_name(store.store_id, store.key_id)
        before = database_bytes(path)
        keys.delete(name)
        with pytest.raises(KeyMissing, match="missing from the OS keyring"):
            HistoryStore(path, keys)
        assert database_bytes(path) == before
        assert keys.get(name) is None

    def test_a_locked_keyring_is_a_clear_error_not_a_prompt(self, tmp_path: Path) -> None:
        """A second throwaway Secret Service, so locking it leaves the session's one alone."""
        import secretstorage
        from jeepney.io.blocking import open_dbus_connection

        service = start_throwaway_secret_service()
        try:
            connection = open_dbus_connection(service.address)
            secretstorage.get_default_collection(connection).lock()
            backend = _secret_service_backend_on(service.address)
            keys = KeyringKeyStore("takeaways-locked", backend=backend, timeout_s=3)
            started = time.monotonic()
            with pytest.raises(KeyringUnavailable, match="passphrase-file"):
                HistoryStore(tmp_path / "h.sqlite3", keys)
            assert time.monotonic() - started < 5
            assert not (tmp_path / "h.sqlite3").exists()
            connection.close()
        finally:
            service.stop()


def _secret_service_backend_on(address: str) -> keyring.backend.KeyringBackend:
    import os

    from keyring.backends import SecretService

    os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
    return SecretService.Keyring()


@pytest.fixture(autouse=True)
def restore_bus(private_keyring: str):  # type: ignore[no-untyped-def]
    """Tests that point at another bus put the session's back."""
    import os

    yield
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = private_keyring


class TestNoKeyring:
    def test_no_backend_is_a_clear_error_naming_the_fixes_and_writes_nothing(
        self, tmp_path: Path
    ) -> None:
        keys = KeyringKeyStore("takeaways", backend=fail.Keyring())
        started = time.monotonic()
        with pytest.raises(KeyringUnavailable) as raised:
            HistoryStore(tmp_path / "h.sqlite3", keys)
        assert time.monotonic() - started < 5
        message = str(raised.value)
        assert "Secret Service" in message and "passphrase-file" in message
        assert "history.enabled = false" in message
        assert list(tmp_path.iterdir()) == []

    def test_a_keyring_that_never_answers_times_out(self, tmp_path: Path) -> None:
        """A fake backend that blocks forever: the real case (a locked keyring waiting on a
        desktop unlock prompt) needs a display this machine does not have."""

        class PromptForever(keyring.backend.KeyringBackend):
            priority = 1  # type: ignore[assignment]

            def get_password(self, service: str, username: str) -> str | None:
                threading.Event().wait()
                return None

            def set_password(self, service: str, username: str, password: str) -> None:
                threading.Event().wait()

            def delete_password(self, service: str, username: str) -> None:
                threading.Event().wait()

        keys = KeyringKeyStore("takeaways", backend=PromptForever(), timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(KeyringUnavailable, match=r"did not answer within 0\.5 s"):
            HistoryStore(tmp_path / "h.sqlite3", keys)
        assert time.monotonic() - started < 2

    @pytest.mark.parametrize("vanishing_reads", [1, 3, 4])
    def test_an_item_that_vanishes_between_search_and_read_is_searched_again(
        self, tmp_path: Path, vanishing_reads: int
    ) -> None:
        """gnome-keyring can find an item that another client replaces before it is read
        (seen while killed processes were writing). The real keyring answers every call here;
        the first reads fail the way secretstorage reports that race. Up to 3 such failures
        are searched again; a 4th is an error that names the fixes, and the file is untouched."""
        from secretstorage.exceptions import ItemNotFoundException

        real = keyring_keys()
        path = tmp_path / "h.sqlite3"
        filled_store(path, real, rows=3)
        before = database_bytes(path)
        backend = keyring.get_keyring()

        class VanishingFirst(keyring.backend.KeyringBackend):
            priority = 1  # type: ignore[assignment]
            failures_left = vanishing_reads

            def get_password(self, service: str, username: str) -> str | None:
                if VanishingFirst.failures_left:
                    VanishingFirst.failures_left -= 1
                    raise ItemNotFoundException("Item does not exist!")
                return backend.get_password(service, username)

            def set_password(self, service: str, username: str, password: str) -> None:
                backend.set_password(service, username, password)

            def delete_password(self, service: str, username: str) -> None:
                backend.delete_password(service, username)

        keys = KeyringKeyStore(real.service, backend=VanishingFirst())
        if vanishing_reads < 4:
            with HistoryStore(path, keys) as store:
                assert len(list(store.iter_all(detail=False))) == 3
        else:
            with pytest.raises(KeyringUnavailable, match=r"ItemNotFoundException.*fixes"):
                HistoryStore(path, keys)
            assert database_bytes(path) == before


class TestRotation:
    def test_rotation_keeps_rows_readable_and_the_old_key_stops_working(
        self, tmp_path: Path
    ) -> None:
        path, keys = tmp_path / "h.sqlite3", keyring_keys()
        filled_store(path, keys, rows=12)
        other_process = HistoryStore(path, keys)  # opened before the rotation
        with HistoryStore(path, keys) as store:
            old_name = data_key_name(store.store_id, store.key_id)
            old_key = keys.get(old_name)
            assert maintenance.rotate_key(store) == 12
            new_name = data_key_name(store.store_id, store.key_id)
            assert new_name != old_name
            assert [r.title for r in store.iter_all()] == [
                f"Add the missing colon {n}" for n in reversed(range(12))
            ]
            assert store.audit.entries()[-1].action == "key_rotation"
        assert keys.get(old_name) is None
        # The old key, even put back under the current name, no longer opens the store.
        new_key = keys.get(new_name)
        assert old_key is not None and new_key is not None
        keys.put(new_name, old_key)
        with pytest.raises(WrongKey):
            HistoryStore(path, keys)
        keys.put(new_name, new_key)
        # A store opened before the rotation follows it instead of writing under the old key.
        other_process.append(make_record(99))
        other_process.close()
        with HistoryStore(path, keys) as store:
            record = store.get("s0000099")
            assert record is not None and not record.tampered
            assert record.context.endswith("return a + b\n")

    def test_rotation_refuses_while_a_row_is_tampered_and_changes_nothing(
        self, tmp_path: Path
    ) -> None:
        import sqlite3

        path, keys = tmp_path / "h.sqlite3", keyring_keys()
        filled_store(path, keys, rows=3)
        with sqlite3.connect(path) as raw:
            raw.execute("UPDATE records SET detail = zeroblob(40) WHERE id = 's0000001'")
        with HistoryStore(path, keys) as store:
            key_id = store.key_id
            with pytest.raises(TamperedRecord, match="purge --tampered"):
                maintenance.rotate_key(store)
            assert store.key_id == key_id
            assert store.get("s0000002") is not None
            assert maintenance.purge(store, tampered=True) == 1
            assert maintenance.rotate_key(store) == 2


class TestPassphraseFile:
    def test_the_key_file_opens_with_the_passphrase_only(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(PASSPHRASE_VARIABLE, "correct horse battery staple")
        key_file = tmp_path / "history.keyfile"
        path = tmp_path / "h.sqlite3"
        with HistoryStore(path, PassphraseFileKeyStore(key_file)) as store:
            store.append(make_record(1))
            key = store.keys.get(data_key_name(store.store_id, store.key_id))
        assert key is not None
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert key not in key_file.read_bytes() and PLANTED.encode() not in key_file.read_bytes()
        with HistoryStore(path, PassphraseFileKeyStore(key_file)) as store:
            assert store.get("s0000001") is not None
        monkeypatch.setenv(PASSPHRASE_VARIABLE, "wrong")
        with pytest.raises(WrongKey, match="wrong passphrase"):
            HistoryStore(path, PassphraseFileKeyStore(key_file))

    def test_writers_sharing_the_key_file_never_drop_each_others_keys(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A daemon publishing its audit head while `keys rotate` stores the new data key: each
        rewrites the file, and a lost write would lose a data key. Threads with their own key
        store stand in for the two processes (the lock is per open file, as between processes)."""
        from concurrent.futures import ThreadPoolExecutor

        monkeypatch.setenv(PASSPHRASE_VARIABLE, "correct horse battery staple")
        key_file = tmp_path / "history.keyfile"
        PassphraseFileKeyStore(key_file).put("first", b"1")

        def writer(number: int) -> None:
            keys = PassphraseFileKeyStore(key_file)
            for index in range(6):
                keys.put(f"writer-{number}/{index}", bytes([number, index]))

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(writer, range(4)))
        reader = PassphraseFileKeyStore(key_file)
        for number in range(4):
            for index in range(6):
                assert reader.get(f"writer-{number}/{index}") == bytes([number, index])

    def test_without_the_variable_and_no_terminal_it_refuses_instead_of_prompting(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv(PASSPHRASE_VARIABLE, raising=False)
        # pytest's stdin is not a terminal, just like a daemon's.
        with pytest.raises(PassphraseUnavailable, match=PASSPHRASE_VARIABLE):
            passphrase_from_environment_or_tty(True)
        with pytest.raises(PassphraseUnavailable):
            HistoryStore(tmp_path / "h.sqlite3", PassphraseFileKeyStore(tmp_path / "k"))
        assert not (tmp_path / "h.sqlite3").exists() and not (tmp_path / "k").exists()
