"""Which accepted suggestions a round may learn from, and why the others were dropped.

In memory only: rows come decrypted from the history store and leave as training examples.
A row is dropped when it is older than the last round's cursor, rated down, when its accepted
code is no longer in the file (the user reverted it) or the file no longer parses, when it is a
fix whose tests still failed when the daemon checked it (`verified` False), when its
answer holds a secret, when anything in it speaks to the model (`injection`), or when an earlier
round already trained on it (its fingerprint is known). Secrets in the input are scrubbed.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from training.data.alpaca_record import AlpacaRecord
from training.data.cleaning.secret_scrubber import scrub_secrets
from training.data.history_source import record_from_history
from training.learning.injection import injection_markers

if TYPE_CHECKING:
    from collections.abc import Iterable

    from takeaways_daemon.history.records import HistoryRecord


@dataclass(frozen=True)
class LearnedExample:
    """An accepted suggestion as a training example, with what the round needs to know of it."""

    record: AlpacaRecord
    fingerprint: str
    verified: bool


@dataclass
class Selection:
    """The examples a round may use, what was dropped (by reason), and the new cursor."""

    examples: list[LearnedExample] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    seen: int = 0
    secrets_scrubbed: int = 0
    cursor: float = 0.0

    def counts(self) -> dict[str, object]:
        """The numbers a round reports and audits (never any text)."""
        return {
            "accepted_new": self.seen,
            "used": len(self.examples),
            "verified": sum(example.verified for example in self.examples),
            "dropped": dict(sorted(self.dropped.items())),
            "secrets_scrubbed": self.secrets_scrubbed,
        }


def fingerprint(record: AlpacaRecord) -> str:
    """A hash of the example's text: how rounds recognise what they trained on before."""
    text = json.dumps([record.instruction, record.input, record.output])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def select_examples(rows: Iterable[HistoryRecord], *, cursor: float, known: set[str]) -> Selection:
    """Turn accepted rows newer than `cursor` into examples, dropping the unsafe and the seen."""
    selection = Selection(cursor=cursor)
    batch: set[str] = set()
    for row in rows:
        if row.updated_at <= cursor:
            continue
        selection.seen += 1
        selection.cursor = max(selection.cursor, row.updated_at)
        reason, example = _judge(row, selection)
        if example is not None and (example.fingerprint in known | batch):
            reason = "duplicate"
        if reason is not None or example is None:
            selection.dropped[reason or "unusable"] += 1
            continue
        batch.add(example.fingerprint)
        selection.examples.append(example)
    return selection


def _judge(row: HistoryRecord, selection: Selection) -> tuple[str | None, LearnedExample | None]:
    """Why the row cannot be used (None: it can), and its example."""
    if row.rating is not None and row.rating < 0:
        return "rated-down", None
    if getattr(row, "verified", None) is False:  # older rows have no such field
        # The daemon re-ran the fix's tests and they still failed: the user took a wrong fix.
        return "failed-verification", None
    record = record_from_history(row)
    if record is None:
        return "unusable", None
    if problem := _file_problem(row):
        return problem, None
    if any(injection_markers(text) for text in (record.input, record.output, row.replacement)):
        return "injection", None
    _, answer_secrets = scrub_secrets(record.output)
    if answer_secrets:
        return "secret-in-answer", None
    scrubbed_input, input_secrets = scrub_secrets(record.input)
    if input_secrets:
        selection.secrets_scrubbed += 1
        record = replace(record, input=scrubbed_input)
    verified = getattr(row, "verified", None) is True  # older rows have no such field
    return None, LearnedExample(record, fingerprint(record), verified)


def _file_problem(row: HistoryRecord) -> str | None:
    """`patch-gone` when the accepted code is no longer in its file, `unparsable` when the file
    no longer parses; None when the suggestion still stands."""
    if not row.project or not row.path:
        return "patch-gone"
    path = Path(row.project) / row.path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "patch-gone"
    if row.replacement.strip() and row.replacement.strip() not in text:
        return "patch-gone"
    if path.suffix == ".py":
        try:
            ast.parse(text)
        except SyntaxError:
            return "unparsable"
    return None
