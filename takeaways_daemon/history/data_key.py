"""Where the history's secrets live: the OS keyring (default) or an opt-in passphrase key file.

Secrets are small named byte strings: the data key of each store generation, the audit log's MAC
key and its head. Keyring calls run in a helper thread with a deadline, so a locked keyring
waiting on an unlock prompt nobody can see turns into a clear error instead of a hang.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from takeaways_daemon.history.errors import (
    KEYRING_FIXES,
    KeyringUnavailable,
    PassphraseUnavailable,
    WrongKey,
)

PASSPHRASE_VARIABLE = "TAKEAWAYS_HISTORY_PASSPHRASE"
T = TypeVar("T")


def data_key_name(store_id: str, key_id: str) -> str:
    """The key-store name of one generation of a store's data key."""
    return f"history/{store_id}/data-key/{key_id}"


def audit_key_name(store_id: str) -> str:
    """The key-store name of a store's audit MAC key."""
    return f"history/{store_id}/audit-key"


def audit_head_name(store_id: str) -> str:
    """The key-store name of a store's last known audit entry (sequence and MAC)."""
    return f"history/{store_id}/audit-head"


class KeyStore(Protocol):
    """Named secrets kept outside the database file."""

    description: str

    def get(self, name: str) -> bytes | None:
        """The secret, or None if there is none by that name."""

    def put(self, name: str, value: bytes) -> None:
        """Store (or replace) a secret."""

    def delete(self, name: str) -> None:
        """Forget a secret (no error if absent)."""


