"""Reports: a run's JSON and Markdown, and a comparison of models (Markdown + PNG chart).

Every run folder gets `report.json` (the whole summary, per task) and `report.md`.
`compare` reads any number of such folders (or folders holding several runs, such as
`--out` of `takeaways eval all`) and lines the models up metric by metric.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.model_identity import PACKAGED_BASE_LABEL, PACKAGED_BASE_SPEC
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


def write_rates_report(
    folder: Path, benchmark: str, model: str, rates: dict[str, float], **details: Any
) -> Path:
    """A bench's shares for one model (0-1 each) as a run folder that `compare` lines up.

    Measures that live in bench scripts rather than in `takeaways eval` (fix success, format
    validity per kind, served speed against the base) so sit beside pass@1 in one comparison.
    """
    folder.mkdir(parents=True, exist_ok=True)
    write_report(folder, {"benchmark": benchmark, "model": model, "rates": rates, **details})
    return folder


def model_labels(specs: list[str], labels: list[str]) -> list[str]:
    """Each model's name in reports: `base` is the packaged base; the rest from `labels`, in
    order, else the file's name (benches take `--model` and `--label` in pairs)."""
    named = iter(labels)
    return [
        PACKAGED_BASE_LABEL if spec == PACKAGED_BASE_SPEC else next(named, None) or Path(spec).name
        for spec in specs
    ]


def file_name_safe(text: str) -> str:
    """`text` with every run of characters a file name should not hold made one `-`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def slug(label: str) -> str:
    """A folder name for a model's label."""
    return file_name_safe(label).lower()


def run_markdown(summary: dict[str, Any]) -> str:
    """A short Markdown summary of one run."""
    lines = [f"# {summary['benchmark']}: {summary['model']}", ""]
    if "rates" in summary:
        lines += [f"- {name}: {_percent(value)}" for name, value in summary["rates"].items()]
        lines += [f"- {key}: {value}" for key, value in summary.items()
                  if key not in ("benchmark", "model", "rates")]  # fmt: skip
    elif summary["benchmark"] == "explain":
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
        if summary.get("code_quality"):
            lines.append(
                f"- code quality (lower is better): {quality_line(summary['code_quality'])}"
            )
    return "\n".join(lines) + "\n"


def quality_line(quality: dict[str, Any]) -> str:
    """One line for a run's code quality: the model's figures, the reference's in brackets."""
    model, reference = quality["model"], quality["reference"]
    return (
        f"ruff {_number(model['ruff_per_100_lines'])} findings/100 lines "
        f"(reference {_number(reference['ruff_per_100_lines'])}), "
        f"complexity {_number(model['complexity'])} "
        f"(reference {_number(reference['complexity'])}); "
        f"{model['samples']} samples, {model['unparsed']} not parsing; rules {quality['rules']}"
    )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


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
            if "rates" in report:
                for name, value in report["rates"].items():
                    metrics.setdefault(f"{report['benchmark']} {name}", {})[model] = value
            elif report["benchmark"] == "explain":
                for source in ("checks", "judge"):
                    for criterion, value in (report.get(source) or {}).items():
                        metrics.setdefault(f"{criterion} ({source})", {})[model] = value
            else:
                for name, value in report["pass_at_k"].items():
                    metrics.setdefault(f"{report['benchmark']} {name}", {})[model] = value
    # pass@k first: it is the headline number.
    ordered = sorted(metrics, key=lambda name: "pass@" not in name)
    return models, {name: metrics[name] for name in ordered}


REFERENCE_LABEL = "reference solution"
QUALITY_MEASURES = {"ruff_per_100_lines": "ruff findings/100 lines", "complexity": "complexity"}


