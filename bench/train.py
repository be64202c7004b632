"""Training throughput: useful (non-padding) tokens per second, our trainer against the seed's.

Each side trains on the same examples, one run each:
- ours: sequence packing (no cross-example attention), the loss and LM head only on answer
  tokens, LoRA through `training.trainer.setup` (the recipe of the base: plain LoRA in float32 on
  the CPU, NF4 QLoRA on a GPU);
- the seed: a plain transformers `Trainer` with the seed's settings (QLoRA: NF4 with double
  quantization and bf16 compute, `prepare_model_for_kbit_training`; batch 4, gradient
  accumulation 4, lr 2e-4, gradient checkpointing, the same LoRA), padding to the longest example
  in each batch and the loss over the full vocabulary. On a CPU it also runs a second time with
  ours' precision (float32 weights under bf16 autocast, no 4-bit), which shows what the training
  loop gains apart from skipping bitsandbytes' slow CPU dequantization.

CPU (target ≥ 4x): the packaged gemma-3-270m (`--base embedded`) on examples mined from local
Python source (or `--data FILE.jsonl`):
    .venv/bin/python bench/train.py --examples 64
GPU (targets ≥ 10x, peak ≤ 12 GiB): random weights of the Mistral-7B-v0.1 shape, synthetic
token examples with a realistic spread of lengths, both trainers in 4-bit:
    python bench/train.py --device cuda --shape mistral-7b
    python bench/train.py --device cuda --shape mistral-7b --ddp 2   # adds 2-GPU DDP scaling
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.recipe import Recipe, load_recipe
from training.tokenize_examples import IGNORE_INDEX, TokenizedExample

MISTRAL_7B_DIR = Path(tempfile.gettempdir()) / "takeaways-bench-mistral-7b-random"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--shape", choices=["gemma-3-270m", "mistral-7b"], default=None)
    parser.add_argument("--data", type=Path, help="Alpaca JSONL (CPU mode; default: mined)")
    parser.add_argument("--examples", type=int, default=None, help="how many examples")
    parser.add_argument("--ddp", type=int, default=0, help="also run ours on N GPUs (torchrun)")
    parser.add_argument(
        "--seed-precision",
        choices=["4bit", "bf16", "fp32"],
        nargs="+",
        help="the seed's base weights, one seed run each: 4bit = its QLoRA recipe (NF4, bf16 "
        "compute); bf16 = float32 weights under bf16 autocast, the precision ours uses on a CPU; "
        "fp32. Default: 4bit and bf16 on a CPU, 4bit on a GPU",
    )
    parser.add_argument("--only", choices=["ours", "seed"], help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = args.shape or ("mistral-7b" if args.device == "cuda" else "gemma-3-270m")
    count = args.examples or (96 if shape == "mistral-7b" else 64)

    base, recipe, examples, pad_id = prepare(shape, args.data, count)
    if args.only:  # a torchrun worker: ours only, result written for rank 0 to add up
        result = run_ours(base, recipe, examples, pad_id, args.device)
        if args.result:
            rank = int(os.environ.get("RANK", "0"))
            args.result.with_suffix(f".{rank}.json").write_text(json.dumps(result))
        return
    device_name = describe_device(args.device)
    print(f"shape {shape} · {len(examples)} examples · {device_name}", flush=True)
    ours = run_ours(base, recipe, examples, pad_id, args.device)
    print(f"ours: {summary_line(ours)}", flush=True)
    target = 10.0 if args.device == "cuda" else 4.0
    report: dict[str, Any] = {"device": device_name, "shape": shape, "ours": ours, "seeds": {},
                              "target": target}  # fmt: skip
    precisions = args.seed_precision or (["4bit"] if args.device == "cuda" else ["4bit", "bf16"])
    for precision in precisions:
        seed = run_seed(base, recipe, examples, pad_id, args.device, precision)
        seed["ratio"] = round(ours["tokens_per_s"] / seed["tokens_per_s"], 2)
        report["seeds"][precision] = seed
        print(f"seed ({precision}): {summary_line(seed)}", flush=True)
    if args.ddp > 1:
        report["ddp"] = run_ddp(args, shape, count, ours)
    print(json.dumps(report, indent=1))
    for precision, seed in report["seeds"].items():
        print(f"ratio ours/seed ({precision}): {seed['ratio']:.2f}x (target ≥ {target:.0f}x)")


def prepare(shape: str, data: Path | None, count: int):
    """The base folder, our recipe for it, and the examples both sides train on."""
    # No checkpoints on either side: the seed's Trainer runs with save_strategy="no".
    no_saves = {"epochs": 1, "save_every_epoch": False, "checkpoint_every": 10**9}
    if shape == "mistral-7b":
        base = build_random_mistral_7b()
        recipe = load_recipe("mistral-7b").with_overrides(base=str(base), **no_saves)
        return str(base), recipe, synthetic_examples(count, vocab=32000), 0
    from training.base_model import load_tokenizer, resolve_base
    from training.tokenize_examples import tokenize_rows

    base = resolve_base("embedded")
    recipe = load_recipe("gemma-3-270m").with_overrides(base=base, max_steps=None, **no_saves)
    tokenizer = load_tokenizer(base)
    rows = load_rows(data, count)
    examples, _ = tokenize_rows(tokenizer, rows, recipe.train.max_seq_len)
    return base, recipe, examples[:count], tokenizer.pad_token_id


def load_rows(data: Path | None, count: int) -> list[dict[str, Any]]:
    """Alpaca rows: the given file, or examples mined from this machine's Python source."""
    if data is not None:
        rows = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    else:
        from training.data import build_dataset

        result = build_dataset(mine=True, max_per_kind=max(8, count // 4), progress=False)
        rows = [record.to_dict() for record in result.records]
    random.Random(0).shuffle(rows)
    return rows[: count * 2]


def synthetic_examples(count: int, vocab: int) -> list[TokenizedExample]:
    """Token examples shaped like the mined set: 64-1024 tokens, the last ~35% the answer."""
    rng = random.Random(0)
    examples = []
    for _ in range(count):
        size = int(min(1024, max(64, rng.lognormvariate(5.6, 0.6))))
        ids = [rng.randrange(3, vocab) for _ in range(size)]
        answer = max(8, int(size * 0.35))
        examples.append(TokenizedExample(ids, [IGNORE_INDEX] * (size - answer) + ids[-answer:]))
    return examples


def build_random_mistral_7b() -> Path:
    """Save random weights of the Mistral-7B-v0.1 shape (bf16) once, for both loaders."""
    if (MISTRAL_7B_DIR / "config.json").is_file():
        return MISTRAL_7B_DIR
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    config = MistralConfig(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                           num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                           max_position_embeddings=32768, sliding_window=4096,
                           dtype="bfloat16")  # fmt: skip
    with torch.device("cuda"):
        model = MistralForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(MISTRAL_7B_DIR)
    del model
    torch.cuda.empty_cache()
    return MISTRAL_7B_DIR


def _device(kind: str) -> Any:
    import torch

    if kind == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def run_ours(base: str, recipe: Recipe, examples: list, pad_id: int, kind: str) -> dict:
    """Our trainer: packed rows, answer-only loss, LoRA (QLoRA on GPU)."""
    import torch

    from training.packing import pack_examples
    from training.qlora import load_for_training
    from training.trainer import setup

    device = _device(kind)
    torch.manual_seed(0)
    model = load_for_training(base, recipe, device)
    rows = pack_examples(examples, recipe.train.max_seq_len)
    _reset_peak(kind)
    with tempfile.TemporaryDirectory() as scratch:
        result = setup(model, rows, args=recipe.train, out_dir=Path(scratch), pad_id=pad_id,
                       show_progress=False)  # fmt: skip
    return {"tokens": result.tokens, "seconds": round(result.seconds, 2), "steps": result.steps,
            "tokens_per_s": round(result.tokens_per_second, 1),
            "peak_gib": _peak(kind)}  # fmt: skip


def run_seed(
    base: str, recipe: Recipe, examples: list, pad_id: int, kind: str, precision: str = "4bit"
) -> dict:
    """The seed's recipe through a plain transformers Trainer, padding to the longest."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (
        AutoModelForCausalLM,
        BitsAndBytesConfig,
        Trainer,  # fmt: skip
        TrainingArguments,
    )

    device = _device(kind)
    kwargs: dict[str, Any] = {"device_map": {"": device}}
    if precision == "4bit":
        if kind == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dtype = kwargs["dtype"] = torch.bfloat16  # bitsandbytes' CPU kernels compute in bf16
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )  # fmt: skip
    elif kind == "cuda":
        raise SystemExit("on a GPU the seed runs its own recipe only: --seed-precision 4bit")
    else:
        kwargs["dtype"] = torch.float32
    model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
    model.config.use_cache = False
    if precision == "4bit":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    torch.manual_seed(0)
    model = get_peft_model(model, LoraConfig(
        r=recipe.lora.r, lora_alpha=recipe.lora.alpha, lora_dropout=recipe.lora.dropout,
        target_modules=list(recipe.lora.target_modules), task_type="CAUSAL_LM"))  # fmt: skip
    # The seed trains on whole sequences: labels are the inputs, padding masked.
    # A plain list is a map-style dataset to Trainer (no `datasets` needed on a GPU image).
    data = [{"input_ids": e.input_ids, "labels": e.input_ids} for e in examples]
    collator = _PadCollator(pad_id)
    seed_batch, seed_accum = 4, 4
    settings = TrainingArguments(
        output_dir=tempfile.mkdtemp(), per_device_train_batch_size=seed_batch,
        gradient_accumulation_steps=seed_accum, learning_rate=2e-4, num_train_epochs=1,
        logging_steps=10, save_strategy="no", report_to=[], gradient_checkpointing=True,
        gradient_checkpointing_kwargs={"use_reentrant": False}, use_cpu=kind == "cpu",
        disable_tqdm=True, dataloader_num_workers=0, remove_unused_columns=False,
        bf16=precision == "bf16",  # autocast: float32 weights, bf16 matmuls (as ours on a CPU)
    )  # fmt: skip
    trainer = Trainer(model=model, args=settings, train_dataset=data, data_collator=collator)
    _reset_peak(kind)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    tokens = sum(len(e.input_ids) for e in examples)
    return {"tokens": tokens, "seconds": round(seconds, 2),
            "steps": trainer.state.global_step, "tokens_per_s": round(tokens / seconds, 1),
            "peak_gib": _peak(kind)}  # fmt: skip


class _PadCollator:
    """Pad to the longest in the batch, with an attention mask; labels -100 on padding."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: list[dict]) -> dict:
        from training.packing import collate_padded

        examples = [TokenizedExample(f["input_ids"], f["labels"]) for f in features]
        return collate_padded(examples, self.pad_id)


def run_ddp(args: argparse.Namespace, shape: str, count: int, single: dict) -> dict:
    """Ours on N GPUs through torchrun (DDP via accelerate); scaling against one GPU."""
    with tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "ddp"
        command = ["torchrun", f"--nproc_per_node={args.ddp}", __file__, "--device", "cuda",
                   "--shape", shape, "--examples", str(count), "--only", "ours",
                   "--result", str(result)]  # fmt: skip
        subprocess.run(command, check=True)
        parts = [json.loads(p.read_text()) for p in sorted(Path(scratch).glob("ddp.*.json"))]
    tokens = sum(p["tokens"] for p in parts)
    seconds = max(p["seconds"] for p in parts)
    scaling = tokens / seconds / single["tokens_per_s"]
    line = {"gpus": args.ddp, "tokens_per_s": round(tokens / seconds, 1),
            "scaling": round(scaling, 2), "target": 1.8}  # fmt: skip
    print(f"ddp x{args.ddp}: {line['tokens_per_s']} tokens/s, scaling {scaling:.2f}x (≥ 1.8x?)")
    return line


def _reset_peak(kind: str) -> None:
    if kind == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()


def _peak(kind: str) -> float | None:
    if kind != "cuda":
        return None
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**30, 2)


def describe_device(kind: str) -> str:
    """The card or CPU the numbers come from."""
    if kind == "cuda":
        import torch

        return f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    return f"CPU, {os.cpu_count()} cores"


def summary_line(result: dict) -> str:
    peak = f", peak {result['peak_gib']} GiB" if result.get("peak_gib") is not None else ""
    return (f"{result['tokens_per_s']} useful tokens/s ({result['tokens']} tokens in "
            f"{result['seconds']} s, {result['steps']} steps{peak})")  # fmt: skip


if __name__ == "__main__":
    main()
