"""Sequence packing with no attention across examples, and the answer-only loss.

Packing puts several examples in one row so that no compute is spent on padding. Each example's
`position_ids` start again at 0; transformers reads those restarts as sequence boundaries and
builds a block-diagonal causal mask (SDPA), or takes the varlen path (flash attention), so an
example never attends to the one packed before it. The padding at the end of a row is its own
"sequence" with label -100, so it neither sees nor is seen by real tokens.

The loss over these rows, answer tokens only, is `training.answer_loss`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from training.tokenize_examples import IGNORE_INDEX, TokenizedExample

if TYPE_CHECKING:
    import torch


@dataclass
class PackedRow:
    """Examples laid end to end in one row, each keeping its own positions."""

    input_ids: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    position_ids: list[int] = field(default_factory=list)

    def add(self, example: TokenizedExample) -> None:
        """Append an example; its positions restart at 0."""
        self.input_ids += example.input_ids
        self.labels += example.labels
        self.position_ids += range(len(example.input_ids))


def pack_examples(examples: Sequence[TokenizedExample], max_len: int) -> list[PackedRow]:
    """First-fit decreasing: rows of at most `max_len` tokens, nearly free of padding."""
    rows: list[PackedRow] = []
    for example in sorted(examples, key=lambda e: len(e.input_ids), reverse=True):
        size = len(example.input_ids)
        if size > max_len:
            raise ValueError(f"an example of {size} tokens does not fit rows of {max_len}")
        row = next((r for r in rows if len(r.input_ids) + size <= max_len), None)
        if row is None:
            row = PackedRow()
            rows.append(row)
        row.add(example)
    return rows


def rows_from_examples(examples: Sequence[TokenizedExample]) -> list[PackedRow]:
    """One example per row (no packing), in the same row shape."""
    rows = []
    for example in examples:
        row = PackedRow()
        row.add(example)
        rows.append(row)
    return rows


def collate_packed(rows: Sequence[PackedRow], pad_id: int) -> dict[str, torch.Tensor]:
    """A batch of packed rows, padded to the longest; no attention mask (positions say it all)."""
    import torch

    width = max(len(row.input_ids) for row in rows)
    input_ids, labels, positions = [], [], []
    for row in rows:
        pad = width - len(row.input_ids)
        input_ids.append(row.input_ids + [pad_id] * pad)
        labels.append(row.labels + [IGNORE_INDEX] * pad)
        positions.append(row.position_ids + list(range(pad)))
    return {
        "input_ids": torch.tensor(input_ids),
        "labels": torch.tensor(labels),
        "position_ids": torch.tensor(positions),
    }


def collate_padded(examples: Sequence[TokenizedExample], pad_id: int) -> dict[str, torch.Tensor]:
    """The classic batch: one example per row, right-padded, with an attention mask."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    batch: dict[str, list[list[int]]] = {"input_ids": [], "labels": [], "attention_mask": []}
    for example in examples:
        pad = width - len(example.input_ids)
        batch["input_ids"].append(example.input_ids + [pad_id] * pad)
        batch["labels"].append(example.labels + [IGNORE_INDEX] * pad)
        batch["attention_mask"].append([1] * len(example.input_ids) + [0] * pad)
    return {key: torch.tensor(value) for key, value in batch.items()}