def quality_table(paths: list[Path]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """(models, then the reference), {measure: {model: value}}: code quality, lower is better."""
    models: list[str] = []
    metrics: dict[str, dict[str, float]] = {}
    for path in paths:
        for report in find_reports(path):
            quality = report.get("code_quality")
            if not quality:
                continue
            model = strip_control(str(report["model"]))
            if model not in models:
                models.append(model)
            for key, measure in QUALITY_MEASURES.items():
                name = f"{report['benchmark']} {measure}"
                for who, scores in (
                    (model, quality["model"]),
                    (REFERENCE_LABEL, quality["reference"]),
                ):
                    if scores.get(key) is not None:
                        metrics.setdefault(name, {})[who] = float(scores[key])
    return ([*models, REFERENCE_LABEL] if models else []), metrics


def quality_markdown(models: list[str], metrics: dict[str, dict[str, float]]) -> str:
    """The code quality table (lower is better), empty when no report measured it."""
    if not metrics:
        return ""
    lines = [
        "Code quality of the written code (lower is better):",
        "",
        "| measure | " + " | ".join(models) + " |",
        "| --- |" + " --- |" * len(models),
    ]
    for measure, values in metrics.items():
        cells = " | ".join(_number(values.get(model)) for model in models)
        lines.append(f"| {measure} | {cells} |")
    return "\n".join(lines) + "\n"


def comparison_markdown(models: list[str], metrics: dict[str, dict[str, float]]) -> str:
    """The comparison as a Markdown table: one row per metric, one column per model."""
    lines = ["| metric | " + " | ".join(models) + " |", "| --- |" + " --- |" * len(models)]
    for metric, values in metrics.items():
        cells = " | ".join(_percent(values.get(model)) for model in models)
        lines.append(f"| {metric} | {cells} |")
    return "\n".join(lines) + "\n"


def comparison_chart(
    models: list[str],
    metrics: dict[str, dict[str, float]],
    target: Path,
    quality: tuple[list[str], dict[str, dict[str, float]]] | None = None,
) -> Path:
    """A grouped bar chart (PNG) of every metric for every model, scores from 0 to 100 %.

    With `quality` (from `quality_table`), a second panel beside it shows the code quality
    measures in their own units, the reference solution as one more bar.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display: reports are made on servers and in CI
    import matplotlib.pyplot as plt

    quality_models, quality_metrics = quality or ([], {})
    panels = 2 if quality_metrics else 1
    names = list(metrics)
    width_in = max(6.0, 1.3 * len(names) + 2) + (
        1.6 * len(quality_metrics) + 2 if panels > 1 else 0
    )
    figure, all_axes = plt.subplots(
        1, panels, figsize=(width_in, 4.5), squeeze=False,
        gridspec_kw={"width_ratios": [max(1, len(names)), max(1, len(quality_metrics))][:panels]},
    )  # fmt: skip
    axes = all_axes[0][0]
    _bars(axes, models, names, {n: {m: 100 * v for m, v in metrics[n].items()} for n in names})
    axes.set_ylabel("score (%)")
    # Shares top out at 100%; a speed against the base can exceed it and must stay in view.
    highest = max((100 * v for values in metrics.values() for v in values.values()), default=0)
    axes.set_ylim(0, max(105.0, highest * 1.08))
    axes.set_title("takeaways evaluation")
    axes.legend(fontsize=8)
    if quality_metrics:
        side = all_axes[0][1]
        _bars(side, quality_models, list(quality_metrics), quality_metrics, fmt="%.1f")
        side.set_ylabel("lower is better")
        side.set_title("code quality")
        side.legend(fontsize=7)
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=120)
    plt.close(figure)
    return target


def _bars(
    axes: Any,
    models: list[str],
    names: list[str],
    values: dict[str, dict[str, float]],
    fmt: str = "%.0f",
) -> None:
    """One group of bars per metric name, one bar per model, labelled with its value."""
    width = 0.8 / max(1, len(models))
    for position, model in enumerate(models):
        xs = [i + (position - (len(models) - 1) / 2) * width for i in range(len(names))]
        ys = [values[name].get(model, 0.0) for name in names]
        bars = axes.bar(xs, ys, width, label=model)
        axes.bar_label(bars, fmt=fmt, fontsize=7)
    axes.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
