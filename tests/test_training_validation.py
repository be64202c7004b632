"""Validation and rank batching: the held-out loss and how micro-batches are dealt to processes.

The validation loss comes from rows held out of training: a hook on the real tiny Mistral's
embedding sees every row the model runs, so the test can tell which rows were trained on (with
gradients) and which were only validated (without). The logged value is checked against the
fused answer-only loss recomputed on those rows after training, and against the loss curve.
"""

from __future__ import annotations

import json

import pytest

from tests.training_helpers import build_tiny_mistral, tiny_recipe, write_alpaca_jsonl
from training.packing import PackedRow
from training.trainer import hold_out, micro_batches, rank_batches


def _rows(count: int) -> list[PackedRow]:
    return [PackedRow([n] * (count - n), [n] * (count - n), list(range(count - n)))
            for n in range(count)]  # fmt: skip


class TestHoldOut:
    def test_the_held_out_rows_are_a_seeded_slice_never_in_training(self) -> None:
        rows = _rows(40)
        train, held = hold_out(rows, 0.1, seed=3)
        assert len(held) == 4 and len(train) == 36
        assert {id(r) for r in train}.isdisjoint(id(r) for r in held)
        assert [r.input_ids[0] for r in train + held] != list(range(40)), "not just the tail"
        assert hold_out(rows, 0.1, seed=3) == (train, held), "resume needs the same split"
        assert hold_out(rows, 0.1, seed=4)[1] != held

    def test_at_least_one_row_is_held_out_but_never_all(self) -> None:
        assert len(hold_out(_rows(3), 0.05, seed=0)[1]) == 1
        assert hold_out(_rows(1), 0.05, seed=0) == (_rows(1), [])
        assert hold_out(_rows(10), 0.0, seed=0) == (_rows(10), [])


