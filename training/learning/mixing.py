"""A round's training rows: new examples (verified fixes repeated), a held-out slice, and replay.

The held-out slice is chosen by fingerprint order, so it is the same whichever order the history
returned the rows in; it measures the candidate's loss on accepted suggestions it never saw.
Replay rows come from the base training data, so the model keeps what it knew.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data.alpaca_record import AlpacaRecord
from training.learning.filters import LearnedExample


@dataclass(frozen=True)
class RoundData:
    """What one round trains on and what it keeps back."""

    train_rows: list[dict[str, Any]]
    held_out: list[AlpacaRecord]
    new_examples: int
    repeated_verified: int
    replay: int

    def counts(self) -> dict[str, int]:
        """Sizes for the round's report."""
        return {
            "train_rows": len(self.train_rows),
            "held_out": len(self.held_out),
            "new_examples": self.new_examples,
            "repeated_verified": self.repeated_verified,
            "replay": self.replay,
        }


def mix_round(
    examples: list[LearnedExample],
    *,
    holdout_fraction: float,
    verified_weight: int,
    replay_rows: list[dict[str, Any]],
    replay_ratio: float,
    seed: int = 0,
) -> RoundData:
    """Hold out a slice, repeat verified fixes, and add replay rows in proportion."""
    ordered = sorted(examples, key=lambda example: example.fingerprint)
    holdout = int(len(ordered) * holdout_fraction)
    if holdout_fraction > 0 and holdout == 0 and len(ordered) >= 2:
        holdout = 1
    step = len(ordered) / holdout if holdout else 0
    held_indexes = {int(i * step) for i in range(holdout)}
    held_out = [ordered[i].record for i in sorted(held_indexes)]
    rows: list[dict[str, Any]] = []
    repeated = 0
    for index, example in enumerate(ordered):
        if index in held_indexes:
            continue
        copies = verified_weight if example.verified else 1
        repeated += copies - 1
        rows.extend(_row(example.record) for _ in range(copies))
    new = len(rows)
    rng = random.Random(seed)
    wanted = min(len(replay_rows), round(new * replay_ratio))
    replay = rng.sample(replay_rows, wanted) if wanted else []
    rows.extend(replay)
    rng.shuffle(rows)
    return RoundData(rows, held_out, new - repeated, repeated, len(replay))


def read_replay_rows(path: Path | None) -> list[dict[str, Any]]:
    """The rows of an Alpaca JSONL file (none when there is no file)."""
    if path is None or not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append({key: row.get(key, "") for key in ("instruction", "input", "output")})
    return rows


def _row(record: AlpacaRecord) -> dict[str, Any]:
    return {"instruction": record.instruction, "input": record.input, "output": record.output}
