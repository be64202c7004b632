"""What rounds remember between runs: the cursor and the fingerprints already trained on.

Only hashes and a timestamp, never text: the state file sits beside the models, outside the
encrypted history. It is replaced atomically at the end of a round, so a killed round leaves
the previous state and the next round sees the same suggestions again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from takeaways_daemon.learning_paths import CURSOR_KEY, learning_state_file, read_learning_state


@dataclass
class LearningState:
    """The cursor of the last round, the fingerprints trained on, and the last round's outcome."""

    cursor: float = 0.0
    fingerprints: set[str] = field(default_factory=set)
    rounds: int = 0
    last_round: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls) -> LearningState:
        """The saved state (a fresh one before the first round)."""
        data = read_learning_state()
        return cls(
            cursor=float(data.get(CURSOR_KEY, 0.0)),
            fingerprints=set(data.get("fingerprints", [])),
            rounds=int(data.get("rounds", 0)),
            last_round=dict(data.get("last_round", {})),
        )

    def save(self) -> None:
        """Write the state atomically."""
        path = learning_state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            CURSOR_KEY: self.cursor,
            "fingerprints": sorted(self.fingerprints),
            "rounds": self.rounds,
            "last_round": self.last_round,
        }
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(data, indent=1))
        os.replace(partial, path)