class TestRankBatches:
    def test_one_process_gets_every_batch_in_the_epochs_shuffled_order(self) -> None:
        batches = micro_batches(_rows(10), 2)
        first = rank_batches(batches, epoch=0, seed=0)
        assert sorted(id(b) for b in first) == sorted(id(b) for b in batches)
        assert first != batches, "the epoch's order is shuffled"
        assert rank_batches(batches, epoch=0, seed=0) == first, "and the same on resume"
        assert rank_batches(batches, epoch=1, seed=0) != first

    def test_two_processes_share_an_epoch_evenly_without_overlap(self) -> None:
        batches = micro_batches(_rows(10), 2)  # 5 micro-batches for 2 processes
        order = rank_batches(batches, epoch=2, seed=7)
        rank0 = rank_batches(batches, epoch=2, seed=7, num_processes=2, process_index=0)
        rank1 = rank_batches(batches, epoch=2, seed=7, num_processes=2, process_index=1)
        assert len(rank0) == len(rank1) == 3, "DDP needs the same number of steps on each rank"
        assert rank0[:3] == order[0::2] and rank1[:2] == order[1::2]
        assert rank1[2] is order[0], "the odd one out loops back to the epoch's first batch"

    def test_the_held_out_pass_repeats_nothing(self) -> None:
        batches = micro_batches(_rows(10), 2)
        rank0 = rank_batches(batches, epoch=None, num_processes=2, process_index=0)
        rank1 = rank_batches(batches, epoch=None, num_processes=2, process_index=1)
        assert rank0 == batches[0::2] and rank1 == batches[1::2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """A short real run on the tiny Mistral, with every row the model saw recorded."""
    import torch

    from training.base_model import load_tokenizer
    from training.packing import rows_from_examples
    from training.qlora import load_for_training
    from training.tokenize_examples import tokenize_rows
    from training.trainer import setup

    base = build_tiny_mistral(tmp_path_factory.mktemp("tiny") / "base")
    tokenizer = load_tokenizer(str(base))
    data = write_alpaca_jsonl(tmp_path_factory.mktemp("data") / "d.jsonl", count=10)
    examples, _ = tokenize_rows(tokenizer, [json.loads(x) for x in data.open()], 256)
    rows = rows_from_examples(examples)
    # Exact float32 on every CPU (no bf16 autocast): the recomputed loss must match closely.
    recipe = tiny_recipe(base, quantization="none", dropout=0.0, epochs=2, max_steps=None,
                         validation_fraction=0.2, validate_every=3, log_every=2,
                         cpu_bf16=False)  # fmt: skip
    torch.manual_seed(0)
    model = load_for_training(str(base), recipe, torch.device("cpu"))
    seen: list[tuple[bool, list[int]]] = []

    def record(module, inputs) -> None:
        for row in inputs[0].tolist():
            seen.append((torch.is_grad_enabled(), row))

    hook = model.get_input_embeddings().register_forward_pre_hook(record)
    out = tmp_path_factory.mktemp("run")
    result = setup(model, rows, args=recipe.train, out_dir=out,
                   pad_id=tokenizer.pad_token_id, show_progress=False)  # fmt: skip
    hook.remove()
    _, held = hold_out(rows, recipe.train.validation_fraction, recipe.train.seed)
    return model, rows, held, seen, result, out, tokenizer.pad_token_id


def _starts_with(row: list[int], prefix: list[int]) -> bool:
    return row[: len(prefix)] == prefix


def test_validation_runs_on_held_out_rows_that_are_never_trained_on(trained) -> None:
    _, rows, held, seen, result, _, _ = trained
    assert len(held) == 2 and result.validation_rows == 2
    trained_rows = [row for grad, row in seen if grad]
    validated_rows = [row for grad, row in seen if not grad]
    for row in held:
        assert not any(_starts_with(seen_row, row.input_ids) for seen_row in trained_rows)
        assert any(_starts_with(seen_row, row.input_ids) for seen_row in validated_rows)
    others = [row for row in rows if row not in held]
    for row in others:
        assert any(_starts_with(seen_row, row.input_ids) for seen_row in trained_rows)
        assert not any(_starts_with(seen_row, row.input_ids) for seen_row in validated_rows)


def test_the_logged_validation_loss_is_the_answer_loss_on_held_out_rows(trained) -> None:
    """8 training rows in batches of 2: 4 steps an epoch, 8 in all; validation every 3 steps,
    at each epoch's end and the last step, logged on its own line beside the training loss."""
    import torch

    from training.answer_loss import answer_only_loss
    from training.packing import collate_packed
    from training.trainer import read_loss_log

    model, _, held, _, result, out, pad_id = trained
    log = read_loss_log(out / "loss_log.jsonl")
    assert [r["step"] for r in log] == [1, 2, 3, 4, 6, 8]
    assert [r["step"] for r in log if "val_loss" in r] == [3, 4, 6, 8]
    assert all("loss" in r for r in log)
    # After training, the adapter is the one the last validation saw.
    model.eval()
    with torch.no_grad():
        batch = collate_packed(held, pad_id)
        expected = float(answer_only_loss(model.get_base_model(), batch))
    assert log[-1]["val_loss"] == pytest.approx(expected, rel=1e-4)
    assert result.validation_loss == pytest.approx(expected, rel=1e-4)
    assert result.validation_seconds > 0  # kept apart from the training time
    assert log[2]["val_loss"] != log[-1]["val_loss"], "the adapter changed between validations"


def test_the_loss_curve_draws_the_validation_loss_beside_the_training_loss(trained) -> None:
    from training.trainer import loss_curve_figure, read_loss_log

    _, _, _, _, _, out, _ = trained
    log = read_loss_log(out / "loss_log.jsonl")
    figure = loss_curve_figure(log)
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert set(lines) == {"training (mean since the last point)", "validation (held-out rows)"}
    validation = lines["validation (held-out rows)"]
    assert list(validation.get_xdata()) == [3, 4, 6, 8]
    assert list(validation.get_ydata()) == [r["val_loss"] for r in log if "val_loss" in r]
    assert (out / "loss_curve.png").read_bytes().startswith(b"\x89PNG")
