"""What a training JSONL holds: counts per source and kind, length histograms, and the
decontamination hits recorded when it was built. Text for the terminal; a PNG on request."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.data.build import report_path_for
from training.data.errors import DataFileError
from training.data.local_files import read_alpaca_records

BAR_WIDTH = 40
# Character-length bins: roughly doubling, since examples range from a line to a page.
BIN_EDGES = (0, 64, 128, 256, 512, 1024, 2048, 4096, 8192)


@dataclass
class DataStats:
    """Counts and length distributions of one data file."""

    path: Path
    total: int
    by_source: Counter[str]
    by_kind: Counter[str]
    prompt_lengths: list[int]
    answer_lengths: list[int]
    build_report: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """The statistics as JSON-ready data."""
        return {
            "path": str(self.path),
            "total": self.total,
            "by_source": dict(self.by_source.most_common()),
            "by_kind": dict(self.by_kind.most_common()),
            "prompt_chars": _summary(self.prompt_lengths),
            "answer_chars": _summary(self.answer_lengths),
            "prompt_histogram": histogram(self.prompt_lengths),
            "answer_histogram": histogram(self.answer_lengths),
            "decontamination": self.decontamination,
        }

    @property
    def decontamination(self) -> dict[str, Any] | None:
        """Benchmarks checked and the examples dropped, from the build report beside the file."""
        if self.build_report is None:
            return None
        return {
            "benchmarks": self.build_report.get("benchmarks", {}),
            "hits": self.build_report.get("contamination", []),
        }


def collect_stats(path: str | Path) -> DataStats:
    """Statistics of a JSONL / JSON / Parquet data file (and its build report, if present)."""
    path = Path(path)
    records = read_alpaca_records(path)
    report_file = report_path_for(path)
    report = None
    if report_file.is_file():
        try:
            report = json.loads(report_file.read_text())
        except json.JSONDecodeError:
            raise DataFileError(f"{report_file} is not valid JSON; delete it or rebuild") from None
    return DataStats(
        path=path,
        total=len(records),
        by_source=Counter(record.source for record in records),
        by_kind=Counter(record.kind for record in records),
        prompt_lengths=[len(record.instruction) + len(record.input) for record in records],
        answer_lengths=[len(record.output) for record in records],
        build_report=report,
    )


def _summary(lengths: list[int]) -> dict[str, int]:
    if not lengths:
        return {"min": 0, "median": 0, "max": 0}
    ordered = sorted(lengths)
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1]}


def histogram(lengths: list[int]) -> list[tuple[str, int]]:
    """(bin label, count) over `BIN_EDGES`; the last bin is open-ended."""
    counts = Counter(min(len(BIN_EDGES) - 1, max(0, _bin(length))) for length in lengths)
    labels = [f"{BIN_EDGES[i]}-{BIN_EDGES[i + 1] - 1}" for i in range(len(BIN_EDGES) - 1)]
    labels.append(f"{BIN_EDGES[-1]}+")
    return [(label, counts.get(i, 0)) for i, label in enumerate(labels)]


def _bin(length: int) -> int:
    for i in range(len(BIN_EDGES) - 1):
        if length < BIN_EDGES[i + 1]:
            return i
    return len(BIN_EDGES) - 1


def render_text(stats: DataStats) -> str:
    """The statistics as terminal text: tables of counts and bar-chart histograms."""
    lines = [f"{stats.path}: {stats.total} examples", "", "per source:"]
    lines += [f"  {source:<32} {count:>7}" for source, count in stats.by_source.most_common()]
    lines += ["", "per kind:"]
    lines += [f"  {kind:<32} {count:>7}" for kind, count in stats.by_kind.most_common()]
    for title, lengths in (
        ("prompt length (chars)", stats.prompt_lengths),
        ("answer length (chars)", stats.answer_lengths),
    ):
        lines += ["", f"{title}: {_summary(lengths)}"]
        bins = histogram(lengths)
        peak = max((count for _, count in bins), default=0) or 1
        for label, count in bins:
            bar = "█" * math.ceil(BAR_WIDTH * count / peak) if count else ""
            lines.append(f"  {label:>11} {count:>7} {bar}")
    lines.append("")
    decontamination = stats.decontamination
    if decontamination is None:
        lines.append(f"decontamination: no build report ({report_path_for(stats.path).name})")
    else:
        checked = ", ".join(
            f"{name} ({n} problems)" for name, n in decontamination["benchmarks"].items()
        )
        hits = decontamination["hits"]
        lines.append(
            f"decontamination: checked against {checked or 'nothing'}; {len(hits)} dropped"
        )
        for hit in hits[:20]:
            lines.append(
                f"  {hit['benchmark']} {hit['task_id']}: a {hit['kind']} example from "
                f"{hit['source']} ({hit['shared_ngrams']} shared n-grams)"
            )
        if len(hits) > 20:
            lines.append(f"  … and {len(hits) - 20} more (see {report_path_for(stats.path).name})")
    return "\n".join(lines)


def save_png(stats: DataStats, destination: str | Path) -> Path:
    """Both length histograms and the per-kind counts as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    for axis, title, lengths in (
        (axes[0], "prompt length (chars)", stats.prompt_lengths),
        (axes[1], "answer length (chars)", stats.answer_lengths),
    ):
        axis.hist(lengths, bins=[*BIN_EDGES, max([BIN_EDGES[-1] * 2, *lengths])], log=False)
        axis.set_xscale("log", base=2)
        axis.set_title(title)
    kinds = stats.by_kind.most_common()
    axes[2].bar([kind for kind, _ in kinds], [count for _, count in kinds])
    axes[2].set_title("examples per kind")
    figure.suptitle(f"{stats.path.name}: {stats.total} examples")
    figure.tight_layout()
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(destination, dpi=100)
    plt.close(figure)
    return destination
