"""Training throughput: useful (non-padding) tokens/s of our trainer against others, side by side.

Every trainer (see `bench/trainers.py`) trains on the same examples in its own process, so no
patch or allocator state leaks from one into the next:
- `ours`: `training.trainer.setup` with the base's recipe (packing without attention across
  examples, the fused answer-only loss, LoRA; NF4 QLoRA on a GPU);
- `seed`: the seed's recipe through a plain transformers `Trainer`, padded batches of 4;
- `plain`, `plain-apart`, `plain-liger`: a plain transformers + peft loop over ours' packed rows
  (no cross-example masking; examples kept apart by restarting `position_ids`; + Liger-Kernel).
Each reports whole-run tokens/s (the first step's set-up counts), steady-state tokens/s after
`--warmup` steps and the peak GPU memory; the JSON report and a bar chart go to bench/results/.

Shapes and data:
- `mistral-7b` (GPU): random weights of the Mistral-7B-v0.1 shape, synthetic examples of two
  length mixes: CodeAlpaca-like (mean ~150 tokens) and the mined set's (median ~270).
- `tiny` (CPU or GPU): a 2-layer random Mistral on the same two mixes; a dry run of everything.
- `gemma-3-270m` (CPU): the packaged base on examples mined from local Python source.

    .venv/bin/python bench/train.py --examples 64                 # CPU: ours against the seed
    python bench/train.py --device cuda --shape mistral-7b          # GPU: every trainer
    python bench/train.py --device cuda --shape mistral-7b --ddp 2  # + ours on 2 GPUs (torchrun)
    python bench/train.py --render bench/results/train-cuda-mistral-7b.json --readme README.md

`--readme` writes the run's table into the README between the markers of its device
(`training.evaluation.readme_blocks`; `--render` takes a saved report instead of running): the
README's training tables are this script's output, never typed by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.trainers import TRAINERS, Skipped, run_trainer
from training.evaluation.readme_blocks import replace_block
from training.recipe import Recipe, load_recipe
from training.tokenize_examples import IGNORE_INDEX, TokenizedExample

RESULTS = Path(__file__).parent / "results"
RANDOM_DIR = Path(tempfile.gettempdir()) / "takeaways-bench-random"
# Length mixes (log-normal token counts, clipped to the row length) and the answer's share.
MIXES = {
    "codealpaca": (4.85, 0.55, 24, 0.5),  # mean ~150 tokens, about half of them the answer
    "mined": (5.6, 0.6, 64, 0.35),  # median ~270, the last ~35% the answer
}
TARGETS = {"cuda": {"plain-apart": 1.5, "seed": 10.0}, "cpu": {"seed": 4.0}}
# The README block each device's table replaces (the markers stay, the lines between are ours).


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--shape", choices=["tiny", "gemma-3-270m", "mistral-7b"], default=None)
    parser.add_argument("--data", type=Path, help="Alpaca JSONL for gemma-3-270m (default: mined)")
    parser.add_argument("--examples", type=int, help="gemma-3-270m: how many examples")
    parser.add_argument("--trainers", nargs="+", help=f"any of {', '.join(TRAINERS)}")
    parser.add_argument("--mixes", nargs="+", choices=list(MIXES), help="synthetic length mixes")
    parser.add_argument("--steps", type=int, help="optimizer steps per trainer and data set")
    parser.add_argument("--warmup", type=int, default=3, help="steps left out of steady state")
    parser.add_argument("--ddp", type=int, default=0, help="also run ours on N GPUs (torchrun)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON and chart")
    parser.add_argument("--readme", type=Path, help="write the table into this README's block")
    parser.add_argument("--render", type=Path, nargs="+", help="no run: tables of saved reports")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render:
        reports = [json.loads(path.read_text()) for path in args.render]
        print("\n\n".join(markdown_table(report) for report in reports))
        if args.readme:
            write_readme_table(args.readme, *reports)
        return
    args.shape = args.shape or ("mistral-7b" if args.device == "cuda" else "gemma-3-270m")
    if args.steps is None and args.shape != "gemma-3-270m":
        args.steps = 8 if args.shape == "mistral-7b" else 4
    if args.only:  # a worker: one trainer, its results written for the parent
        _worker(args)
        return
    gemma = args.shape == "gemma-3-270m"
    trainers = args.trainers or (["ours", "seed", "seed-bf16"] if gemma else list(TRAINERS[:5]))
    if not gemma:
        build_random_model(args.shape, args.device)
    device_name = describe_device(args.device)
    print(f"shape {args.shape} · {device_name} · trainers {', '.join(trainers)}", flush=True)
    report: dict[str, Any] = {"device": device_name, "shape": args.shape, "steps": args.steps,
                              "warmup": args.warmup, "trainers": {}}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"train-{args.device}-{args.shape}"
    for name in trainers:
        report["trainers"][name] = result = _spawn(args, name)
        for data_name, line in result.items():
            print(f"{name:>14} · {data_name:<10} {summary_line(line)}", flush=True)
        # Written after every trainer: a run cut short still leaves what it measured.
        (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    if args.ddp > 1:
        report["ddp"] = run_ddp(args, report["trainers"].get("ours", {}))
    report["ratios"] = ratios(report["trainers"], TARGETS[args.device])
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    bar_chart(report, args.out / f"{stem}.png")
    report["command"] = " ".join(["python bench/train.py", *sys.argv[1:]])
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    print_table(report)
    print(markdown_table(report))
    if args.readme:
        write_readme_table(args.readme, report)
    print(f"report: {args.out / stem}.json, chart: {args.out / stem}.png")


def _worker(args: argparse.Namespace) -> None:
    base, recipe, datasets, pad_id = prepare(args)
    try:
        results: Any = run_trainer(args.only, base, recipe, datasets, pad_id, args.device,
                                   steps=args.steps, warmup=args.warmup)  # fmt: skip
    except Skipped as reason:
        results = {"skipped": str(reason)}
    if args.result:
        rank = int(os.environ.get("RANK", "0"))
        args.result.with_suffix(f".{rank}.json").write_text(json.dumps(results))


def _spawn(args: argparse.Namespace, name: str) -> dict[str, Any]:
    """Run one trainer in a fresh process; its results, or why it did not run."""
    with tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "result"
        command = [sys.executable, __file__, *_shared_options(args), "--only", name,
                   "--result", str(result)]  # fmt: skip
        env = dict(os.environ)
        if args.device == "cuda":
            # One GPU per trainer: transformers' Trainer would take every visible GPU
            # (DataParallel), so on a 2-GPU host the seed would run on two.
            visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0]
            env["CUDA_VISIBLE_DEVICES"] = visible
        done = subprocess.run(command, check=False, stderr=subprocess.PIPE, text=True, env=env)
        written = result.with_suffix(".0.json")
        if done.returncode != 0 or not written.is_file():
            tail = done.stderr.strip().splitlines()[-3:]
            print(f"{name}: failed ({done.returncode}): {' | '.join(tail)}", flush=True)
            return {"failed": " | ".join(tail)}
        found: dict[str, Any] = json.loads(written.read_text())
    if "skipped" in found:
        print(f"{name}: skipped: {found['skipped']}", flush=True)
    return found


def _shared_options(args: argparse.Namespace) -> list[str]:
    options = ["--device", args.device, "--shape", args.shape, "--warmup", str(args.warmup)]
    if args.steps is not None:
        options += ["--steps", str(args.steps)]
    if args.examples is not None:
        options += ["--examples", str(args.examples)]
    if args.data is not None:
        options += ["--data", str(args.data)]
    if args.mixes:
        options += ["--mixes", *args.mixes]
    return options


def prepare(args: argparse.Namespace) -> tuple[str, Recipe, dict[str, list[TokenizedExample]], int]:
    """The base folder, our recipe for it, and the data sets every trainer trains on."""
    # No checkpoints and no held-out rows: the bench times training alone.
    quiet = {"epochs": 1, "save_every_epoch": False, "checkpoint_every": 10**9,
             "validation_fraction": 0.0}  # fmt: skip
    if args.shape == "gemma-3-270m":
        from training.base_model import load_tokenizer, resolve_base
        from training.tokenize_examples import tokenize_rows

        base = resolve_base("embedded")
        recipe = load_recipe("gemma-3-270m").with_overrides(base=base, **quiet)
        tokenizer = load_tokenizer(base)
        count = args.examples or 64
        rows = load_rows(args.data, count)
        examples, _ = tokenize_rows(tokenizer, rows, recipe.train.max_seq_len)
        return base, recipe, {"mined (real)": examples[:count]}, tokenizer.pad_token_id
    folder = RANDOM_DIR / args.shape
    recipe = load_recipe("mistral-7b").with_overrides(base=str(folder), **quiet)
    if args.shape == "tiny":  # a dry run: short rows, one micro-batch a step
        recipe = recipe.with_overrides(max_seq_len=128, grad_accum=1)
    train = recipe.train
    # Enough examples for every step of packed rows, and for the seed's padded batches of 16.
    tokens = (args.steps or 8) * train.batch_size * train.grad_accum * train.max_seq_len
    vocab = 32000 if args.shape == "mistral-7b" else 512
    mixes = args.mixes or list(MIXES)
    datasets = {name: synthetic_examples(name, tokens, vocab, train.max_seq_len) for name in mixes}
    return str(folder), recipe, datasets, 0


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


def synthetic_examples(mix: str, tokens: int, vocab: int, max_len: int) -> list[TokenizedExample]:
    """Random-token examples of a length mix, `tokens` in all plus a little packing slack."""
    mu, sigma, shortest, answer_share = MIXES[mix]
    rng = random.Random(0)
    examples: list[TokenizedExample] = []
    total = 0
    while total < tokens * 1.03:
        size = int(min(max_len, max(shortest, rng.lognormvariate(mu, sigma))))
        ids = [rng.randrange(3, vocab) for _ in range(size)]
        answer = max(4, int(size * answer_share))
        examples.append(TokenizedExample(ids, [IGNORE_INDEX] * (size - answer) + ids[-answer:]))
        total += size
    return examples


def build_random_model(shape: str, device: str) -> Path:
    """Save random weights of the shape (bf16) once, for every trainer to load."""
    folder = RANDOM_DIR / shape
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    if shape == "mistral-7b":
        config = MistralConfig(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                               num_hidden_layers=32, num_attention_heads=32,
                               num_key_value_heads=8, max_position_embeddings=32768,
                               sliding_window=4096, dtype="bfloat16")  # fmt: skip
    else:
        config = MistralConfig(vocab_size=512, hidden_size=128, intermediate_size=256,
                               num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                               max_position_embeddings=1024, tie_word_embeddings=False,
                               dtype="bfloat16")  # fmt: skip
    torch.manual_seed(0)
    with torch.device("cuda" if device == "cuda" else "cpu"):
        model = MistralForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return folder


def run_ddp(args: argparse.Namespace, single: dict[str, Any]) -> dict[str, Any]:
    """Ours on N GPUs through torchrun (DDP via accelerate); scaling against one GPU."""
    with tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "ddp"
        # torch's own launcher through this interpreter: `torchrun` need not be on the PATH.
        command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={args.ddp}",
                   __file__, *_shared_options(args), "--only", "ours",
                   "--result", str(result)]  # fmt: skip
        subprocess.run(command, check=True)
        parts = [json.loads(p.read_text()) for p in sorted(Path(scratch).glob("ddp.*.json"))]
    lines = {}
    for data_name, one in single.items():
        if not isinstance(one, dict):
            continue
        rates = [part[data_name]["steady_tokens_per_s"] for part in parts]
        total = sum(rates)
        lines[data_name] = {"gpus": args.ddp, "steady_tokens_per_s": round(total, 1),
                            "scaling": round(total / one["steady_tokens_per_s"], 2)}  # fmt: skip
        print(f"ddp x{args.ddp} · {data_name}: {total:.0f} tokens/s, "
              f"scaling {lines[data_name]['scaling']}x (target ≥ 1.9x)")  # fmt: skip
    return lines


def ratios(trainers: dict[str, Any], targets: dict[str, float]) -> dict[str, Any]:
    """Ours against every other trainer, per data set (steady state where measured)."""
    ours = trainers.get("ours", {})
    found: dict[str, Any] = {}
    for name, results in trainers.items():
        if name == "ours" or not isinstance(results, dict):
            continue
        for data_name, line in results.items():
            mine = ours.get(data_name)
            if not isinstance(line, dict) or not isinstance(mine, dict):
                continue
            key = "steady_tokens_per_s" if line.get("steady_tokens_per_s") else "tokens_per_s"
            if mine.get(key) and line.get(key):
                entry = {"ratio": round(mine[key] / line[key], 2), "measure": key}
                if name in targets:
                    entry["target"] = targets[name]
                found[f"ours/{name} · {data_name}"] = entry
    return found


def bar_chart(report: dict[str, Any], png: Path) -> None:
    """Steady-state tokens/s per trainer and data set (whole-run as a dark tick)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trainers = {n: r for n, r in report["trainers"].items() if isinstance(r, dict)
                and all(isinstance(v, dict) for v in r.values())}  # fmt: skip
    data_names = sorted({d for r in trainers.values() for d in r})
    if not trainers or not data_names:
        return
    figure, axes = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(trainers)
    for i, (name, results) in enumerate(trainers.items()):
        xs = [j + i * width for j in range(len(data_names))]
        steady = [(results.get(d) or {}).get("steady_tokens_per_s") or 0 for d in data_names]
        whole = [(results.get(d) or {}).get("tokens_per_s") or 0 for d in data_names]
        axes.bar(xs, steady, width, label=name)
        axes.scatter(xs, whole, color="black", marker="_", s=200, zorder=3)
    axes.set_xticks([j + 0.4 - width / 2 for j in range(len(data_names))], data_names)
    axes.set_ylabel("useful tokens/s (bar: steady, tick: whole run)")
    axes.set_title(f"{report['shape']} · {report['device']}")
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(png, dpi=100)
    plt.close(figure)


