"""Served speed: the built takeaways GGUF's tokens/s against the packaged base's, in one run.

Target (issue 14): the served GGUF decodes within 5% of the base's tokens/s at the same
quantization. Both files are loaded by the daemon's own embedded backend (same threads, same
context size) and driven with the daemon's requests for the same tasks, greedy; rounds alternate
between the models so that a busy machine slows both alike. Reported per model: prefill tokens/s
(prompt tokens over time to first token, from a cleared context) and decode tokens/s (tokens after
the first over the time after it); the verdict is the median of the paired decode ratios.

With no built model installed, `--candidate` may name any GGUF; `--candidate base` runs the
base against a copy of itself, which shows the bench works (the ratio should be ~1.0).

Run: python bench/served_speed.py [--candidate PATH] [--rounds 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from takeaways_daemon import locations
from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
from takeaways_daemon.backends.model_files import packaged_base_model
from takeaways_daemon.settings import load_settings
from takeaways_daemon.task_decoding import task_request
from takeaways_daemon.tasks import Task
from training.evaluation.reports import model_labels, slug, write_rates_report

TOLERANCE = 0.05
SOURCES = [
    "def mean(xs):\n    total = sum(xs\n    return total / len(xs)\n",
    "def greet(name)\n    print('hello', name)\n",
    "class Stack:\n    def push(self, item)\n        self.items.append(item)\n",
]


def fix_tasks() -> list[Task]:
    """The daemon's fix task for each broken snippet (the same for every model)."""
    return [
        Task(
            kind="fix",
            path=f"speed_{i}.py",
            language="python",
            file_text=source,
            shown_start=1,
            shown_end=source.count("\n"),
            target_start=1,
            target_end=source.count("\n"),
            error="invalid syntax",
        )
        for i, source in enumerate(SOURCES)
    ]


def quantization(path: Path) -> str:
    """The GGUF's file type as llama.cpp names it (Q4_K_M, Q8_0, …)."""
    from gguf import GGUFReader, LlamaFileType

    reader = GGUFReader(str(path))
    field_ = reader.get_field("general.file_type")
    if field_ is None:
        return "unknown"
    return LlamaFileType(int(field_.parts[-1][0])).name.removeprefix("MOSTLY_")


@dataclass
class Speeds:
    """One model's measured rates."""

    prefill: list[float] = field(default_factory=list)
    decode: list[float] = field(default_factory=list)

    def medians(self) -> dict[str, float]:
        """Median prefill and decode tokens/s."""
        return {
            "prefill_tokens_per_s": round(statistics.median(self.prefill), 1),
            "decode_tokens_per_s": round(statistics.median(self.decode), 1),
        }


async def measure(
    backend: EmbeddedBackend, task: Task, max_tokens: int, speeds: Speeds, *, grammar: bool
) -> None:
    """One greedy answer from a cleared context: its prefill and decode rates."""
    sampling = load_settings().sampling
    request = task_request(task, sampling, few_shot=True, temperature=0.0, max_tokens=max_tokens)
    if not grammar:
        request = replace(request, grammar=None)
    assert backend._llama is not None
    backend._llama.reset()  # no prefix reuse: every model prefills the whole prompt
    started = time.monotonic()
    generation = await backend.generate(request)
    first = generation.first_chunk_s or (time.monotonic() - started)
    tokens = len(backend.tokenize(generation.text))
    speeds.prefill.append(len(backend.tokenize(request.prompt)) / first)
    if tokens > 1 and generation.total_s > first:
        speeds.decode.append((tokens - 1) / (generation.total_s - first))


