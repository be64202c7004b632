"""One history row: a suggestion, its context and prompt, the model's timings, and its outcome."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from takeaways_daemon.kinds import Outcome

# Sealed fields, grouped by when they are needed: lists read `summary`, `show` also `detail`.
SUMMARY_FIELDS = (
    "project", "path", "start_line", "end_line", "title", "explanation", "diff", "backend",
    "model", "symbol", "file_sha256", "verified", "evidence",
)  # fmt: skip
"""`verified` and `evidence` came later: rows sealed before them open with the defaults (the
sealed JSON names its fields), so they need no schema migration and stay encrypted."""
DETAIL_FIELDS = ("replacement", "original", "context", "prompt")


@dataclass
class HistoryRecord:
    """A history row in clear, as the store hands it out (or a tampered one, payload blank)."""

    id: str
    kind: str
    created_at: float
    updated_at: float = 0.0
    outcome: Outcome = "open"
    rating: int | None = None
    latency_ms: float = 0.0
    project: str = ""
    path: str = ""
    start_line: int = 0
    end_line: int = 0
    title: str = ""
    explanation: str = ""
    diff: str = ""
    backend: str = ""
    model: str = ""
    symbol: str | None = None
    file_sha256: str = ""
    replacement: str = ""
    original: str = ""
    context: str = ""
    prompt: str = ""
    verified: bool | None = None
    """Whether the fix held up against its evidence; None: nothing to check it against."""
    evidence: str = ""
    """What the check found (test ids and failure messages come from the user's code: sealed)."""
    tampered: bool = False
    uid: str = field(default="", repr=False)
    """The row's own unique key (suggestion ids are short and may repeat over years)."""

    def sealed_part(self, names: tuple[str, ...]) -> bytes:
        """The named fields as compact JSON, ready to seal."""
        values = asdict(self)
        return json.dumps({name: values[name] for name in names}, separators=(",", ":")).encode()

    def fill(self, payload: bytes) -> None:
        """Set fields from an opened sealed part."""
        known = {item.name for item in fields(self)}
        for name, value in json.loads(payload).items():
            if name in known:
                setattr(self, name, value)

    def item(self) -> dict[str, Any]:
        """The API's HistoryItem shape."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "kind": self.kind,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "title": self.title,
            "explanation": self.explanation,
            "diff": self.diff,
            "backend": self.backend,
            "model": self.model,
            "latency_ms": self.latency_ms,
            "outcome": self.outcome,
            "rating": self.rating,
            "verified": self.verified,
            "evidence": self.evidence,
            "tampered": self.tampered,
        }

    def full_item(self) -> dict[str, Any]:
        """HistoryItem plus the context and prompt (`GET /history/{id}`, exports)."""
        return {
            **self.item(),
            "project": self.project,
            "replacement": self.replacement,
            "original": self.original,
            "context": self.context,
            "prompt": self.prompt,
        }

    def matches(self, text: str) -> bool:
        """Case-insensitive substring search over title, explanation, path and patch."""
        needle = text.casefold()
        return any(
            needle in value.casefold()
            for value in (self.title, self.explanation, self.path, self.diff)
        )