def print_table(report: dict[str, Any]) -> None:
    print("| trainer | data | steady tok/s | whole-run tok/s | peak GiB |")
    print("| --- | --- | --- | --- | --- |")
    for name, results in report["trainers"].items():
        for data_name, line in results.items():
            if isinstance(line, dict):
                print(f"| {name} | {data_name} | {line['steady_tokens_per_s']} | "
                      f"{line['tokens_per_s']} | {line['peak_gib']} |")  # fmt: skip
    for key, entry in report["ratios"].items():
        target = f" (target ≥ {entry['target']}x)" if "target" in entry else ""
        print(f"{key}: {entry['ratio']}x {entry['measure']}{target}")


def markdown_table(report: dict[str, Any]) -> str:
    """The README's table of a report: steady / whole-run tok/s per mix, peak GiB, ratios."""
    trainers = {n: r for n, r in report["trainers"].items() if isinstance(r, dict)
                and all(isinstance(v, dict) for v in r.values())}  # fmt: skip
    mixes = list(dict.fromkeys(d for r in trainers.values() for d in r))
    head = " | ".join(f"{m}: steady / whole run tok/s" for m in mixes)
    lines = [f"| trainer | {head} | peak GiB |", "| --- |" + " --- |" * (len(mixes) + 1)]
    for name, results in trainers.items():
        cells = []
        for mix in mixes:
            line = results.get(mix) or {}
            steady, whole = line.get("steady_tokens_per_s"), line.get("tokens_per_s")
            cells.append(f"{_count(steady)} / {_count(whole)}" if line else "–")
        peaks = [r["peak_gib"] for r in results.values() if r.get("peak_gib") is not None]
        bold = "**" if name == "ours" else ""
        lines.append(f"| {bold}{name}{bold} | " + " | ".join(cells)
                     + f" | {max(peaks) if peaks else '–'} |")  # fmt: skip
    for other in trainers:
        if other == "ours":
            continue
        cells = []
        target = None
        for mix in mixes:
            entry = report.get("ratios", {}).get(f"ours/{other} · {mix}")
            cells.append(f"{entry['ratio']}x" if entry else "–")
            target = (entry or {}).get("target", target)
        goal = f" (target ≥ {target}x)" if target else ""
        lines.append(f"| ours / {other}{goal} | " + " | ".join(cells) + " | |")
    for mix, entry in (report.get("ddp") or {}).items():
        lines.append(f"| ours on {entry['gpus']} GPUs (DDP), {mix}: total steady tok/s, scaling "
                     f"(target ≥ 1.9x) | {_count(entry['steady_tokens_per_s'])}, "
                     f"{entry['scaling']}x |" + " |" * len(mixes))  # fmt: skip
    steps = (
        f"{report['steps']} steps" if report["steps"] is not None
        else "one pass over the examples (each trainer's steps follow from its batching)"
    ) + f", of which the first {report['warmup']} are warm-up"  # fmt: skip
    command = report.get("command", "python bench/train.py")
    lines.append("")
    lines.append(f"{report['shape']} · {report['device']} · {steps} · `{command}`")
    return "\n".join(lines)


def write_readme_table(readme: Path, report: dict[str, Any], *more: dict[str, Any]) -> None:
    """Replace the README block of this device with the reports' tables."""
    device = "cuda" if "CPU" not in report["device"] else "cpu"
    tables = "\n\n".join(markdown_table(one) for one in (report, *more))
    replace_block(readme, "bench/train.py", device, tables)
    print(f"table written to {readme}")


def _count(value: float | None) -> str:
    return f"{value:,.0f}" if value else "–"


def describe_device(kind: str) -> str:
    """The card or CPU the numbers come from."""
    if kind == "cuda":
        import torch

        return f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    return f"CPU, {os.cpu_count()} cores"


def summary_line(result: dict[str, Any]) -> str:
    if not isinstance(result, dict):
        return str(result)
    peak = f", peak {result['peak_gib']} GiB" if result.get("peak_gib") is not None else ""
    return (f"steady {result['steady_tokens_per_s']} · whole run {result['tokens_per_s']} "
            f"useful tokens/s ({result['tokens']} tokens in {result['seconds']} s, "
            f"{result['steps']} steps{peak})")  # fmt: skip


if __name__ == "__main__":
    main()
