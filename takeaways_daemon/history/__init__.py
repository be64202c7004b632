"""The encrypted local history: every suggestion and what the user did with it.

`HistoryStore` keeps rows sealed with AES-GCM under a data key from the OS keyring (or an opt-in
passphrase key file); `maintenance` holds export, purge, retention and key rotation; `audit_log`
is the hash-chained record of those sensitive actions.
"""

from takeaways_daemon.history.errors import HistoryError
from takeaways_daemon.history.records import HistoryRecord
from takeaways_daemon.history.store import HistoryStore, NoHistory

__all__ = ["HistoryError", "HistoryRecord", "HistoryStore", "NoHistory"]
