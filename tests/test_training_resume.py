"""Checkpoints: a run interrupted by Ctrl-C resumes where it stopped and ends where an
uninterrupted run ends (same adapter weights, same loss log, no step twice)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.training_helpers import build_tiny_mistral, tiny_recipe, write_alpaca_jsonl


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    from training.base_model import load_tokenizer
    from training.packing import rows_from_examples
    from training.tokenize_examples import tokenize_rows

    base = build_tiny_mistral(tmp_path_factory.mktemp("tiny") / "base")
    tokenizer = load_tokenizer(str(base))
    data = write_alpaca_jsonl(tmp_path_factory.mktemp("data") / "d.jsonl", count=8)
    examples, _ = tokenize_rows(tokenizer, [json.loads(x) for x in data.open()], 256)
    # Unpacked rows, one of 8 held out for validation, batch 2: four batches per epoch, so 4
    # steps span one epoch.
    recipe = tiny_recipe(base, quantization="none", max_steps=4, dropout=0.0, epochs=2)
    return base, recipe, rows_from_examples(examples), tokenizer.pad_token_id


def _train(setup, out: Path, *, resume: bool = False, interrupt_at: int | None = None):
    import torch

    from training import trainer
    from training.qlora import load_for_training

    base, recipe, rows, pad_id = setup
    torch.manual_seed(0)  # the same LoRA initialisation for every run
    model = load_for_training(str(base), recipe, torch.device("cpu"))

    def on_step(step: int, result: object) -> None:
        if step == interrupt_at:
            signal.raise_signal(signal.SIGINT)  # a real Ctrl-C, delivered as KeyboardInterrupt

    # As in a terminal: a suite started in the background (`cmd &`) inherits SIGINT ignored,
    # and the simulated Ctrl-C would then never arrive.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        result = trainer.setup(
            model, rows, args=recipe.train, out_dir=out, pad_id=pad_id, resume=resume,
            on_step=on_step, show_progress=False,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    return model, result


def _lora_weights(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


def test_an_interrupted_run_resumes_and_matches_an_uninterrupted_one(setup, tmp_path: Path):
    import torch

    from training.trainer import TrainingInterrupted, latest_checkpoint, read_loss_log

    straight, straight_result = _train(setup, tmp_path / "straight")

    with pytest.raises(TrainingInterrupted, match="--resume"):
        _train(setup, tmp_path / "broken", interrupt_at=2)
    assert latest_checkpoint(tmp_path / "broken").name == "step-2"
    resumed, result = _train(setup, tmp_path / "broken", resume=True)

    assert result.resumed_from == 2
    assert result.steps == straight_result.steps == 4
    log = read_loss_log(tmp_path / "broken" / "loss_log.jsonl")
    assert [record["step"] for record in log] == [1, 2, 3, 4]
    expected_losses = [r["loss"] for r in read_loss_log(tmp_path / "straight" / "loss_log.jsonl")]
    assert [r["loss"] for r in log] == pytest.approx(expected_losses, rel=1e-4)
    for name, weight in _lora_weights(straight).items():
        torch.testing.assert_close(_lora_weights(resumed)[name], weight, rtol=1e-4, atol=1e-6)


def test_without_resume_a_run_starts_afresh_in_the_same_folder(setup, tmp_path: Path):
    from training.trainer import latest_checkpoint, read_loss_log

    _train(setup, tmp_path / "run")
    _, again = _train(setup, tmp_path / "run", resume=False)
    assert again.resumed_from == 0
    assert [r["step"] for r in read_loss_log(tmp_path / "run" / "loss_log.jsonl")] == [1, 2, 3, 4]
    assert latest_checkpoint(tmp_path / "run").name == "step-4"


def test_the_loss_log_keeps_the_mean_of_the_steps_since_its_last_line(setup, tmp_path: Path):
    """log_every=3: lines at step 1 (itself), step 3 (mean of 2 and 3) and the last step (4)."""
    import dataclasses

    import torch

    from training import trainer
    from training.qlora import load_for_training
    from training.trainer import read_loss_log

    base, recipe, rows, pad_id = setup
    torch.manual_seed(0)
    model = load_for_training(str(base), recipe, torch.device("cpu"))
    seen: list[float] = []
    args = dataclasses.replace(recipe.train, log_every=3)
    trainer.setup(model, rows, args=args, out_dir=tmp_path, pad_id=pad_id, show_progress=False,
                  on_step=lambda step, result: seen.append(result.loss))  # fmt: skip
    log = read_loss_log(tmp_path / "loss_log.jsonl")
    assert [r["step"] for r in log] == [1, 3, 4]
    expected = [seen[0], (seen[1] + seen[2]) / 2, seen[3]]
    assert [r["loss"] for r in log] == pytest.approx(expected, rel=1e-5)
    assert len(set(seen)) == 4, "four different step losses, or the test proves nothing"
