"""Where the learning loop keeps its files: one definition for the daemon and for training.

The versions folder lives beside the served GGUF (`locations.models_dir()`): one folder per
model version (its GGUF, adapter and gate report), and the learning state (the cursor of the
last round and the fingerprints of every example trained on). A round's scratch work lives in
the state folder and is wiped when the next round starts, so a killed round leaves nothing that
a later one could mistake for its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from takeaways_daemon import locations

STATE_FILE = "learning_state.json"
CURSOR_KEY = "cursor"
"""The newest `updated_at` of the accepted rows an earlier round looked at."""


def versions_dir() -> Path:
    """The folder of kept model versions (one sub-folder each)."""
    return locations.models_dir() / "versions"


def learning_state_file() -> Path:
    """The learning state: the last round's cursor and the fingerprints trained on."""
    return versions_dir() / STATE_FILE


def round_work_dir() -> Path:
    """Scratch space of the round in progress (wiped at the start of every round)."""
    return locations.state_dir() / "learning" / "round"


def round_lock_file() -> Path:
    """Held (flock) by the running round, so two rounds never overlap."""
    return locations.state_dir() / "learning" / "round.lock"


def read_learning_state() -> dict[str, Any]:
    """The saved learning state, or an empty one before the first round."""
    path = learning_state_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def last_cursor() -> float:
    """The cursor of the last round (0 before the first)."""
    return float(read_learning_state().get(CURSOR_KEY, 0.0))
