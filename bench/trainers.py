"""The trainers `bench/train.py` races, each timed per optimizer step on the same examples.

- `ours`: `training.trainer.setup` with the base's recipe (packing, answer-only fused loss).
- `seed`: the seed's recipe through a plain transformers `Trainer` (padded batches of 4,
  accumulation 4, the loss over the whole sequence); `seed-bf16` / `seed-fp32` load the base in
  that precision instead of 4-bit (CPU only).
- `plain`, `plain-apart`, `plain-liger`: a thirty-line transformers + peft loop over the same
  packed rows as ours, with transformers' own loss: no cross-example masking; examples kept apart
  by restarting `position_ids`; the same with Liger-Kernel's Mistral patches.
- `plain-amp`: `plain-apart` under bf16 autocast, as transformers' `Trainer` runs with
  `bf16=True`: the LoRA matmuls and the float32 residual stream the k-bit preparation leaves
  then run in bf16. A stronger plain loop than the seed's precision gives.

Each run reports whole-run tokens/s (every step, the first one's set-up included), steady-state
tokens/s (after `warmup` steps) and the peak GPU memory.

`ours+A+B` runs ours with experimental changes (see `VARIANTS`), to measure a lead before it
becomes the default. With BENCH_PROFILE_DIR set, each trainer's last step runs under the torch
profiler (left out of the steady state) and its table of kernels is written there.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.packing import collate_packed, pack_examples
from training.recipe import Recipe
from training.tokenize_examples import TokenizedExample

PLAIN = ("plain", "plain-apart", "plain-liger", "plain-amp")
SEEDS = ("seed", "seed-bf16", "seed-fp32")
TRAINERS = ("seed", "plain", "plain-apart", "plain-liger", "ours", "plain-amp", "seed-bf16",
            "seed-fp32")  # fmt: skip
VARIANTS = {
    "fp32frozen": "the seed's float32 norms, embeddings and head (no cast back to bf16)",
    "noliger": "without Liger-Kernel's RMSNorm, RoPE and SwiGLU",
    "mb4": "micro-batches of 4 rows, accumulation 4 (the seed's shape)",
    "mb16": "micro-batches of 16 rows, no accumulation",
    "noamp": "no bf16 autocast on a GPU (peft then runs every LoRA path in float32)",
    "flex": "attn_implementation='flex_attention'",
}


class Skipped(Exception):
    """This trainer cannot run here (say, Liger without a GPU); the reason is reported."""


@dataclass
class StepClock:
    """End time and tokens of every optimizer step, the device synchronized first."""

    device: str
    started: float = field(default_factory=time.perf_counter)
    marks: list[tuple[float, int]] = field(default_factory=list)
    # Profile the step after this many (the last one), writing its table to `profile_to`.
    profile_after: int | None = None
    profile_to: Path | None = None
    _profiler: Any = None

    def step(self, tokens: int) -> None:
        _synchronize(self.device)
        self.marks.append((time.perf_counter(), tokens))
        if self._profiler is not None:
            self._profiler.__exit__(None, None, None)
            order = "self_device_time_total" if self.device == "cuda" else "self_cpu_time_total"
            table = self._profiler.key_averages().table(sort_by=order, row_limit=40)
            assert self.profile_to is not None
            self.profile_to.write_text(table)
            self._profiler = None
        elif self.profile_after is not None and len(self.marks) == self.profile_after:
            import torch

            activities = [torch.profiler.ProfilerActivity.CPU]
            if self.device == "cuda":
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            self._profiler = torch.profiler.profile(activities=activities)
            self._profiler.__enter__()

    def summary(self, warmup: int) -> dict[str, Any]:
        """Whole-run and steady-state (steps after `warmup`) tokens per second."""
        tokens = sum(t for _, t in self.marks)
        seconds = self.marks[-1][0] - self.started if self.marks else 0.0
        result: dict[str, Any] = {
            "steps": len(self.marks),
            "tokens": tokens,
            "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1) if seconds else None,
            "steady_tokens_per_s": None,
        }
        marks = self.marks[:-1] if self.profile_after is not None else self.marks
        if len(marks) > warmup and warmup >= 1:
            steady = sum(t for _, t in marks[warmup:])
            span = marks[-1][0] - marks[warmup - 1][0]
            result["steady_tokens_per_s"] = round(steady / span, 1) if span else None
        return result


def run_trainer(
    name: str,
    base: str,
    recipe: Recipe,
    datasets: dict[str, list[TokenizedExample]],
    pad_id: int,
    kind: str,
    *,
    steps: int | None,
    warmup: int,
) -> dict[str, dict[str, Any]]:
    """One trainer on every data set (the model loaded once); results by data set name."""
    if name.split("+")[0] == "ours":
        run = _ours(base, recipe, pad_id, kind, set(name.split("+")[1:]))
    elif name in SEEDS:
        run = _seed(base, recipe, pad_id, kind, name.removeprefix("seed").strip("-") or "4bit")
    elif name in PLAIN:
        run = _plain(base, recipe, pad_id, kind, apart=name != "plain", liger=name == "plain-liger",
                     amp=name == "plain-amp")  # fmt: skip
    else:
        raise ValueError(f"unknown trainer {name!r}")
    results = {}
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    for data_name, examples in datasets.items():
        _reset_peak(kind)
        clock = StepClock(kind)
        if profile_dir and steps:
            clock.profile_after = steps - 1
            safe = f"{name}-{data_name}".replace("+", "_").replace(" ", "_")
            clock.profile_to = Path(profile_dir) / f"profile-{safe}.txt"
        run(examples, steps, clock)
        results[data_name] = {**clock.summary(warmup), "peak_gib": _peak(kind)}
    return results


Run = Callable[[list[TokenizedExample], int | None, StepClock], None]


def _ours(base: str, recipe: Recipe, pad_id: int, kind: str, variants: set[str]) -> Run:
    from contextlib import nullcontext

    import torch

    from training import qlora, trainer

    unknown = variants - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    device = device_for(kind)
    if "flex" in variants:
        qlora.attention_implementation = lambda device: "flex_attention"  # type: ignore[assignment]
    if "fp32frozen" in variants:
        qlora.frozen_in_compute_dtype = lambda model, dtype: 0  # type: ignore[assignment]
    if "noliger" in variants:
        recipe = recipe.with_overrides(liger_kernels=False)
    for size in (4, 16):
        if f"mb{size}" in variants:
            rows_a_step = recipe.train.batch_size * recipe.train.grad_accum
            recipe = recipe.with_overrides(batch_size=size, grad_accum=max(1, rows_a_step // size))
    if "noamp" in variants and device.type == "cuda":
        trainer.autocast_for = lambda device, wanted: nullcontext()  # type: ignore[assignment]
    torch.manual_seed(0)
    model = qlora.load_for_training(base, recipe, device)

    def run(examples: list[TokenizedExample], steps: int | None, clock: StepClock) -> None:
        args = recipe.train if steps is None else recipe.with_overrides(max_steps=steps).train
        rows = pack_examples(examples, args.max_seq_len)
        with tempfile.TemporaryDirectory() as scratch:
            # The whole run starts before setup: accelerate and the optimizer count too.
            clock.started = time.perf_counter()
            trainer.setup(model, rows, args=args, out_dir=Path(scratch), pad_id=pad_id,
                          show_progress=False,
                          on_step=lambda step, r: clock.step(r.tokens))  # fmt: skip

    return run


def _load_4bit(base: str, device: Any) -> Any:
    """The base in NF4 with double quantization, prepared for k-bit training (the seed's way)."""
    import torch
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    dtype = torch.bfloat16
    quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                      bnb_4bit_use_double_quant=True,
                                      bnb_4bit_compute_dtype=dtype)  # fmt: skip
    kwargs: dict[str, Any] = {"device_map": {"": device}, "quantization_config": quantization}
    if device.type == "cpu":
        kwargs["dtype"] = dtype  # bitsandbytes' CPU kernels compute in bf16
    model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
    model.config.use_cache = False
    return prepare_model_for_kbit_training(
        model,
        use_gradient_checkpointing=True,
        gradient_checkpointing_kwargs={"use_reentrant": False},
    )


