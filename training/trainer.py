"""The training loop: fit a LoRA adapter on packed, answer-only batches, resumable.

Reads top to bottom, as litgpt's `finetune/lora.py` does:
- `setup()` is the entry point (its docstring documents every argument): it starts accelerate
  and holds a slice of the rows out of training;
- `main()` builds the optimizer and schedule, resumes from the last checkpoint, runs `fit()` and
  saves the final checkpoint and the loss curve;
- `fit()` runs the optimizer steps: `train_step()` is one step over its micro-batches,
  `validate()` the answer-only loss on the held-out rows, logged beside the training loss;
- `rank_batches()` deals each process its micro-batches of an epoch (accelerate's
  `BatchSamplerShard`); the loss log, its curve and the checkpoints come last.
Multi-GPU runs go through an existing engine: start this under `accelerate launch` or
`torchrun` and accelerate wraps the loss module in DDP.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from takeaways_daemon.errors import TakeawaysError
from training.answer_loss import loss_module
from training.packing import PackedRow, collate_packed
from training.recipe import TrainArgs
from training.tokenize_examples import IGNORE_INDEX

CHECKPOINTS = "checkpoints"
LOSS_LOG = "loss_log.jsonl"
LOSS_PNG = "loss_curve.png"
_KEEP_CHECKPOINTS = 2
Batch = TypeVar("Batch")


class TrainingInterrupted(TakeawaysError):
    """Training stopped early; the last checkpoint holds its progress."""

    exit_code = 130


@dataclass(frozen=True)
class FitResult:
    """What a finished run produced and how fast it went."""

    steps: int
    final_loss: float
    tokens: int
    answer_tokens: int
    # The training loop's time: checkpoints within it count; validation, the final save and the
    # plot do not (validation is measurement, and a bench compares training alone).
    seconds: float
    resumed_from: int
    # The answer-only loss on the held-out rows at the last validation (None: no rows held out).
    validation_loss: float | None = None
    validation_rows: int = 0
    validation_seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        """Useful (non-padding) tokens processed per second of this run."""
        return self.tokens / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class StepResult:
    """One optimizer step: its mean micro-batch loss and the tokens it trained on."""

    loss: float
    tokens: int
    answer_tokens: int


@dataclass(frozen=True)
class _Parts:
    """What every stage of a run shares: accelerate, the model, its optimizer and schedule."""

    accelerator: Any
    model: Any  # the peft model: its adapter is what checkpoints save
    loss: Any  # the answer-only loss module around it, prepared by accelerate (DDP on GPUs)
    optimizer: Any
    scheduler: Any
    autocast: AbstractContextManager[Any]
    pad_id: int


@dataclass
class _Totals:
    """A run's running counts; `main()` reads them even when `fit()` is interrupted."""

    step: int
    tokens: int = 0
    answer_tokens: int = 0
    last_loss: float = float("nan")
    validation_loss: float | None = None
    validation_seconds: float = 0.0


def setup(
    model: Any,
    rows: Sequence[PackedRow],
    *,
    args: TrainArgs,
    out_dir: Path,
    pad_id: int,
    resume: bool = False,
    on_step: Callable[[int, StepResult], None] | None = None,
    show_progress: bool = True,
) -> FitResult:
    """Train `model` on `rows` under accelerate; the entry point of every training run.

    Arguments:
        model: a peft model with a trainable LoRA adapter (`training.qlora.load_for_training`).
        rows: packed rows (`training.packing`), longest first; `args.validation_fraction` of
            them are held out of training and give the validation loss.
        args: the recipe's optimisation settings: epochs, batch shape, learning rate, logging,
            validation and checkpoint intervals, seed.
        out_dir: where checkpoints, the loss log and the loss curve go.
        pad_id: the token id that pads a micro-batch's shorter rows.
        resume: continue from the newest checkpoint in `out_dir`; without it, old checkpoints
            there are removed and the run starts afresh.
        on_step: called after each optimizer step with its number and result (loss, tokens).
        show_progress: show a progress bar (main process only).
    """
    from accelerate import Accelerator

    accelerator = Accelerator()
    out_dir.mkdir(parents=True, exist_ok=True)
    train_rows, held_out = hold_out(rows, args.validation_fraction, args.seed)
    return main(accelerator, model, train_rows, held_out, args, out_dir, pad_id=pad_id,
                resume=resume, on_step=on_step, show_progress=show_progress)  # fmt: skip


