"""Train on from the served adapter: the round's LoRA starts where the served model's ended.

The existing pipeline builds the model (`qlora.load_for_training`) and runs the loop
(`trainer.setup`); continuing means giving the fresh adapter the served adapter's shape (its rank,
scale and target modules) and then its weights, before the first step. Without a served adapter
(the first round on a base or on a model built elsewhere) the round starts a new one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from takeaways_daemon.errors import TakeawaysError
from training.recipe import LoraArgs, Recipe


class RoundTrainingError(TakeawaysError):
    """The round's training could not run."""


def recipe_for_adapter(recipe: Recipe, adapter: Path | None) -> Recipe:
    """The recipe with its LoRA shape taken from `adapter` (so its weights load)."""
    if adapter is None:
        return recipe
    config = json.loads((adapter / "adapter_config.json").read_text())
    lora = LoraArgs(
        r=int(config["r"]),
        alpha=int(config["lora_alpha"]),
        dropout=float(config.get("lora_dropout", recipe.lora.dropout)),
        target_modules=tuple(sorted(config["target_modules"])),
    )
    return replace(recipe, lora=lora)


def train_round(
    base_path: str,
    recipe: Recipe,
    rows: list[dict[str, Any]],
    work_dir: Path,
    *,
    start_from: Path | None,
) -> dict[str, Any]:
    """Fit the round's rows, continuing `start_from`; the adapter goes to `work_dir/adapter`."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    from training.base_model import load_tokenizer
    from training.packing import pack_examples, rows_from_examples
    from training.qlora import load_for_training
    from training.tokenize_examples import tokenize_rows
    from training.trainer import setup

    recipe = recipe_for_adapter(recipe, start_from)
    args = recipe.train
    tokenizer = load_tokenizer(base_path)
    examples, dropped = tokenize_rows(tokenizer, rows, args.max_seq_len)
    if not examples:
        raise RoundTrainingError(f"no example fits {args.max_seq_len} tokens")
    packed = (
        pack_examples(examples, args.max_seq_len) if args.pack else rows_from_examples(examples)
    )
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = load_for_training(base_path, recipe, device)
    if start_from is not None:
        weights = load_file(str(start_from / "adapter_model.safetensors"))
        result = set_peft_model_state_dict(model, weights)
        missing = [key for key in getattr(result, "unexpected_keys", []) if "lora" in key]
        if missing:
            raise RoundTrainingError(f"the served adapter does not fit the base: {missing[:3]}")
    train_dir = work_dir / "train"
    fitted = setup(
        model, packed, args=args, out_dir=train_dir, pad_id=tokenizer.pad_token_id,
        show_progress=False,
    )  # fmt: skip
    adapter_dir = work_dir / "adapter"
    shutil.rmtree(adapter_dir, ignore_errors=True)
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    return {
        "continued_from": str(start_from) if start_from else None,
        "steps": fitted.steps,
        "final_loss": round(fitted.final_loss, 4),
        "examples": len(examples),
        "dropped_too_long": dropped,
        "seconds": round(fitted.seconds, 1),
    }
