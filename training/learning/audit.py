"""Learning's entries in the history's hash-chained audit log: rounds, swaps and rollbacks."""

from __future__ import annotations

from typing import Any

from takeaways_daemon.settings import HistorySettings

ROUND = "learning_round"
SWAP = "model_swap"
ROLLBACK = "model_rollback"


def audit(settings: HistorySettings, action: str, details: dict[str, Any]) -> bool:
    """Append one entry; False when there is no history to record it in."""
    from takeaways_daemon.history.store import HistoryStore, NoHistory

    if not settings.enabled:
        return False
    try:
        with HistoryStore.open(settings, create=False) as store:
            store.audited(action, details)
    except NoHistory:
        return False
    return True
