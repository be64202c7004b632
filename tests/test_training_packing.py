"""Sequence packing: rows fill up, positions restart per example, and the loss does not change.

The equivalence test runs the real tiny Mistral (float32, SDPA) on the same examples packed
into one row and padded one per row: packing may save compute, never change what is learnt.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training_helpers import build_tiny_mistral, write_alpaca_jsonl
from training.packing import PackedRow, collate_packed, pack_examples
from training.tokenize_examples import IGNORE_INDEX, TokenizedExample


def _example(size: int, answer: int) -> TokenizedExample:
    ids = list(range(3, 3 + size))
    return TokenizedExample(ids, [IGNORE_INDEX] * (size - answer) + ids[size - answer :])


class TestPackExamples:
    def test_every_example_lands_in_exactly_one_row_that_fits(self) -> None:
        examples = [_example(size, 2) for size in (90, 60, 50, 40, 30, 20, 10)]
        rows = pack_examples(examples, max_len=100)
        assert all(len(row.input_ids) <= 100 for row in rows)
        assert sum(len(row.input_ids) for row in rows) == 300
        assert len(rows) == 3  # first-fit decreasing leaves almost no gap

    def test_positions_restart_at_each_example(self) -> None:
        row = pack_examples([_example(4, 2), _example(3, 1)], max_len=10)[0]
        assert row.position_ids == [0, 1, 2, 3, 0, 1, 2]

    def test_an_example_longer_than_a_row_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="does not fit"):
            pack_examples([_example(20, 2)], max_len=10)

    def test_padding_is_its_own_sequence_with_no_labels(self) -> None:
        short, long = PackedRow(), PackedRow()
        short.add(_example(2, 1))
        long.add(_example(5, 2))
        batch = collate_packed([long, short], pad_id=0)
        assert batch["position_ids"][1].tolist() == [0, 1, 0, 1, 2]
        assert batch["labels"][1].tolist()[2:] == [IGNORE_INDEX] * 3


@pytest.fixture(scope="module")
def tiny_model_and_examples(tmp_path_factory: pytest.TempPathFactory):
    import torch
    from transformers import AutoModelForCausalLM

    from training.base_model import load_tokenizer
    from training.tokenize_examples import tokenize_rows

    folder = build_tiny_mistral(tmp_path_factory.mktemp("tiny") / "base")
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="sdpa"
    ).eval()
    tokenizer = load_tokenizer(str(folder))
    data = write_alpaca_jsonl(Path(tmp_path_factory.mktemp("data")) / "d.jsonl", count=5)
    examples, _ = tokenize_rows(tokenizer, [json.loads(x) for x in data.open()], 512)
    return model, examples, tokenizer.pad_token_id


def test_packed_batches_give_the_same_loss_as_padded_ones(tiny_model_and_examples) -> None:
    import torch

    from training.answer_loss import answer_only_loss
    from training.packing import collate_padded

    model, examples, pad_id = tiny_model_and_examples
    packed = pack_examples(examples, max_len=4096)
    assert len(packed) == 1, "all five examples share one row"
    with torch.no_grad():
        packed_loss = answer_only_loss(model, collate_packed(packed, pad_id))
        padded_batch = collate_padded(examples, pad_id)
        padded_loss = answer_only_loss(model, padded_batch)
        reference = model(**padded_batch).loss  # transformers' own full-vocab loss
    torch.testing.assert_close(packed_loss, padded_loss, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(padded_loss, reference, rtol=1e-5, atol=1e-5)


def test_packed_gradients_equal_transformers_own_loss_gradients(tiny_model_and_examples) -> None:
    """Every parameter's gradient, the tied embedding/LM head included, from the fused loss on
    packed rows equals the one from transformers' full-vocabulary loss on padded rows."""
    import torch

    from training.answer_loss import answer_only_loss
    from training.packing import collate_padded

    model, examples, pad_id = tiny_model_and_examples

    def gradients(loss: torch.Tensor) -> dict[str, torch.Tensor]:
        model.zero_grad(set_to_none=True)
        loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    packed_batch = collate_packed(pack_examples(examples, 4096), pad_id)
    packed = gradients(answer_only_loss(model, packed_batch))
    reference = gradients(model(**collate_padded(examples, pad_id)).loss)
    model.zero_grad(set_to_none=True)
    assert packed.keys() == reference.keys() and len(packed) > 5
    for name, gradient in reference.items():
        torch.testing.assert_close(packed[name], gradient, rtol=1e-4, atol=1e-6, msg=name)


def test_a_packed_example_sees_nothing_of_the_one_before(tiny_model_and_examples) -> None:
    import torch

    model, examples, pad_id = tiny_model_and_examples
    first, second = examples[0], examples[1]
    row = PackedRow()
    row.add(first)
    row.add(second)
    batch = collate_packed([row], pad_id)
    alone = collate_packed([PackedRow(second.input_ids, second.labels,
                                      list(range(len(second.input_ids))))], pad_id)  # fmt: skip
    with torch.no_grad():
        # No KV cache, as in training: transformers reads packed positions only without one.
        packed_logits = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits
        alone_logits = model(input_ids=alone["input_ids"], use_cache=False).logits
    torch.testing.assert_close(packed_logits[0, len(first.input_ids) :], alone_logits[0])
