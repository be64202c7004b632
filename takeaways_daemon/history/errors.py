"""Typed history errors: each names what happened and the fixes."""

from __future__ import annotations

from takeaways_daemon.errors import TakeawaysError

KEYRING_FIXES = (
    "fixes: start a Secret Service (on a desktop: log in to GNOME/KDE; headless: "
    "`dbus-run-session -- sh -c \"echo -n PASSWORD | gnome-keyring-daemon --unlock "
    "--components=secrets; takeaways ...\"`), or opt in to a passphrase-protected key file with "
    "`history.key_source = \"passphrase-file\"` and TAKEAWAYS_HISTORY_PASSPHRASE, or turn history "
    "off with `history.enabled = false`"
)


class HistoryError(TakeawaysError):
    """Something is wrong with the encrypted history store."""


class KeyringUnavailable(HistoryError):
    """No usable OS keyring (no backend, no Secret Service, or it did not answer in time)."""

    exit_code = 4


class PassphraseUnavailable(HistoryError):
    """The passphrase key file needs a passphrase and none can be asked for."""

    exit_code = 4


class KeyMissing(HistoryError):
    """The store exists but its data key is not in the key store: refusing to open it."""

    exit_code = 5


class WrongKey(HistoryError):
    """The key store holds a key that does not open this history store."""

    exit_code = 5


class TamperedRecord(HistoryError):
    """A sealed field failed authentication: edited, moved to another row, or corrupted."""


class UnknownRecord(HistoryError):
    """No history row has this id."""


class ExportRefused(HistoryError):
    """An export would overwrite an existing file."""
