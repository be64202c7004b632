"""The gemma-3-270m GPU recipe on a lent GPU machine: train, then a quick HumanEval signal.

What `takeaways model build --base embedded --recipe gemma-3-270m-gpu` does on a machine with a
GPU, split so that its pieces fit a lent machine reached only through the device tool (at most
64 MiB a call): the packaged GGUF arrives in parts (joined and checked here), the data as a
gzipped Alpaca JSONL, and the LoRA adapter goes back in files of at most 15 MiB
(`adapter_model.safetensors.partN`, joined before merging). Merge, GGUF export and the real
evaluation (`takeaways eval`) then run on the user's side.

Besides the instruction rows it adds raw-continuation rows made from every mined `complete`
example (the function's source up to its docstring → its body, no prompt template), the shape
HumanEval prompts with (training/EXPERIMENTS.md, lead 1). The quick HumanEval here runs both
the base and the tuned model in bf16 through transformers (greedy, the Codex stops), not the
served GGUF: a signal for choosing a recipe, not the eval harness's number.

    python scripts/gpu_recipe_run.py --parts /tmp/parts --sha256 HEX --data mined.jsonl.gz \
        --humaneval HumanEval.jsonl.gz --out OUT [--stage prepare|train]

`--stage prepare` stops before training (base materialized, data tokenized, base's quick
HumanEval), so a wrong tokenizer or base costs a few minutes, not a training run; `--stage train`
then reuses the materialized base. Run it with the transformers this machine has: another
version converts the GGUF's tokenizer differently (training/EXPERIMENTS.md, section 5).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.tokenize_examples import IGNORE_INDEX, TokenizedExample

STOPS = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
PART_BYTES = 15 * 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=Path, required=True)
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--humaneval", type=Path)
    parser.add_argument("--recipe", default="gemma-3-270m-gpu")
    parser.add_argument("--raw-copies", type=int, default=1, help="raw rows per complete row")
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--kinds", nargs="+", help="train on these task kinds only")
    parser.add_argument("--train-seconds", type=float, default=1e9, help="stop training then")
    parser.add_argument("--work", type=Path, default=Path("/tmp/gemma"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stage", choices=("prepare", "train", "all"), default="all")
    parser.add_argument(
        "--max-dropped", type=float, default=0.05, help="stop when a larger share does not fit"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    report: dict[str, Any] = {}
    gguf = join_parts(args.parts, args.work / "gemma-3-270m-q4_k_m.gguf", args.sha256)

    import torch

    from training.base_model import load_tokenizer, materialize_gguf_base
    from training.packing import pack_examples
    from training.qlora import load_for_training
    from training.recipe import load_recipe
    from training.tokenize_examples import tokenize_rows
    from training.trainer import TrainingInterrupted, setup

    base_dir = args.work / "base-hf"
    if not (base_dir / ".materialized").is_file():
        materialize_gguf_base(gguf, base_dir)
    base = str(base_dir)
    report["materialized_s"] = round(time.perf_counter() - started, 1)
    overrides: dict[str, Any] = {"base": base}
    if args.max_steps:
        overrides["max_steps"] = args.max_steps
    recipe = load_recipe(args.recipe).with_overrides(**overrides)
    train = recipe.train
    tokenizer = load_tokenizer(base)
    rows = [row for row in read_jsonl_gz(args.data) if not args.kinds or row["kind"] in args.kinds]
    examples, dropped = tokenize_rows(tokenizer, rows, train.max_seq_len)
    raw = raw_continuations(tokenizer, rows, train.max_seq_len) * args.raw_copies
    packed = pack_examples([*examples, *raw], train.max_seq_len)
    report.update(rows=len(rows), examples=len(examples), dropped=dropped, raw_rows=len(raw),
                  packed_rows=len(packed), recipe=recipe.to_dict())  # fmt: skip
    print(json.dumps({k: v for k, v in report.items() if k != "recipe"}), flush=True)
    if dropped > args.max_dropped * len(rows):
        # The data was sized with this machine's tokenizer: so many long rows mean another one.
        raise SystemExit(f"{dropped} of {len(rows)} rows exceed {train.max_seq_len} tokens: "
                         "use the transformers the data was built with")  # fmt: skip
    device = torch.device("cuda")
    model = load_for_training(base, recipe, device)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.stage == "prepare":
        if args.humaneval:
            report["humaneval_bf16"] = quick_humaneval(model, tokenizer, args.humaneval, ("base",))
        write_report(report, args.out / "gpu_recipe_prepare.json")
        return
    training_started = time.perf_counter()

    def out_of_time(step: int, _: Any) -> None:
        # The trainer saves a checkpoint and stops on an interrupt; the model keeps its weights.
        if time.perf_counter() - training_started > args.train_seconds:
            raise KeyboardInterrupt

    try:
        result = setup(model, packed, args=train, out_dir=args.work / "train", on_step=out_of_time,
                       pad_id=tokenizer.pad_token_id, show_progress=False)  # fmt: skip
    except TrainingInterrupted as stopped:
        print(f"stopped early: {stopped}", flush=True)
        report["stopped_early"] = str(stopped)
        report["train"] = {"seconds": round(time.perf_counter() - training_started, 1)}
    else:
        report["train"] = train_summary(result, torch.cuda.max_memory_allocated())
    print(json.dumps(report["train"]), flush=True)
    adapter = args.work / "adapter"
    model.save_pretrained(adapter)
    send_adapter(adapter, args.out)
    for name in ("loss_log.jsonl",):
        source = args.work / "train" / name
        if source.is_file():
            (args.out / name).write_bytes(source.read_bytes())
    if args.humaneval:
        # After `prepare` the base's number is already known; `all` measures both here.
        names = ("tuned",) if args.stage == "train" else ("base", "tuned")
        report["humaneval_bf16"] = quick_humaneval(model, tokenizer, args.humaneval, names)
    report["total_s"] = round(time.perf_counter() - started, 1)
    write_report(report, args.out / "gpu_recipe_report.json")


def write_report(report: dict[str, Any], path: Path) -> None:
    """The report as JSON at `path`, and on stdout without the recipe."""
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "recipe"}, indent=1), flush=True)


def read_jsonl_gz(path: Path) -> list[dict[str, Any]]:
    """The rows of a gzipped JSONL file."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def train_summary(result: Any, peak_bytes: int) -> dict[str, Any]:
    """What the run did and how fast."""
    return {"steps": result.steps, "tokens": result.tokens, "answer_tokens": result.answer_tokens,
            "seconds": round(result.seconds, 1), "tokens_per_s": round(result.tokens_per_second),
            "final_loss": round(result.final_loss, 4), "validation_loss": result.validation_loss,
            "peak_gib": round(peak_bytes / 2**30, 2)}  # fmt: skip


