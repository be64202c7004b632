"""MBPP from a local file: prompting, loading errors, and sandboxed scoring through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from training.evaluation.humaneval import BenchmarkDataMissing
from training.evaluation.mbpp import STOP_SEQUENCES, load_local

# Records in MBPP's own format (task_id, text, code, test_list, test_setup_code).
RECORDS = [
    {"task_id": 901, "text": "Write a function to return the largest of three numbers.",
     "code": "def largest(a, b, c):\n    return max(a, b, c)",
     "test_list": ["assert largest(1, 5, 3) == 5", "assert largest(-1, -5, -3) == -1"],
     "test_setup_code": "", "challenge_test_list": []},
    {"task_id": 902, "text": "Write a function to count vowels in a string.",
     "code": "def count_vowels(s):\n    return sum(ch in 'aeiou' for ch in s.lower())",
     "test_list": ["assert count_vowels('Banana') == 3", "assert count_vowels('xyz') == 0"],
     "test_setup_code": "import string", "challenge_test_list": []},
]  # fmt: skip


@pytest.fixture
def mbpp_file(tmp_path: Path) -> Path:
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in RECORDS))
    return path


def test_prompt_is_the_description_and_first_test_in_a_docstring(mbpp_file: Path) -> None:
    first = load_local(mbpp_file)[0]
    assert first.task_id == "MBPP/901"
    assert first.prompt == (
        '"""\nWrite a function to return the largest of three numbers.\n'
        'assert largest(1, 5, 3) == 5\n"""\n'
    )
    assert first.stop == STOP_SEQUENCES and "\nassert" in first.stop
    assert first.program("def largest(a, b, c):\n    return 0").endswith(
        "assert largest(1, 5, 3) == 5\nassert largest(-1, -5, -3) == -1\n"
    )


def test_a_json_list_file_loads_the_same(tmp_path: Path, mbpp_file: Path) -> None:
    listed = tmp_path / "mbpp.json"
    listed.write_text(json.dumps(RECORDS))
    assert load_local(listed) == load_local(mbpp_file)


def test_a_record_without_tests_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"task_id": 1, "text": "x", "code": "pass"}) + "\n")
    with pytest.raises(BenchmarkDataMissing, match="lacks 'test_list'"):
        load_local(broken)


def test_canonical_code_passes_and_wrong_code_fails_in_the_sandbox(
    mbpp_file: Path, tmp_path: Path
) -> None:
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        json.dumps({"task_id": "MBPP/901", "completion": RECORDS[0]["code"]}) + "\n"
        + json.dumps({"task_id": "MBPP/902", "completion": "def count_vowels(s):\n    return 3"})
        + "\n"
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", "eval", "mbpp", "--data", str(mbpp_file),
         "--samples", str(samples), "--out", str(tmp_path / "run"), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    verdicts = {task["task_id"]: task["passed"] for task in report["tasks"]}
    assert verdicts == {"MBPP/901": 1, "MBPP/902": 0}
    assert report["pass_at_k"]["pass@1"] == 0.5


def test_without_a_file_or_the_network_it_says_to_pass_data(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "hf")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", "eval", "mbpp", "--model", "base"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "pass --data path/to/mbpp.jsonl" in done.stderr
