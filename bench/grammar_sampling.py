"""Grammar-constrained decoding: llama-cpp-python's sampler against the daemon's lazy one.

Both samplers serve the same GGUF (two `Llama` objects, same threads and context) and answer the
daemon's own requests (`task_request`, greedy, the answer grammar of each kind) for tasks planned
from code no training set holds (`format_validity.sample_tasks`). Requests alternate A-B / B-A so
that load on a shared machine falls on both. Greedy decoding must give the same text with either
sampler; the bench counts any difference. It prints decode tokens/s per kind for each sampler and
the ratio, plus how often the lazy sampler's first pick broke the grammar (the steps that still pay
for the full grammar pass).

Run: python bench/grammar_sampling.py [--per-kind 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from format_validity import sample_tasks
from llama_cpp import Llama

from takeaways_daemon.backends.embedded_backend import completion_args
from takeaways_daemon.backends.grammar_sampling import (
    LazyGrammarLlama,
    LazyGrammarSampler,
)
from takeaways_daemon.backends.model_files import packaged_base_model
from takeaways_daemon.kinds import TASK_KINDS
from takeaways_daemon.settings import load_settings
from takeaways_daemon.task_decoding import task_request


def timed(llama: Llama, prompt: str, args: dict[str, object]) -> tuple[str, int, float]:
    """(text, completion tokens, seconds) of one greedy answer."""
    llama.reset()  # no prefix reuse: both samplers pay the same prefill
    started = time.perf_counter()
    result = llama.create_completion(prompt, **args)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    assert isinstance(result, dict)
    return result["choices"][0]["text"], result["usage"]["completion_tokens"], seconds


def main() -> None:
    """Run every kind's tasks through both samplers and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kind", action="append", choices=TASK_KINDS, help="default: every kind")
    options = parser.parse_args()

    settings = load_settings()
    sampling = settings.sampling.model_copy(update={"temperature": 0.0, "seed": options.seed})
    path = str(packaged_base_model())
    models: dict[str, Llama] = {
        "llama-cpp-python": Llama(
            path, n_ctx=sampling.num_ctx, n_threads=options.threads, verbose=False
        ),
        "lazy": LazyGrammarLlama(
            path, n_ctx=sampling.num_ctx, n_threads=options.threads, verbose=False
        ),
    }
    tasks = sample_tasks(options.per_kind, options.seed)
    if options.kind:
        tasks = {kind: tasks[kind] for kind in options.kind}
    print(
        f"grammar sampling, gemma-3-270m Q4_K_M, {options.threads} threads, "
        f"{platform.processor() or platform.machine()}, greedy"
    )
    print(
        f"{'kind':>10} {'tasks':>5} {'llama-cpp-python tok/s':>23} {'lazy tok/s':>11} "
        f"{'ratio':>6} {'same text':>9} {'full passes':>11}"
    )
    ratios = []
    for kind, kind_tasks in tasks.items():
        tokens = dict.fromkeys(models, 0)
        seconds = dict.fromkeys(models, 0.0)
        same = rejected = picks = 0
        for index, task in enumerate(kind_tasks):
            request = task_request(task, sampling, few_shot=True)
            args = completion_args(request)
            order = list(models) if index % 2 == 0 else list(reversed(models))
            texts = {}
            for name in order:
                text, count, spent = timed(models[name], request.prompt, args)
                texts[name], tokens[name], seconds[name] = (
                    text,
                    tokens[name] + count,
                    seconds[name] + spent,
                )
                sampler = models[name]._sampler
                if isinstance(sampler, LazyGrammarSampler):
                    rejected, picks = rejected + sampler.rejected_picks, picks + sampler.picks
            same += texts["llama-cpp-python"] == texts["lazy"]
        speeds = {name: tokens[name] / seconds[name] for name in models}
        ratio = speeds["lazy"] / speeds["llama-cpp-python"]
        ratios.append(ratio)
        print(
            f"{kind:>10} {len(kind_tasks):>5} {speeds['llama-cpp-python']:>23.1f} "
            f"{speeds['lazy']:>11.1f} {ratio:>5.2f}x {same:>4}/{len(kind_tasks):<4} "
            f"{rejected:>5}/{picks:<5}"
        )
    print(f"median ratio lazy / llama-cpp-python: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
