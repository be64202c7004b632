"""Assemble the training set: sources → normalize → scrub → filter → dedupe → decontaminate.

`build_dataset` is what `takeaways data build` and `takeaways model build` call. It returns the
records as a `datasets.Dataset` (columns `instruction, input, output, kind, source`) and a
report of every count and every dropped example's reason, written next to the JSONL.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.data.alpaca_record import COLUMNS, AlpacaRecord, records_to_dataset
from training.data.cleaning.secret_scrubber import scrub_secrets
from training.data.errors import DataError

if TYPE_CHECKING:
    import datasets

DEFAULT_MAX_PER_KIND = 800
MIN_ANSWER_CHARS = 16
# The answer's own content: what is left without the title line, labels and fences.
_ANSWER_SCAFFOLD = re.compile(r"^Title:[^\n]*\n|^Explanation:[ \t]*|^[ \t]*```[^\n]*$", re.M)
MAX_EXAMPLE_CHARS = 6000


@dataclass
class BuildReport:
    """Counts per source and kind, what was dropped and why, and the decontamination hits."""

    loaded: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    secrets: Counter[str] = field(default_factory=Counter)
    contamination: list[dict[str, Any]] = field(default_factory=list)
    benchmarks: dict[str, int] = field(default_factory=dict)
    by_source: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    mining: dict[str, Any] | None = None
    history: dict[str, Any] | None = None
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Examples kept."""
        return sum(self.by_kind.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "total": self.total,
            "by_source": dict(sorted(self.by_source.items())),
            "by_kind": dict(sorted(self.by_kind.items())),
            "loaded": dict(sorted(self.loaded.items())),
            "dropped": dict(sorted(self.dropped.items())),
            "secrets_scrubbed": dict(sorted(self.secrets.items())),
            "benchmarks": self.benchmarks,
            "contamination": self.contamination,
            "mining": self.mining,
            "history": self.history,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class BuildResult:
    """The assembled data set and how it was made."""

    records: list[AlpacaRecord]
    report: BuildReport

    @property
    def dataset(self) -> datasets.Dataset:
        """The records as a `datasets.Dataset` with the `COLUMNS` layout."""
        return records_to_dataset(self.records)


def build_dataset(
    *,
    files: Sequence[str | Path] = (),
    hub: Sequence[str] = (),
    mine: bool = False,
    mine_roots: Sequence[str | Path] | None = None,
    include_history: bool = False,
    max_per_kind: int = DEFAULT_MAX_PER_KIND,
    hub_limit: int | None = None,
    seed: int = 0,
    mbpp: str | Path | None = None,
    decontaminate: bool = True,
    near_duplicate_threshold: float = 0.8,
    progress: bool = True,
) -> BuildResult:
    """Load every chosen source, clean it, and return the records with a report.

    files: local Alpaca JSON / JSONL / Parquet files (StackOverflow exports included).
    hub: named sources (`codealpaca`, `codeinstruct`) or hub ids, loaded through `datasets`.
    mine: mine the examples of every daemon task kind from Python source; `mine_roots` picks the
        folders (default: the standard library and site-packages), `max_per_kind` caps each kind.
    include_history: add accepted suggestions from the encrypted history (opt-in; decrypted in
        memory only, and the use is written to the history's audit log).
    hub_limit: at most this many rows from each hub source.
    mbpp: a local MBPP file to decontaminate against, besides HumanEval.
    """
    if not (files or hub or mine or include_history):
        raise DataError(
            "no data source chosen; pass a local file (--source FILE.jsonl), a hub source "
            "(--source codealpaca), --mine-stdlib, or --include-history"
        )
    if max_per_kind < 1:
        raise DataError(f"max_per_kind must be at least 1, not {max_per_kind}")
    started = time.perf_counter()
    report = BuildReport()
    records = _load_sources(
        files, hub, mine, mine_roots, include_history, max_per_kind, hub_limit, seed, progress,
        report,
    )  # fmt: skip
    for record in records:
        report.loaded[record.source] += 1
    records = _scrubbed(records, report)
    records = _length_filtered(records, report)
    records = _deduplicated(records, report, near_duplicate_threshold)
    if decontaminate:
        records = _decontaminated(records, report, mbpp)
    random.Random(seed).shuffle(records)
    for record in records:
        report.by_source[record.source] += 1
        report.by_kind[record.kind] += 1
    report.seconds = time.perf_counter() - started
    return BuildResult(records, report)


def _load_sources(
    files: Sequence[str | Path],
    hub: Sequence[str],
    mine: bool,
    mine_roots: Sequence[str | Path] | None,
    include_history: bool,
    max_per_kind: int,
    hub_limit: int | None,
    seed: int,
    progress: bool,
    report: BuildReport,
) -> list[AlpacaRecord]:
    from training.data.local_files import read_alpaca_records

    records: list[AlpacaRecord] = []
    for path in files:
        records.extend(read_alpaca_records(path))
    if hub:
        from training.data.hub_sources import load_hub_records

        for name in hub:
            records.extend(load_hub_records(name, limit=hub_limit))
    if mine:
        from training.data.mining import mine_records

        mined, mining = mine_records(
            mine_roots, per_kind=max_per_kind, seed=seed, progress=progress
        )
        report.mining = mining.to_dict()
        records.extend(mined)
    if include_history:
        from training.data.history_source import accepted_suggestion_records

        accepted, history = accepted_suggestion_records()
        report.history = history
        records.extend(accepted)
    return records


def _scrubbed(records: list[AlpacaRecord], report: BuildReport) -> list[AlpacaRecord]:
    cleaned = []
    for record in records:
        fields: dict[str, Any] = {}
        for name in ("instruction", "input", "output"):
            text, found = scrub_secrets(getattr(record, name))
            report.secrets.update(found)
            fields[name] = text
        cleaned.append(replace(record, **fields))
    return cleaned


def _length_filtered(records: list[AlpacaRecord], report: BuildReport) -> list[AlpacaRecord]:
    kept = []
    for record in records:
        if len(_ANSWER_SCAFFOLD.sub("", record.output).strip()) < MIN_ANSWER_CHARS:
            report.dropped["too_short"] += 1
        elif len(record.text) > MAX_EXAMPLE_CHARS:
            report.dropped["too_long"] += 1
        else:
            kept.append(record)
    return kept


def _deduplicated(
    records: list[AlpacaRecord], report: BuildReport, threshold: float
) -> list[AlpacaRecord]:
    from training.data.cleaning.dedupe import find_duplicates

    duplicates = find_duplicates(records, threshold)
    for duplicate in duplicates:
        report.dropped["exact_duplicate" if duplicate.exact else "near_duplicate"] += 1
    dropped = {duplicate.index for duplicate in duplicates}
    return [record for index, record in enumerate(records) if index not in dropped]


def _decontaminated(
    records: list[AlpacaRecord], report: BuildReport, mbpp: str | Path | None
) -> list[AlpacaRecord]:
    from training.data.cleaning.decontamination import (
        Decontaminator,
        humaneval_problems,
        mbpp_problems,
    )

    problems = humaneval_problems()
    report.benchmarks["HumanEval"] = len(problems)
    if mbpp is not None:
        extra = mbpp_problems(mbpp)
        report.benchmarks["MBPP"] = len(extra)
        problems += extra
    hits = Decontaminator(problems).find(records)
    report.dropped["contaminated"] += len(hits)
    report.contamination = [hit.to_dict() for hit in hits]
    dropped = {hit.index for hit in hits}
    return [record for index, record in enumerate(records) if index not in dropped]


def report_path_for(jsonl: str | Path) -> Path:
    """Where the build report of a JSONL data file lives: `NAME.report.json` beside it."""
    path = Path(jsonl)
    return path.with_name(f"{path.stem}.report.json")


def write_jsonl(
    records: Iterable[AlpacaRecord | Mapping[str, Any]],
    path: str | Path,
    report: BuildReport | None = None,
) -> Path:
    """Write records (or rows) as JSONL with the `COLUMNS` keys, and the report beside them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    # 0600: the examples may hold private code (accepted suggestions from the history).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(descriptor, "w", encoding="utf-8") as out:
        for record in records:
            row = record.to_dict() if isinstance(record, AlpacaRecord) else record
            out.write(json.dumps({key: row[key] for key in COLUMNS}, ensure_ascii=False) + "\n")
    temporary.replace(path)
    if report is not None:
        report_file = report_path_for(path)
        report_file.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        report_file.chmod(0o600)
    return path
