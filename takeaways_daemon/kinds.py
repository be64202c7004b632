"""The labels every layer shares: what a task asks for, and what became of a suggestion.

Defined once here; settings, the API, the CLI's choices, the TUI's filters, history and the
training data all import these instead of spelling the literals again.
"""

from __future__ import annotations

from typing import Literal, get_args

TaskKind = Literal["fix", "complete", "docstring", "types", "explain"]
TASK_KINDS: tuple[TaskKind, ...] = get_args(TaskKind)
AUTOMATIC_KINDS: tuple[TaskKind, ...] = ("fix", "complete", "docstring", "types")
"""Kinds the daemon runs by itself after a save; `explain` is asked for on demand."""

Outcome = Literal["open", "accepted", "rejected", "ignored", "stale"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
"""`ignored`: the daemon stopped while the suggestion was still open."""

SuggestionStatus = Literal["open", "accepted", "rejected", "stale"]
"""A live suggestion's state: an `Outcome` short of `ignored`, which only history records."""

GGUF_QUANTS = ("f16", "q8_0", "q4_K_M")
"""The GGUF types `takeaways model build` exports (and knows its own files by)."""