def _lora(model: Any, recipe: Recipe) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    lora = recipe.lora
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=list(lora.target_modules),
                        task_type="CAUSAL_LM")  # fmt: skip
    return get_peft_model(model, config)


def _plain(
    base: str, recipe: Recipe, pad_id: int, kind: str, *, apart: bool, liger: bool, amp: bool
) -> Run:
    """The thirty-line loop: packed rows, `model(**batch).loss`, AdamW, accumulation."""
    from contextlib import nullcontext

    import torch

    device = device_for(kind)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if amp else nullcontext()
    if liger:
        if device.type != "cuda":
            raise Skipped("Liger-Kernel's Triton kernels need a GPU")
        try:
            from liger_kernel.transformers import apply_liger_kernel_to_mistral
        except ImportError as error:
            raise Skipped(f"liger-kernel is not installed ({error})") from None
        apply_liger_kernel_to_mistral()  # patches the Mistral classes before loading
    model = _lora(_load_4bit(base, device), recipe)
    # The seed's batch shape, 4 rows a micro-batch and 4 of those a step, in ours' row length.
    args = recipe.with_overrides(batch_size=4, grad_accum=4).train

    def run(examples: list[TokenizedExample], steps: int | None, clock: StepClock) -> None:
        rows = pack_examples(examples, args.max_seq_len)
        batches = [rows[i : i + args.batch_size] for i in range(0, len(rows), args.batch_size)]
        groups = [batches[i : i + args.grad_accum] for i in range(0, len(batches), args.grad_accum)]
        groups = groups[:steps] if steps else groups
        clock.started = time.perf_counter()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=args.lr)
        model.train()
        for group in groups:
            tokens = 0
            for micro in group:
                batch = collate_packed(micro, pad_id)
                tokens += sum(len(row.input_ids) for row in micro)
                if not apart:
                    del batch["position_ids"]  # one causal sequence per row
                batch = {key: value.to(device) for key, value in batch.items()}
                with autocast:
                    loss = model(**batch).loss
                (loss / len(group)).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            clock.step(tokens)

    return run