def main(
    accelerator: Any,
    model: Any,
    train_rows: Sequence[PackedRow],
    held_out: Sequence[PackedRow],
    args: TrainArgs,
    out_dir: Path,
    *,
    pad_id: int,
    resume: bool,
    on_step: Callable[[int, StepResult], None] | None,
    show_progress: bool,
) -> FitResult:
    """Optimizer, schedule and resume; then `fit()`, the final checkpoint and the loss curve."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    batches = micro_batches(train_rows, args.batch_size)
    first_epoch = rank_batches(batches, epoch=0, seed=args.seed, accelerator=accelerator)
    steps_per_epoch = math.ceil(len(first_epoch) / args.grad_accum)
    total_steps = args.epochs * steps_per_epoch
    if args.max_steps is not None:
        total_steps = min(total_steps, args.max_steps)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, args.warmup_steps, total_steps)
    # The schedule stays outside accelerate: it counts this loop's steps, which are already
    # per rank (accelerate would step it once per process, for loaders it shards itself).
    wrapped, optimizer = accelerator.prepare(loss_module(model), optimizer)
    parts = _Parts(accelerator, model, wrapped, optimizer, scheduler,
                   autocast_for(accelerator.device, args.cpu_bf16), pad_id)  # fmt: skip

    if not resume and accelerator.is_main_process:  # a fresh run must not mix in old state
        shutil.rmtree(out_dir / CHECKPOINTS, ignore_errors=True)
    step = 0
    if resume and (checkpoint := latest_checkpoint(out_dir)) is not None:
        step = _load_checkpoint(checkpoint, model, optimizer, scheduler)
    if accelerator.is_main_process:
        _truncate_loss_log(out_dir / LOSS_LOG, step)

    totals = _Totals(step=step)
    started = time.perf_counter()
    try:
        fit(parts, batches, held_out, args, out_dir, totals, steps_per_epoch=steps_per_epoch,
            total_steps=total_steps, on_step=on_step, show_progress=show_progress)  # fmt: skip
    except KeyboardInterrupt:
        _save_checkpoint(out_dir, parts, totals.step)
        raise TrainingInterrupted(
            f"training stopped at step {totals.step} of {total_steps}; run again with --resume "
            f"to continue from {out_dir / CHECKPOINTS}"
        ) from None
    seconds = time.perf_counter() - started - totals.validation_seconds
    accelerator.wait_for_everyone()
    _save_checkpoint(out_dir, parts, totals.step)
    if accelerator.is_main_process:
        plot_loss_curve(out_dir / LOSS_LOG, out_dir / LOSS_PNG)
    return FitResult(
        steps=totals.step,
        final_loss=totals.last_loss,
        tokens=totals.tokens,
        answer_tokens=totals.answer_tokens,
        seconds=seconds,
        resumed_from=step,
        validation_loss=totals.validation_loss,
        validation_rows=len(held_out),
        validation_seconds=totals.validation_seconds,
    )


def fit(
    parts: _Parts,
    batches: Sequence[list[PackedRow]],
    held_out: Sequence[PackedRow],
    args: TrainArgs,
    out_dir: Path,
    totals: _Totals,
    *,
    steps_per_epoch: int,
    total_steps: int,
    on_step: Callable[[int, StepResult], None] | None,
    show_progress: bool,
) -> None:
    """Run optimizer steps from `totals.step` to `total_steps`: train, validate, log, save."""
    from tqdm.auto import tqdm

    accelerator = parts.accelerator
    held_out_batches = micro_batches(held_out, args.batch_size)
    # The log keeps the mean since its last line: single-step losses of small batches are too
    # noisy to read a trend from.
    since_logged: list[float] = []
    started = time.perf_counter()
    progress = tqdm(total=total_steps, initial=totals.step, desc="training", unit="step",
                    disable=not show_progress or not accelerator.is_main_process)  # fmt: skip
    parts.loss.train()
    steps = _steps(batches, args, accelerator, totals.step, steps_per_epoch, total_steps)
    try:
        for step, epoch, group in steps:
            result = train_step(parts, group)
            totals.step, totals.last_loss = step, result.loss
            totals.tokens += result.tokens
            totals.answer_tokens += result.answer_tokens
            since_logged.append(result.loss)
            progress.update(1)
            progress.set_postfix(loss=f"{result.loss:.4f}")
            end_of_epoch = step % steps_per_epoch == 0
            val_loss = None
            due = step % args.validate_every == 0 or end_of_epoch or step == total_steps
            if held_out and due:
                validation_started = time.perf_counter()
                val_loss = totals.validation_loss = validate(parts, held_out_batches)
                totals.validation_seconds += time.perf_counter() - validation_started
            if step % args.log_every == 0 or step in (1, total_steps) or val_loss is not None:
                mean_loss = sum(since_logged) / len(since_logged)
                since_logged.clear()
                elapsed = time.perf_counter() - started
                _log_loss(out_dir, parts, step, epoch, mean_loss, val_loss, elapsed)
            if step % args.checkpoint_every == 0 or (end_of_epoch and args.save_every_epoch):
                _save_checkpoint(out_dir, parts, step)
            if on_step is not None:
                on_step(step, result)
    finally:
        progress.close()


def train_step(parts: _Parts, group: Sequence[list[PackedRow]]) -> StepResult:
    """One optimizer step: forward and backward over each micro-batch of `group`, then step.

    Gradients are averaged over the group; DDP syncs them only on its last micro-batch.
    Accumulation is done here rather than by accelerate, so a short last group of an epoch
    still steps, and every rank runs the same number of groups (DDP needs that).
    """
    import torch

    accelerator = parts.accelerator
    losses, tokens, answer_tokens = [], 0, 0
    for position, rows in enumerate(group):
        batch = collate_packed(rows, parts.pad_id)
        tokens += sum(len(row.input_ids) for row in rows)
        answer_tokens += int((batch["labels"] != IGNORE_INDEX).sum())
        batch = {key: value.to(accelerator.device) for key, value in batch.items()}
        last = position == len(group) - 1
        with nullcontext() if last else accelerator.no_sync(parts.loss):
            with parts.autocast:
                loss = parts.loss(**batch)
            accelerator.backward(loss / len(group))
        losses.append(loss.detach())
    parts.optimizer.step()
    parts.scheduler.step()
    parts.optimizer.zero_grad(set_to_none=True)
    # One host sync per step, not one per micro-batch.
    return StepResult(float(torch.stack(losses).float().mean()), tokens, answer_tokens)


def validate(parts: _Parts, batches: Sequence[list[PackedRow]]) -> float:
    """The answer-only loss over every held-out answer token (each rank its share, summed)."""
    import torch

    accelerator = parts.accelerator
    # The module itself, not its DDP wrapper: ranks may run different numbers of batches, and
    # DDP's forward would wait on the others to sync buffers.
    module = accelerator.unwrap_model(parts.loss)
    summed = torch.zeros(2, dtype=torch.float64, device=accelerator.device)  # loss sum, count
    module.eval()
    with torch.no_grad():
        mine = rank_batches(batches, epoch=None, accelerator=accelerator)
        for rows in mine:
            batch = collate_packed(rows, parts.pad_id)
            # Position i predicts token i + 1: the loss averages over the shifted labels.
            count = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
            if count == 0:
                continue
            batch = {key: value.to(accelerator.device) for key, value in batch.items()}
            with parts.autocast:
                loss = module(**batch)
            summed += torch.stack([loss.double() * count, loss.new_tensor(count).double()])
    module.train()
    total, count = accelerator.reduce(summed, reduction="sum").tolist()
    return total / count if count else float("nan")


def hold_out(
    rows: Sequence[PackedRow], fraction: float, seed: int
) -> tuple[list[PackedRow], list[PackedRow]]:
    """Split rows into (train, held out): `fraction` of them, at least one, picked by `seed`.

    With fewer than two rows nothing is held out. Both keep the rows' order (longest first).
    """
    count = 0
    if fraction > 0 and len(rows) >= 2:
        count = min(max(round(len(rows) * fraction), 1), len(rows) - 1)
    chosen = set(random.Random(seed).sample(range(len(rows)), count))
    train = [row for index, row in enumerate(rows) if index not in chosen]
    return train, [row for index, row in enumerate(rows) if index in chosen]


def micro_batches(rows: Sequence[PackedRow], batch_size: int) -> list[list[PackedRow]]:
    """Rows grouped into micro-batches of similar length (rows arrive longest first)."""
    return [list(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]


def rank_batches(
    batches: Sequence[Batch],
    *,
    epoch: int | None,
    seed: int = 0,
    accelerator: Any = None,
    num_processes: int = 1,
    process_index: int = 0,
) -> list[Batch]:
    """This process's micro-batches of one epoch (`epoch` None: the held-out pass), in order.

    A training epoch's order is a shuffle seeded by (`seed`, `epoch`), the same again on
    resume; accelerate's `BatchSamplerShard` deals it out round-robin, and every process gets
    the same count (the last ones loop back to the start), as DDP needs. The held-out pass keeps
    the given order and repeats nothing, so a rank may get one batch fewer. `accelerator`, when
    given, supplies the process count and index.
    """
    from accelerate.data_loader import BatchSamplerShard

    if accelerator is not None:
        num_processes, process_index = accelerator.num_processes, accelerator.process_index
    order = range(len(batches)) if epoch is None else _epoch_order(len(batches), seed, epoch)
    # A plain list has no `batch_size`: the shard then takes each item as one whole batch.
    shard = BatchSamplerShard(
        [batches[i] for i in order],  # type: ignore[arg-type]
        num_processes=num_processes,
        process_index=process_index,
        even_batches=epoch is not None,
    )
    return list(shard)


def _steps(
    batches: Sequence[list[PackedRow]],
    args: TrainArgs,
    accelerator: Any,
    start: int,
    steps_per_epoch: int,
    total_steps: int,
) -> Iterator[tuple[int, int, list[list[PackedRow]]]]:
    """(step number, epoch, its micro-batches) for every step after `start`."""
    step = start
    while step < total_steps:
        epoch, done_in_epoch = divmod(step, steps_per_epoch)
        mine = rank_batches(batches, epoch=epoch, seed=args.seed, accelerator=accelerator)
        groups = [mine[i : i + args.grad_accum] for i in range(0, len(mine), args.grad_accum)]
        for group in groups[done_in_epoch:]:
            step += 1
            yield step, epoch, group
            if step >= total_steps:
                return


def autocast_for(device: Any, cpu_bf16: bool) -> AbstractContextManager[Any]:
    """bf16 autocast on a GPU with bf16, and on a CPU with bf16 instructions when `cpu_bf16`.

    On a GPU the frozen base runs in bf16 while the LoRA weights stay float32 (peft keeps
    adapters in float32); without autocast peft casts every projection's input to float32 for
    its adapter, so the LoRA path and its casts ran in float32. Under autocast they run in bf16
    with float32 master weights and gradients, as transformers' `Trainer` does with
    `bf16=True`: 1.35x the tokens/s on an H200 (bench/train.py, `ours+noamp`).
    """
    import torch

    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()  # fp16 autocast would need a loss scaler
    has_bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    has_amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    if cpu_bf16 and device.type == "cpu" and (has_bf16 or has_amx):
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()


def _epoch_order(count: int, seed: int, epoch: int) -> list[int]:
    """The batch order of one epoch: shuffled, and the same again when a run resumes."""
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def _log_loss(
    out_dir: Path,
    parts: _Parts,
    step: int,
    epoch: int,
    loss: float,
    val_loss: float | None,
    elapsed: float,
) -> None:
    """Append one line to the loss log (main process only)."""
    if not parts.accelerator.is_main_process:
        return
    record: dict[str, Any] = {"step": step, "epoch": epoch, "loss": round(loss, 6)}
    if val_loss is not None:
        record["val_loss"] = round(val_loss, 6)
    record["lr"] = parts.scheduler.get_last_lr()[0]
    record["elapsed_s"] = round(elapsed, 3)
    with (out_dir / LOSS_LOG).open("a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def read_loss_log(path: Path) -> list[dict[str, Any]]:
    """The loss log's records, oldest first."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().split("\n") if line.strip()]


