"""AES-256-GCM for history fields: a fresh nonce per write, bound to its row, version and field.

The associated data names the record id, the payload format version and the field, so a sealed
value copied into another row, another field, or relabelled with another version fails to open
(it is reported as tampered rather than silently read as something else).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from takeaways_daemon.history.errors import TamperedRecord

KEY_BYTES = 32
NONCE_BYTES = 12
# A known value sealed with the current key: checking it tells a wrong key from a tampered row.
KEY_CHECK_PLAINTEXT = b"takeaways history key check"


def new_data_key() -> bytes:
    """A random 256-bit data key."""
    return os.urandom(KEY_BYTES)


def associated_data(record_id: str, version: int, field: str) -> bytes:
    """What a sealed value is bound to: its row, the payload format version and the field."""
    return f"takeaways-history\x00{record_id}\x00v{version}\x00{field}".encode()


class RecordCipher:
    """Seals and opens history fields with one data key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a history data key has {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, record_id: str, version: int, field: str, plaintext: bytes) -> bytes:
        """nonce ‖ ciphertext ‖ tag, with a nonce never used before (random 96 bits)."""
        nonce = os.urandom(NONCE_BYTES)
        aad = associated_data(record_id, version, field)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, record_id: str, version: int, field: str, sealed: bytes) -> bytes:
        """The plaintext of `sealed`, or `TamperedRecord` if it was changed or moved."""
        if len(sealed) < NONCE_BYTES + 16:
            raise TamperedRecord(f"history row {record_id}: field {field} is truncated")
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, associated_data(record_id, version, field))
        except InvalidTag:
            raise TamperedRecord(
                f"history row {record_id}: field {field} fails authentication "
                "(edited, swapped with another row, or corrupted)"
            ) from None

    def key_check(self, store_id: str, key_id: str) -> bytes:
        """A sealed known value stored beside the rows, so opening can test the key first."""
        return self.seal(f"{store_id}/{key_id}", 0, "key-check", KEY_CHECK_PLAINTEXT)

    def opens_key_check(self, store_id: str, key_id: str, sealed: bytes) -> bool:
        """Whether this cipher's key is the one `sealed` was made with."""
        try:
            return self.open(f"{store_id}/{key_id}", 0, "key-check", sealed) == KEY_CHECK_PLAINTEXT
        except TamperedRecord:
            return False