def _with_deadline(call: Callable[[], T], timeout_s: float, what: str) -> T:
    """Run `call` in a daemon thread; past the deadline, give up (the thread is left behind)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=target, name="keyring-call", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise KeyringUnavailable(
            f"the OS keyring did not answer within {timeout_s:g} s while {what} (a locked "
            f"keyring waiting for an unlock prompt?); {KEYRING_FIXES}"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


_VANISHED_ITEM_RETRIES = 4


class KeyringKeyStore:
    """Secrets in the OS keyring through `keyring`, under one service name."""

    def __init__(self, service: str = "takeaways", *, backend: Any = None, timeout_s: float = 4.0):
        self.service = service
        self.timeout_s = timeout_s
        self._backend = backend
        self.description = f"the OS keyring (service {service!r})"

    def _resolve_backend(self) -> Any:
        import keyring
        from keyring.backends import chainer, fail, null

        backend = self._backend or keyring.get_keyring()
        unusable = isinstance(backend, fail.Keyring | null.Keyring) or (
            isinstance(backend, chainer.ChainerBackend) and not backend.backends
        )
        if unusable:
            raise KeyringUnavailable(
                f"no usable OS keyring backend (found {type(backend).__module__}); "
                f"{KEYRING_FIXES}"
            )
        return backend

    def _call(self, what: str, action: Callable[[Any], T]) -> T:
        from keyring.errors import KeyringError

        def run() -> T:
            # The Secret Service finds an item, then reads it: another client replacing or
            # removing an item in between makes the read fail with ItemNotFoundException
            # (seen with gnome-keyring while killed processes had been writing). Search again.
            for attempt in range(_VANISHED_ITEM_RETRIES - 1):
                try:
                    return action(self._resolve_backend())
                except Exception as error:
                    if type(error).__name__ != "ItemNotFoundException":
                        raise
                time.sleep(0.05 * (attempt + 1))
            return action(self._resolve_backend())  # the last try: its error is reported

        try:
            return _with_deadline(run, self.timeout_s, what)
        except KeyringUnavailable:
            raise
        except KeyringError as error:
            raise KeyringUnavailable(
                f"the OS keyring failed while {what} ({type(error).__name__}: {error}); "
                f"{KEYRING_FIXES}"
            ) from None
        except Exception as error:  # D-Bus and Secret Service errors come in many types
            raise KeyringUnavailable(
                f"the OS keyring failed while {what} ({type(error).__name__}: {error}); "
                f"{KEYRING_FIXES}"
            ) from None

    def get(self, name: str) -> bytes | None:
        """The secret from the keyring, or None."""
        text = self._call("reading a key", lambda b: b.get_password(self.service, name))
        return None if text is None else base64.b64decode(text)

    def put(self, name: str, value: bytes) -> None:
        """Store a secret in the keyring."""
        encoded = base64.b64encode(value).decode()
        self._call("storing a key", lambda b: b.set_password(self.service, name, encoded))

    def delete(self, name: str) -> None:
        """Remove a secret from the keyring, if there."""
        from keyring.errors import PasswordDeleteError

        def remove(backend: Any) -> None:
            with contextlib.suppress(PasswordDeleteError):
                backend.delete_password(self.service, name)

        self._call("deleting a key", remove)


def passphrase_from_environment_or_tty(creating: bool) -> str:
    """The passphrase from TAKEAWAYS_HISTORY_PASSPHRASE, else asked on a terminal, never hidden."""
    value = os.environ.get(PASSPHRASE_VARIABLE)
    if value:
        return value
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():
        # A prompt on a closed or redirected stdin would hang or read garbage: refuse instead.
        raise PassphraseUnavailable(
            f"the history key file needs a passphrase and stdin is not a terminal; set "
            f"{PASSPHRASE_VARIABLE}, or use `history.key_source = \"keyring\"`"
        )
    first = getpass.getpass("history passphrase: ")
    if creating and getpass.getpass("again: ") != first:
        raise PassphraseUnavailable("the two passphrases differ; nothing was written")
    if not first:
        raise PassphraseUnavailable("an empty passphrase protects nothing; choose one")
    return first


class PassphraseFileKeyStore:
    """Secrets in a 0600 JSON file, each wrapped with AES-GCM under an scrypt-derived key."""

    SCRYPT: ClassVar[dict[str, int]] = {"n": 2**15, "r": 8, "p": 1}

    def __init__(
        self,
        path: Path,
        passphrase: Callable[[bool], str] = passphrase_from_environment_or_tty,
    ) -> None:
        self.path = path
        self._passphrase = passphrase
        self._wrapping_key: bytes | None = None
        self.description = f"the passphrase key file {path}"

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def _derive(self, passphrase: str, kdf: dict[str, Any]) -> bytes:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        salt = base64.b64decode(kdf["salt"])
        return Scrypt(salt=salt, length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
            passphrase.encode()
        )

    def _unlock(self, content: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from takeaways_daemon.history.record_cipher import KEY_CHECK_PLAINTEXT

        if content:
            kdf = content["kdf"]
            if self._wrapping_key is None:
                key = self._derive(self._passphrase(False), kdf)
                check = base64.b64decode(content["check"])
                try:
                    AESGCM(key).decrypt(check[:12], check[12:], b"check")
                except Exception:
                    raise WrongKey(
                        f"wrong passphrase for {self.path}; check {PASSPHRASE_VARIABLE}"
                    ) from None
                self._wrapping_key = key
            return self._wrapping_key, content
        kdf = {"name": "scrypt", "salt": base64.b64encode(os.urandom(16)).decode(), **self.SCRYPT}
        key = self._derive(self._passphrase(True), kdf)
        nonce = os.urandom(12)
        check = nonce + AESGCM(key).encrypt(nonce, KEY_CHECK_PLAINTEXT, b"check")
        self._wrapping_key = key
        return key, {
            "format": 1,
            "kdf": kdf,
            "check": base64.b64encode(check).decode(),
            "secrets": {},
        }

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the key file's lock: the daemon (audit head) and a CLI run (a rotation's new
        data key) both rewrite the file, and an unlocked read-modify-write would drop a key."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)

    def _write(self, content: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(content, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def get(self, name: str) -> bytes | None:
        """The unwrapped secret, or None."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        content = self._read()
        if name not in content.get("secrets", {}):
            return None
        key, _ = self._unlock(content)
        sealed = base64.b64decode(content["secrets"][name])
        try:
            return AESGCM(key).decrypt(sealed[:12], sealed[12:], name.encode())
        except Exception:
            raise WrongKey(f"{self.path}: the entry {name} fails authentication") from None

    def put(self, name: str, value: bytes) -> None:
        """Wrap and store a secret (the file is rewritten atomically)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        with self._exclusive():
            key, content = self._unlock(self._read())
            nonce = os.urandom(12)
            sealed = nonce + AESGCM(key).encrypt(nonce, value, name.encode())
            content["secrets"][name] = base64.b64encode(sealed).decode()
            self._write(content)

    def delete(self, name: str) -> None:
        """Forget a secret."""
        with self._exclusive():
            content = self._read()
            if content.get("secrets", {}).pop(name, None) is not None:
                self._write(content)