def _seed(base: str, recipe: Recipe, pad_id: int, kind: str, precision: str) -> Run:
    """The seed's recipe through a plain transformers `Trainer`, padding to the longest."""
    import torch
    from transformers import AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments

    device = device_for(kind)
    if precision == "4bit":
        model = _load_4bit(base, device)
    elif kind == "cuda":
        raise Skipped("on a GPU the seed runs its own recipe only (4-bit)")
    else:
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32,
                                                     device_map={"": device})  # fmt: skip
        model.config.use_cache = False
    model = _lora(model, recipe)
    seed_batch, seed_accum = 4, 4

    def run(examples: list[TokenizedExample], steps: int | None, clock: StepClock) -> None:
        # The seed trains on whole sequences: labels are the inputs, padding masked.
        data = [{"input_ids": e.input_ids, "labels": e.input_ids} for e in examples]
        if steps:
            data = data[: steps * seed_batch * seed_accum]
        collator = _PadCollator(pad_id)

        class Clock(TrainerCallback):  # type: ignore[misc]
            def on_step_end(self, *args: Any, **kwargs: Any) -> None:
                done = len(clock.marks)
                sizes = collator.sizes[done * seed_accum : (done + 1) * seed_accum]
                clock.step(sum(sizes))

        settings = TrainingArguments(
            output_dir=tempfile.mkdtemp(), per_device_train_batch_size=seed_batch,
            gradient_accumulation_steps=seed_accum, learning_rate=2e-4, num_train_epochs=1,
            logging_steps=10, save_strategy="no", report_to=[], gradient_checkpointing=True,
            gradient_checkpointing_kwargs={"use_reentrant": False}, use_cpu=kind == "cpu",
            disable_tqdm=True, dataloader_num_workers=0, remove_unused_columns=False,
            bf16=precision == "bf16", seed=0,
        )  # fmt: skip
        trainer = Trainer(model=model, args=settings, train_dataset=data, data_collator=collator,
                          callbacks=[Clock()])  # fmt: skip
        clock.started = time.perf_counter()
        trainer.train()

    return run


class _PadCollator:
    """Pad to the longest in the batch, with an attention mask; counts each batch's tokens."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id
        self.sizes: list[int] = []  # useful tokens of each micro-batch, in order

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        from training.packing import collate_padded

        examples = [TokenizedExample(f["input_ids"], f["labels"]) for f in features]
        self.sizes.append(sum(len(e.input_ids) for e in examples))
        return collate_padded(examples, self.pad_id)


def device_for(kind: str) -> Any:
    """This process's device: the GPU of its local rank, or the CPU."""
    import torch

    if kind == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def _synchronize(device_type: str) -> None:
    if device_type == "cuda":
        import torch

        torch.cuda.synchronize()


def _reset_peak(kind: str) -> None:
    if kind == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()


def _peak(kind: str) -> float | None:
    if kind != "cuda":
        return None
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**30, 2)