def _truncate_loss_log(path: Path, step: int) -> None:
    """Drop log lines past the checkpoint being resumed: those steps will run again."""
    records = [r for r in read_loss_log(path) if r["step"] <= step]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def loss_curve_figure(records: Sequence[dict[str, Any]]) -> Any:
    """A matplotlib figure of the training loss and, where measured, the validation loss."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.plot([r["step"] for r in records], [r["loss"] for r in records], marker=".",
              label="training (mean since the last point)")  # fmt: skip
    validated = [r for r in records if "val_loss" in r]
    if validated:
        axes.plot([r["step"] for r in validated], [r["val_loss"] for r in validated],
                  marker="o", label="validation (held-out rows)")  # fmt: skip
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("answer-only loss")
    axes.set_title("takeaways fine-tune")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return figure


def plot_loss_curve(log_path: Path, png_path: Path) -> Path | None:
    """Draw the loss log as a PNG."""
    records = read_loss_log(log_path)
    if not records:
        return None
    import matplotlib.pyplot as plt

    figure = loss_curve_figure(records)
    figure.savefig(png_path, dpi=100)
    plt.close(figure)
    return png_path


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint folder, if any."""
    folders = sorted(
        (p for p in (out_dir / CHECKPOINTS).glob("step-*") if (p / "state.json").is_file()),
        key=lambda p: int(p.name.removeprefix("step-")),
    )
    return folders[-1] if folders else None