def join_parts(parts: Path, target: Path, sha256: str) -> Path:
    """The GGUF from its parts (named *.partN, joined in N's order), checked by its hash."""
    target.parent.mkdir(parents=True, exist_ok=True)
    pieces = sorted(parts.glob("*.part*"), key=lambda p: int(p.suffix.removeprefix(".part")))
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for piece in pieces:
            data = piece.read_bytes()
            digest.update(data)
            out.write(data)
    if digest.hexdigest() != sha256:
        raise SystemExit(f"joined {len(pieces)} parts, but the hash differs: parts missing?")
    return target


def raw_continuations(tokenizer: Any, rows: list[dict[str, Any]], max_len: int) -> list[Any]:
    """HumanEval-shaped rows from mined `complete` rows: source to docstring → body, EOS."""
    examples = []
    for row in rows:
        if row.get("kind") != "complete":
            continue
        pair = split_complete(row)
        if pair is None:
            continue
        prompt, body = pair
        prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
        answer = [*tokenizer(body, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
        if len(prompt_ids) + len(answer) > max_len:
            continue
        examples.append(TokenizedExample([*prompt_ids, *answer],
                                         [IGNORE_INDEX] * len(prompt_ids) + answer))  # fmt: skip
    return examples


def split_complete(row: dict[str, Any]) -> tuple[str, str] | None:
    """(signature + docstring, indented body) of a mined `complete` row, at column 0."""
    code = re.search(r"```python\n(.*?)```", row["input"], re.S)
    answer = re.search(r"```python\n(.*?)```", row["output"], re.S)
    if not code or not answer:
        return None
    lines = textwrap.dedent(code.group(1)).rstrip("\n").split("\n")
    if not lines or lines[-1].strip() not in ("...", "pass", "raise NotImplementedError"):
        return None
    head = "\n".join(lines[:-1]) + "\n"
    indent = re.match(r"\s*", lines[-1]).group(0)  # type: ignore[union-attr]
    body = textwrap.indent(answer.group(1).rstrip("\n"), indent, lambda line: True) + "\n"
    return head, body


def quick_humaneval(
    model: Any, tokenizer: Any, path: Path, names: tuple[str, ...]
) -> dict[str, Any]:
    """pass@1 (greedy), bf16, 164 problems, of the tuned model and/or its base (adapter off)."""
    import torch

    problems = read_jsonl_gz(path)
    model.eval()
    found: dict[str, Any] = {}
    for name in names:
        started = time.perf_counter()
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            if name == "base":
                with model.disable_adapter():
                    completions = generate(model, tokenizer, [p["prompt"] for p in problems])
            else:
                completions = generate(model, tokenizer, [p["prompt"] for p in problems])
        with ThreadPoolExecutor(16) as pool:
            passed = list(pool.map(check, problems, completions))
        ids = [p["task_id"] for p, ok in zip(problems, passed, strict=True) if ok]
        found[name] = {"passed": sum(passed), "of": len(problems), "passed_ids": ids,
                       "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
        print(f"quick HumanEval {name}: {sum(passed)}/{len(problems)}", flush=True)
    return found


def generate(model: Any, tokenizer: Any, prompts: list[str], batch: int = 64) -> list[str]:
    """Greedy completions, cut at the first Codex stop sequence."""
    tokenizer.padding_side = "left"
    out: list[str] = []
    for i in range(0, len(prompts), batch):
        chunk = prompts[i : i + batch]
        encoded = tokenizer(chunk, return_tensors="pt", padding=True).to("cuda")
        tokens = model.generate(**encoded, max_new_tokens=384, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id)  # fmt: skip
        for row in tokens[:, encoded["input_ids"].shape[1] :]:
            text = tokenizer.decode(row, skip_special_tokens=True)
            cut = min([text.find(s) for s in STOPS if s in text] or [len(text)])
            out.append(text[:cut])
    return out


def check(problem: dict[str, Any], completion: str) -> bool:
    """Whether prompt + completion passes the problem's tests within 10 s."""
    program = (f"{problem['prompt']}{completion}\n{problem['test']}\n"
               f"check({problem['entry_point']})\n")  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        try:
            done = subprocess.run([sys.executable, "-c", program], cwd=scratch, timeout=10,
                                  capture_output=True, check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            return False
    return done.returncode == 0


def send_adapter(adapter: Path, out: Path) -> None:
    """The adapter's files into `out`, its weights split into parts under the size limit."""
    for item in adapter.iterdir():
        if item.suffix == ".md":  # peft's model card: nothing the merge needs
            continue
        data = item.read_bytes()
        if len(data) <= PART_BYTES:
            (out / item.name).write_bytes(data)
            continue
        for n, start in enumerate(range(0, len(data), PART_BYTES)):
            (out / f"{item.name}.part{n}").write_bytes(data[start : start + PART_BYTES])


if __name__ == "__main__":
    main()
