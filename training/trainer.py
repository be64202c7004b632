"""The training loop: fit a LoRA adapter on packed, answer-only batches, resumable.

Read top to bottom: `fit()` sets up (accelerate, optimizer, schedule, resume) and runs the
epochs; `_train_step` is one micro-batch; checkpoints and the loss log live at the end.
Multi-GPU runs go through an existing engine: start this under `accelerate launch` or
`torchrun` and accelerate wraps the model in DDP and shards the batches.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takeaways_daemon.errors import TakeawaysError
from training.answer_loss import loss_module
from training.packing import PackedRow, collate_packed
from training.recipe import TrainArgs

CHECKPOINTS = "checkpoints"
LOSS_LOG = "loss_log.jsonl"
LOSS_PNG = "loss_curve.png"
_KEEP_CHECKPOINTS = 2


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
    # The training loop's time: checkpoints within it count, the final save and plot do not.
    seconds: float
    resumed_from: int

    @property
    def tokens_per_second(self) -> float:
        """Useful (non-padding) tokens processed per second of this run."""
        return self.tokens / self.seconds if self.seconds else 0.0


def fit(
    model: Any,
    rows: Sequence[PackedRow],
    args: TrainArgs,
    out_dir: Path,
    *,
    pad_id: int,
    resume: bool = False,
    on_step: Callable[[int, float], None] | None = None,
    show_progress: bool = True,
) -> FitResult:
    """Train `model` (a peft model) on `rows`; checkpoints and logs go under `out_dir`."""
    import torch
    from accelerate import Accelerator
    from tqdm.auto import tqdm
    from transformers import get_cosine_schedule_with_warmup

    # Accumulation is done here rather than by accelerate, so a short last group of an epoch
    # still steps, and every rank runs the same number of groups (DDP needs that).
    accelerator = Accelerator()
    out_dir.mkdir(parents=True, exist_ok=True)
    batches = _batches(rows, args.batch_size)
    per_rank = max(1, len(batches) // accelerator.num_processes)
    steps_per_epoch = math.ceil(per_rank / args.grad_accum)
    total_steps = args.epochs * steps_per_epoch
    if args.max_steps is not None:
        total_steps = min(total_steps, args.max_steps)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, args.warmup_steps, total_steps)
    wrapped = loss_module(model)
    # The schedule stays outside accelerate: it counts this loop's steps, which are already
    # per rank (accelerate would step it once per process, for loaders it shards itself).
    wrapped, optimizer = accelerator.prepare(wrapped, optimizer)

    step = 0
    if not resume and accelerator.is_main_process:  # a fresh run must not mix in old state
        shutil.rmtree(out_dir / CHECKPOINTS, ignore_errors=True)
    if resume and (checkpoint := latest_checkpoint(out_dir)) is not None:
        step = _load_checkpoint(checkpoint, model, optimizer, scheduler)
    resumed_from = step
    if accelerator.is_main_process:
        _truncate_loss_log(out_dir / LOSS_LOG, step)
    tokens = answer_tokens = 0
    last_loss = float("nan")
    # The log keeps the mean since its last line: single-step losses of small batches are too
    # noisy to read a trend from.
    since_logged: list[float] = []
    started = time.perf_counter()
    progress = tqdm(
        total=total_steps,
        initial=step,
        desc="training",
        unit="step",
        disable=not show_progress or not accelerator.is_main_process,
    )
    autocast = _cpu_autocast(accelerator.device, args.cpu_bf16)
    wrapped.train()
    try:
        while step < total_steps:
            epoch, done_in_epoch = divmod(step, steps_per_epoch)
            order = _epoch_order(len(batches), args.seed, epoch)
            ranks = accelerator.num_processes
            mine = (order * ranks)[accelerator.process_index :: ranks][:per_rank]
            groups = [mine[i : i + args.grad_accum] for i in range(0, per_rank, args.grad_accum)]
            for group in groups[done_in_epoch:]:
                losses = []
                for position, index in enumerate(group):
                    rows_here = batches[index]
                    tokens += sum(len(row.input_ids) for row in rows_here)
                    batch = collate_packed(rows_here, pad_id)
                    answer_tokens += int((batch["labels"] != -100).sum())
                    batch = {key: value.to(accelerator.device) for key, value in batch.items()}
                    last = position == len(group) - 1
                    with nullcontext() if last else accelerator.no_sync(wrapped):
                        with autocast:
                            loss = wrapped(**batch)
                        accelerator.backward(loss / len(group))
                    losses.append(float(loss.detach()))
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                last_loss = sum(losses) / len(losses)
                since_logged.append(last_loss)
                progress.update(1)
                progress.set_postfix(loss=f"{last_loss:.4f}")
                end_of_epoch = step % steps_per_epoch == 0
                if step % args.log_every == 0 or step == total_steps or step == 1:
                    mean_loss = sum(since_logged) / len(since_logged)
                    _log_loss(out_dir, accelerator, step, epoch, mean_loss, scheduler, started)
                    since_logged.clear()
                if step % args.checkpoint_every == 0 or (end_of_epoch and args.save_every_epoch):
                    _save_checkpoint(out_dir, accelerator, model, optimizer, scheduler, step)
                if on_step is not None:
                    on_step(step, last_loss)
                if step >= total_steps:
                    break
    except KeyboardInterrupt:
        _save_checkpoint(out_dir, accelerator, model, optimizer, scheduler, step)
        progress.close()
        raise TrainingInterrupted(
            f"training stopped at step {step} of {total_steps}; run again with --resume "
            f"to continue from {out_dir / CHECKPOINTS}"
        ) from None
    progress.close()
    seconds = time.perf_counter() - started
    accelerator.wait_for_everyone()
    _save_checkpoint(out_dir, accelerator, model, optimizer, scheduler, step)
    plot_loss_curve(out_dir / LOSS_LOG, out_dir / LOSS_PNG)
    return FitResult(
        steps=step,
        final_loss=last_loss,
        tokens=tokens,
        answer_tokens=answer_tokens,
        seconds=seconds,
        resumed_from=resumed_from,
    )


def _cpu_autocast(device: Any, wanted: bool) -> Any:
    """bf16 autocast on a CPU that has bf16 instructions; nothing elsewhere."""
    import torch

    has_bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    has_amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    if wanted and device.type == "cpu" and (has_bf16 or has_amx):
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()


def _batches(rows: Sequence[PackedRow], batch_size: int) -> list[list[PackedRow]]:
    """Rows grouped into micro-batches of similar length (rows arrive longest first)."""
    return [list(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]


def _epoch_order(count: int, seed: int, epoch: int) -> list[int]:
    """The batch order of one epoch: shuffled, and the same again when a run resumes."""
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def _log_loss(
    out_dir: Path, accelerator: Any, step: int, epoch: int, loss: float, scheduler: Any, t0: float
) -> None:
    """Append one line to the loss log (main process only)."""
    if not accelerator.is_main_process:
        return
    record = {
        "step": step,
        "epoch": epoch,
        "loss": round(loss, 6),
        "lr": scheduler.get_last_lr()[0],
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
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


def plot_loss_curve(log_path: Path, png_path: Path) -> Path | None:
    """Draw the loss log as a PNG (matplotlib's Agg backend: no display needed)."""
    records = read_loss_log(log_path)
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.plot([r["step"] for r in records], [r["loss"] for r in records], marker=".")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("answer-only loss\n(mean since the last point)")
    axes.set_title("takeaways fine-tune")
    axes.grid(alpha=0.3)
    figure.tight_layout()
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


def _save_checkpoint(
    out_dir: Path, accelerator: Any, model: Any, optimizer: Any, scheduler: Any, step: int
) -> None:
    """Adapter, optimizer and schedule at `step`, written whole before the old ones go."""
    import torch

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
    accelerator.unwrap_model(model).save_pretrained(staging / "adapter")
    torch.save(optimizer.state_dict(), staging / "optimizer.pt")
    torch.save(scheduler.state_dict(), staging / "scheduler.pt")
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
