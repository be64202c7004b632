"""History for benchmarks: keys in a throwaway Secret Service, so `make bench` runs headless.

A bench that builds a real daemon service also opens its encrypted history, whose key lives in
the OS keyring. A headless machine has none, and the history refuses to start rather than keep
plaintext, so a bench starts a private Secret Service, as the tests do (never the user's own).
Where even that cannot start (no gnome-keyring), history is turned off and the bench says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from takeaways_daemon.history.throwaway_keyring import (
    SecretServiceStartError,
    start_throwaway_secret_service,
)

_VARIABLES = ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND", "TAKEAWAYS_HISTORY__ENABLED")


@contextmanager
def bench_keyring() -> Iterator[str]:
    """Keys go to a throwaway Secret Service within the block; yields a line for the report."""
    saved = {name: os.environ.get(name) for name in _VARIABLES}
    try:
        service = start_throwaway_secret_service()
    except (SecretServiceStartError, OSError) as error:
        os.environ["TAKEAWAYS_HISTORY__ENABLED"] = "false"
        try:
            yield f"history off (no throwaway Secret Service: {error})"
        finally:
            _restore(saved)
        return
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.address
    # Named, so a keyringrc.cfg or plaintext backend of the user's cannot take the bench's keys.
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"
    try:
        yield "history on, keys in a throwaway Secret Service"
    finally:
        _restore(saved)
        service.stop()


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
