"""A code benchmark run: generate n samples per problem, execute them sandboxed, score pass@k.

Both phases resume from the run's folder (see `results_store`), show a progress bar, and
sanitize nothing: completions are data for the sandbox, never printed raw to a terminal.
"""

from __future__ import annotations

import os
import platform
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tqdm import tqdm

from takeaways_daemon.sandbox import Sandbox
from training.evaluation.model_runner import Decoding, ModelRunner
from training.evaluation.parallel_execution import execute_all
from training.evaluation.pass_at_k import mean_pass_at_k
from training.evaluation.problems import Problem, truncate_at_stop
from training.evaluation.results_store import RunStore

SAMPLE_SEED = 1234
"""Sample i of a task is decoded with seed SAMPLE_SEED + i, so sampled runs are repeatable."""


def generate_samples(
    problems: Sequence[Problem],
    runner: ModelRunner,
    store: RunStore,
    *,
    n: int,
    decoding: Decoding,
    stop_after: int | None = None,
    progress: bool = True,
) -> int:
    """Generate every missing sample; return how many were generated now.

    `stop_after` ends the phase after that many new samples (a deliberate interruption,
    for scripts that share the machine and for testing resume).
    """
    missing = [(p, i) for p in problems for i in range(n) if (p.task_id, i) not in store.samples]
    generated = 0
    bar = tqdm(missing, desc="generating", unit="sample", disable=not progress)
    for problem, index in bar:
        if stop_after is not None and generated >= stop_after:
            break
        started = time.monotonic()
        raw = runner.generate(
            problem.prompt, replace(decoding, stop=problem.stop, seed=SAMPLE_SEED + index)
        )
        completion = truncate_at_stop(raw, problem.stop)
        store.add_sample(
            {
                "task_id": problem.task_id,
                "sample": index,
                "completion": completion,
                "raw": raw,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
        generated += 1
    bar.close()
    return generated


def execute_samples(
    problems: Sequence[Problem],
    store: RunStore,
    sandbox: Sandbox,
    *,
    timeout_s: float,
    workers: int | None = None,
    progress: bool = True,
) -> int:
    """Execute every generated sample that has no result yet; return how many ran now."""
    by_id = {problem.task_id: problem for problem in problems}
    jobs = [
        (key, by_id[key[0]].program(row["completion"]))
        for key, row in sorted(store.samples.items())
        if key not in store.results and key[0] in by_id
    ]
    bar = tqdm(total=len(jobs), desc="executing", unit="sample", disable=not progress)
    for (task_id, index), result in execute_all(
        jobs, sandbox, timeout_s=timeout_s, workers=workers
    ):
        store.add_result(
            {
                "task_id": task_id,
                "sample": index,
                "status": result.status,
                "error": result.error,
                "seconds": round(result.duration_s, 3),
            }
        )
        bar.update()
    bar.close()
    return len(jobs)


def summarize(
    problems: Sequence[Problem], store: RunStore, *, ks: Sequence[int] = (1, 10, 100)
) -> dict[str, Any]:
    """The run's report: pass@k, status counts, timings, and each task's samples and results."""
    tasks = []
    counts: list[tuple[int, int]] = []
    statuses: Counter[str] = Counter()
    keys_by_task: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
    for key in sorted(store.results):
        keys_by_task[key[0]].append(key)
    for problem in problems:
        keys = keys_by_task.get(problem.task_id)
        if not keys:
            continue
        rows = [{**store.samples.get(k, {}), **store.results[k]} for k in keys]
        passed = sum(row["status"] == "passed" for row in rows)
        counts.append((len(rows), passed))
        statuses.update(row["status"] for row in rows)
        tasks.append({"task_id": problem.task_id, "passed": passed, "samples": rows})
    smallest = min((n for n, _ in counts), default=0)
    settings = store.settings
    return {
        **settings,
        "tasks_evaluated": len(tasks),
        "samples_evaluated": sum(n for n, _ in counts),
        "pass_at_k": {f"pass@{k}": mean_pass_at_k(counts, k) for k in ks if k <= smallest},
        "statuses": dict(statuses),
        "generation_seconds": round(sum(r.get("seconds", 0) for r in store.samples.values()), 1),
        "execution_seconds": round(sum(r.get("seconds", 0) for r in store.results.values()), 1),
        "machine": machine_description(),
        "tasks": tasks,
    }


def machine_description() -> str:
    """CPU model, core count and OS: what a reader needs to compare timings."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if "model name" in line]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores, {platform.system()} {platform.release()}"