async def run(
    paths: dict[str, Path], rounds: int, max_tokens: int, *, grammar: bool
) -> dict[str, Speeds]:
    """Load every model, then alternate between them round by round."""
    settings = load_settings()
    backends = {
        name: EmbeddedBackend(settings.backend.embedded, num_ctx=4096, model_path=path)
        for name, path in paths.items()
    }
    for backend in backends.values():
        await backend.ensure_ready()
    speeds = {name: Speeds() for name in backends}
    tasks = fix_tasks()
    order = list(backends)
    for _ in range(rounds):
        for task in tasks:
            # A-B then B-A: whoever goes second (a warmer cache, a quieter moment) alternates.
            for name in order:
                await measure(backends[name], task, max_tokens, speeds[name], grammar=grammar)
            order.reverse()
    for backend in backends.values():
        await backend.close()
    return speeds


def main() -> None:
    """Measure base and candidate, print the table and the verdict, save JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", help="a GGUF, or `base` for a copy of the base")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, help="llama.cpp threads for both models")
    parser.add_argument(
        "--grammar",
        action="store_true",
        help="decode under the answer grammar as served (its cost, the same for both models, "
        "dwarfs theirs on a 262k vocabulary: off by default so the models' own speed shows)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/served_speed.json"))
    parser.add_argument("--label", help="the candidate's name in reports")
    parser.add_argument(
        "--report-dir", type=Path, help="run folders here, for `takeaways eval compare`"
    )
    args = parser.parse_args()
    if args.threads:
        import os

        os.environ["TAKEAWAYS_BACKEND__EMBEDDED__N_THREADS"] = str(args.threads)
    base = packaged_base_model()
    with tempfile.TemporaryDirectory() as scratch:
        if args.candidate == "base":
            candidate = Path(scratch) / "base-copy.gguf"
            shutil.copyfile(base, candidate)
        elif args.candidate:
            candidate = Path(args.candidate).expanduser()
        else:
            candidate = locations.built_model_path()
            if not candidate.is_file():
                sys.exit(
                    f"no built model at {candidate}: run `takeaways model build`, or pass "
                    "--candidate PATH (or --candidate base to check the bench on two copies)"
                )
        paths = {"base": base, "candidate": candidate}
        quant = {name: quantization(path) for name, path in paths.items()}
        speeds = asyncio.run(run(paths, args.rounds, args.max_tokens, grammar=args.grammar))
    medians = {name: s.medians() for name, s in speeds.items()}
    table = {
        name: {"file": str(paths[name]), "quantization": quant[name], **medians[name]}
        for name in speeds
    }
    # Paired: each candidate answer against the base's answer to the same task, measured right
    # beside it, so slow spells of a shared machine cancel out instead of moving one median.
    pairs = zip(speeds["candidate"].decode, speeds["base"].decode, strict=False)
    ratio = statistics.median(candidate / base for candidate, base in pairs)
    same_quant = quant["base"] == quant["candidate"]
    verdict = "PASS" if ratio >= 1 - TOLERANCE else "FAIL"
    for name, row in table.items():
        print(f"{name:>9} {row['quantization']:>7}: prefill {row['prefill_tokens_per_s']:7.1f} "
              f"tok/s, decode {row['decode_tokens_per_s']:6.1f} tok/s")  # fmt: skip
    note = "" if same_quant else " (different quantizations: not the target's comparison)"
    print(f"decode ratio candidate/base {ratio:.3f} → {verdict} (target ≥ {1 - TOLERANCE}){note}")
    if args.report_dir:
        labels = [args.label] if args.label else []
        base_label, label = model_labels(["base", str(candidate)], labels)
        for who, value in ((base_label, 1.0), (label, ratio)):
            write_rates_report(args.report_dir / f"speed-{slug(who)}", "bench", who,
                               {"decode speed vs base": value}, rounds=args.rounds)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "models": table,
                "decode_ratio": round(ratio, 3),
                "verdict": verdict,
                "rounds": args.rounds,
                "same_quantization": same_quant,
            },
            indent=2,
        )
        + "\n"
    )
    sys.exit(0 if verdict == "PASS" else 1)


if __name__ == "__main__":
    main()
