"""MBPP (Austin et al. 2021) from a local file, or from the Hugging Face hub when online.

A local file is the original `mbpp.jsonl` (one JSON object a line: `task_id`, `text`, `code`,
`test_list`, optional `test_setup_code`), or a JSON list of the same objects.

Conventions follow the bigcode evaluation harness:

- The prompt is a docstring holding the description and the first test, then a newline:
  `'\"\"\"\\n{text}\\n{test_list[0]}\\n\"\"\"\\n'`; the model writes the whole function.
- Stop sequences: `\\nclass`, `\\nassert`, `\\n\"\"\"`, `\\nprint`, `\\nif`, `\\n<|/`, `\\n```\\ `.
- Post-processing: cut at the earliest stop sequence.
- The checked program is the prompt, the completion, `test_setup_code` and every test of
  `test_list` (the challenge tests are not used, as in the paper's main numbers).
- From the hub, the `full` config's `test` split (task ids 11–510) is used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.evaluation.humaneval import BenchmarkDataMissing
from training.evaluation.problems import Problem

STOP_SEQUENCES = ("\nclass", "\nassert", '\n"""', "\nprint", "\nif", "\n<|/", "\n```")
HUB_ID = "google-research-datasets/mbpp"


def problem_from_record(record: dict[str, Any]) -> Problem:
    """One MBPP record as a Problem."""
    try:
        tests = list(record["test_list"])
        text = record.get("text") or record["prompt"]
        prompt = f'"""\n{text}\n{tests[0]}\n"""\n'
        test = "\n".join([record.get("test_setup_code") or "", *tests]).strip("\n")
        return Problem(f"MBPP/{record['task_id']}", prompt, STOP_SEQUENCES, test, record["code"])
    except (KeyError, IndexError, TypeError) as error:
        raise BenchmarkDataMissing(
            f"an MBPP record lacks {error}: expected task_id, text, code and test_list"
        ) from None


def load_local(path: Path) -> list[Problem]:
    """Problems from an MBPP JSONL (or JSON list) file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BenchmarkDataMissing(f"cannot read the MBPP file {path}: {error.strerror}") from None
    try:
        stripped = text.lstrip()
        if stripped.startswith("["):
            records = json.loads(stripped)
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as error:
        raise BenchmarkDataMissing(f"{path} is not MBPP JSONL: {error}") from None
    return [problem_from_record(record) for record in records]


def load_hub(split: str = "test") -> list[Problem]:
    """Problems from the hub (needs the network the first time; `datasets` caches them)."""
    try:
        import datasets
    except ImportError:
        raise BenchmarkDataMissing(
            "loading MBPP from the hub needs `datasets`; or pass --data path/to/mbpp.jsonl"
        ) from None
    try:
        rows = datasets.load_dataset(HUB_ID, "full", split=split)
    except Exception as error:  # offline, renamed, rate-limited: all mean "use a local file"
        raise BenchmarkDataMissing(
            f"could not load {HUB_ID} from the hub ({type(error).__name__}); download "
            "mbpp.jsonl and pass --data path/to/mbpp.jsonl"
        ) from None
    return [problem_from_record(dict(row)) for row in rows]