def _save_checkpoint(out_dir: Path, parts: _Parts, step: int) -> None:
    """Adapter, optimizer and schedule at `step`, written whole before the old ones go."""
    import torch

    accelerator = parts.accelerator
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process or step == 0:
        return
    root = out_dir / CHECKPOINTS
    target = root / f"step-{step}"
    if (target / "state.json").is_file():
        return
    staging = root / f".step-{step}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    accelerator.unwrap_model(parts.model).save_pretrained(staging / "adapter")
    torch.save(parts.optimizer.state_dict(), staging / "optimizer.pt")
    torch.save(parts.scheduler.state_dict(), staging / "scheduler.pt")
    (staging / "state.json").write_text(json.dumps({"step": step}))
    staging.rename(target)
    for old in sorted(root.glob("step-*"), key=lambda p: int(p.name[5:]))[:-_KEEP_CHECKPOINTS]:
        shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(checkpoint: Path, model: Any, optimizer: Any, scheduler: Any) -> int:
    """Restore adapter weights, optimizer and schedule; returns the step to continue from."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = load_file(str(checkpoint / "adapter" / "adapter_model.safetensors"))
    set_peft_model_state_dict(model, weights)
    optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(checkpoint / "scheduler.pt", weights_only=True))
    return int(json.loads((checkpoint / "state.json").read_text())["step"])
