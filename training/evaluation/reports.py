"""Reports: a run's JSON and Markdown, and a comparison of models (Markdown + PNG chart).

Every run folder gets `report.json` (the whole summary, per task) and `report.md`.
`compare` reads any number of such folders (or folders holding several runs, such as
`--out` of `takeaways eval all`) and lines the models up metric by metric.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.sanitize import strip_control
from training.evaluation.decoding import describe_overrides

CRITERIA = ("clarity", "completeness", "accuracy", "structure")


class ReportMissing(TakeawaysError):
    """A folder given to `compare` holds no evaluation report."""

    exit_code = 2


def write_report(folder: Path, summary: dict[str, Any]) -> tuple[Path, Path]:
    """Write `report.json` and `report.md` into the run folder; return both paths."""
    json_path = folder / "report.json"
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    markdown_path = folder / "report.md"
    markdown_path.write_text(run_markdown(summary))
    return json_path, markdown_path


def run_markdown(summary: dict[str, Any]) -> str:
    """A short Markdown summary of one run."""
    lines = [f"# {summary['benchmark']}: {summary['model']}", ""]
    if summary["benchmark"] == "explain":
        lines += ["| criterion | checks | judge |", "| --- | --- | --- |"]
        for criterion in CRITERIA:
            checks = summary["checks"].get(criterion)
            judge = (summary.get("judge") or {}).get(criterion)
            lines.append(f"| {criterion} | {_percent(checks)} | {_percent(judge)} |")
        lines += [
            "",
            f"{len(summary['items'])} functions; judge: {summary.get('judge_model')}",
            "",
            f"decoding: {describe_overrides(summary.get('decoding_overrides') or {})}",
        ]
    else:
        scores = ", ".join(f"{k} {v:.1%}" for k, v in summary["pass_at_k"].items())
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary["statuses"].items()))
        lines += [
            f"- {scores} over {summary['tasks_evaluated']} tasks "
            f"({summary['samples_evaluated']} samples: {statuses})",
            f"- n={summary['n']}, temperature={summary['temperature']}, "
            f"max_tokens={summary['max_tokens']}, sandbox={summary['sandbox']}",
            f"- decoding: {describe_overrides(summary.get('decoding_overrides') or {})}",
            f"- generation {summary['generation_seconds']} s, "
            f"execution {summary['execution_seconds']} s (summed per sample); "
            f"wall {summary.get('wall_seconds', '?')} s",
            f"- machine: {summary['machine']}",
        ]
    return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def find_reports(path: Path) -> list[dict[str, Any]]:
    """Reports in `path`: a report.json, a run folder, or a folder of run folders."""
    if path.is_file():
        candidates = [path]
    else:
        candidates = sorted([path / "report.json", *path.glob("*/report.json")])
    reports = [json.loads(p.read_text()) for p in candidates if p.is_file()]
    if not reports:
        raise ReportMissing(
            f"no report.json in {path} or its subfolders; run `takeaways eval humaneval` "
            "(or mbpp, explain) with --out there first"
        )
    return reports


def comparison_table(paths: list[Path]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """(models in order, {metric: {model: value}}) from the reports under each path."""
    models: list[str] = []
    metrics: dict[str, dict[str, float]] = {}
    for path in paths:
        for report in find_reports(path):
            model = strip_control(str(report["model"]))
            if model not in models:
                models.append(model)
            if report["benchmark"] == "explain":
                for source in ("checks", "judge"):
                    for criterion, value in (report.get(source) or {}).items():
                        metrics.setdefault(f"{criterion} ({source})", {})[model] = value
            else:
                for name, value in report["pass_at_k"].items():
                    metrics.setdefault(f"{report['benchmark']} {name}", {})[model] = value
    # pass@k first: it is the headline number.
    ordered = sorted(metrics, key=lambda name: "pass@" not in name)
    return models, {name: metrics[name] for name in ordered}


def comparison_markdown(models: list[str], metrics: dict[str, dict[str, float]]) -> str:
    """The comparison as a Markdown table: one row per metric, one column per model."""
    lines = ["| metric | " + " | ".join(models) + " |", "| --- |" + " --- |" * len(models)]
    for metric, values in metrics.items():
        cells = " | ".join(_percent(values.get(model)) for model in models)
        lines.append(f"| {metric} | {cells} |")
    return "\n".join(lines) + "\n"


def comparison_chart(
    models: list[str], metrics: dict[str, dict[str, float]], target: Path
) -> Path:
    """A grouped bar chart (PNG) of every metric for every model, scores from 0 to 100 %."""
    import matplotlib

    matplotlib.use("Agg")  # no display: reports are made on servers and in CI
    import matplotlib.pyplot as plt

    names = list(metrics)
    width = 0.8 / max(1, len(models))
    figure, axes = plt.subplots(figsize=(max(6.0, 1.3 * len(names) + 2), 4.5))
    for position, model in enumerate(models):
        xs = [i + (position - (len(models) - 1) / 2) * width for i in range(len(names))]
        ys = [100 * metrics[name].get(model, 0.0) for name in names]
        bars = axes.bar(xs, ys, width, label=model)
        axes.bar_label(bars, fmt="%.0f", fontsize=7)
    axes.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    axes.set_ylabel("score (%)")
    axes.set_ylim(0, 105)
    axes.set_title("takeaways evaluation")
    axes.legend(fontsize=8)
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=120)
    plt.close(figure)
    return target
