"""Specification of local training files: Alpaca JSON / JSONL / Parquet, their common variants,
StackOverflow exports and files shaped like CodeAlpaca-20k and CodeInstruct, all normalized to
{instruction, input, output} with the output in the daemon's answer format."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow
import pyarrow.parquet
import pytest

from takeaways_daemon import prompt_format
from training.data import COLUMNS, DataFileError, load_alpaca_file
from training.data.answer_shape import to_answer_format
from training.data.local_files import read_alpaca_records

CODEALPACA_ROWS = [
    {
        "instruction": "Create a function to calculate the sum of a sequence of integers.",
        "input": "[1, 2, 3, 4, 5]",
        "output": "# Python code\ndef sum_sequence(sequence):\n  sum = 0\n  for num in sequence:\n"
        "    sum += num\n  return sum",
    },
    {
        "instruction": "Explain what a for loop does.",
        "input": "",
        "output": "A for loop repeats a block of statements once for every item of a sequence.",
    },
    {
        "instruction": "Write a SQL query to get all rows of the table users.",
        "input": "",
        "output": "SELECT *\nFROM users;",
    },
]
# CodeInstruct (InstructCoder) rows: an edit instruction, the code to edit, the edited code.
CODEINSTRUCT_ROWS = [
    {
        "instruction": "Add error handling for division by zero.",
        "input": "def divide(a, b):\n    return a / b",
        "output": "def divide(a, b):\n    if b == 0:\n        raise ValueError('b is zero')\n"
        "    return a / b",
    }
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


class TestFormats:
    def test_jsonl_json_and_parquet_give_the_same_dataset(self, tmp_path: Path) -> None:
        jsonl = write_jsonl(tmp_path / "a.jsonl", CODEALPACA_ROWS)
        as_json = tmp_path / "a.json"
        as_json.write_text(json.dumps(CODEALPACA_ROWS))
        parquet = tmp_path / "a.parquet"
        pyarrow.parquet.write_table(pyarrow.Table.from_pylist(CODEALPACA_ROWS), parquet)

        loaded = [load_alpaca_file(path, source="codealpaca") for path in (jsonl, as_json, parquet)]

        assert all(list(dataset.column_names) == list(COLUMNS) for dataset in loaded)
        assert loaded[0].to_list() == loaded[1].to_list() == loaded[2].to_list()
        assert len(loaded[0]) == 3 and set(loaded[0]["source"]) == {"codealpaca"}

    def test_a_json_file_may_wrap_its_rows_or_hold_one_object_per_line(
        self, tmp_path: Path
    ) -> None:
        wrapped = tmp_path / "wrapped.json"
        wrapped.write_text(json.dumps({"data": CODEINSTRUCT_ROWS}))
        lines = write_jsonl(tmp_path / "lines.json", CODEALPACA_ROWS)
        assert len(read_alpaca_records(wrapped)) == 1
        assert len(read_alpaca_records(lines)) == 3

    def test_common_variants_map_to_alpaca_fields(self, tmp_path: Path) -> None:
        rows = [
            {"prompt": "Reverse a string in Python.", "completion": "```python\ns[::-1]\n```"},
            {"question": "What is a tuple?", "context": "Python", "answer": "An immutable list."},
            {"instruction": "Say hi in Python.", "response": "print('hi')"},
        ]
        records = read_alpaca_records(write_jsonl(tmp_path / "v.jsonl", rows))
        assert [r.instruction for r in records] == [
            "Reverse a string in Python.",
            "What is a tuple?",
            "Say hi in Python.",
        ]
        assert [r.input for r in records] == ["", "Python", ""]
        assert all(r.kind == "general" and r.source == "file:v.jsonl" for r in records)

    def test_rows_with_an_empty_answer_are_skipped(self, tmp_path: Path) -> None:
        rows = [*CODEINSTRUCT_ROWS, {"instruction": "Do nothing.", "input": "", "output": "  "}]
        assert len(read_alpaca_records(write_jsonl(tmp_path / "e.jsonl", rows))) == 1


class TestAnswerFormat:
    def test_code_answers_get_a_title_a_fenced_block_and_an_explanation(self) -> None:
        answer = to_answer_format(CODEALPACA_ROWS[0]["instruction"], CODEALPACA_ROWS[0]["output"])
        parsed = prompt_format.parse_answer(answer, "complete")
        assert parsed.title == "Create a function to calculate the sum of a sequence of integers"
        assert parsed.code == CODEALPACA_ROWS[0]["output"]
        assert answer.splitlines()[1] == "```python"
        assert parsed.explanation.startswith("It does what was asked: create a function")

    def test_prose_around_a_fence_becomes_the_explanation(self) -> None:
        output = "Use slicing:\n\n```py\nword[::-1]\n```\n\nIt walks backwards."
        parsed = prompt_format.parse_answer(to_answer_format("Reverse it.", output), "fix")
        assert (parsed.code, parsed.explanation) == (
            "word[::-1]",
            "Use slicing: It walks backwards.",
        )
        assert "```python\n" in to_answer_format("Reverse it.", output)

    def test_prose_answers_take_the_explain_shape(self) -> None:
        answer = to_answer_format("Explain what a for loop does.", CODEALPACA_ROWS[1]["output"])
        parsed = prompt_format.parse_answer(answer, "explain")
        assert parsed.code == "" and parsed.explanation == CODEALPACA_ROWS[1]["output"]

    def test_other_languages_are_named_from_the_instruction(self) -> None:
        answer = to_answer_format(CODEALPACA_ROWS[2]["instruction"], CODEALPACA_ROWS[2]["output"])
        assert "```sql\nSELECT *\nFROM users;\n```" in answer

    def test_an_answer_already_in_our_format_is_kept(self) -> None:
        ours = prompt_format.render_answer("Fix it", "It was broken.", "x = 1")
        assert to_answer_format("anything", ours) == ours

    def test_codeinstruct_rows_keep_their_instruction_and_input(self, tmp_path: Path) -> None:
        (record,) = read_alpaca_records(write_jsonl(tmp_path / "ci.jsonl", CODEINSTRUCT_ROWS))
        assert record.instruction == CODEINSTRUCT_ROWS[0]["instruction"]
        assert record.input == CODEINSTRUCT_ROWS[0]["input"]
        assert (
            prompt_format.parse_answer(record.output, "fix").code
            == (CODEINSTRUCT_ROWS[0]["output"])
        )


class TestStackOverflow:
    def test_api_shaped_export_uses_title_body_and_the_accepted_answer(
        self, tmp_path: Path
    ) -> None:
        export = {
            "items": [
                {
                    "title": "How do I reverse a list in Python?",
                    "body": "<p>I have <code>xs = [1, 2]</code>. How do I reverse it?</p>",
                    "answers": [
                        {"body": "<p>Wrong answer.</p>", "is_accepted": False},
                        {
                            "body": "<p>Use slicing:</p><pre><code>xs[::-1]\n</code></pre>"
                            "<p>It makes a reversed copy &amp; keeps xs.</p>",
                            "is_accepted": True,
                        },
                    ],
                },
                {"title": "Unanswered", "body": "<p>?</p>", "answers": [{"body": "no"}]},
            ]
        }
        path = tmp_path / "so.json"
        path.write_text(json.dumps(export))
        (record,) = read_alpaca_records(path)
        assert record.instruction == "How do I reverse a list in Python?"
        assert record.input == "I have `xs = [1, 2]`. How do I reverse it?"
        parsed = prompt_format.parse_answer(record.output, "fix")
        assert parsed.code == "xs[::-1]"
        assert parsed.explanation == "Use slicing: It makes a reversed copy & keeps xs."

    def test_flat_export_with_an_accepted_answer_column(self, tmp_path: Path) -> None:
        rows = [
            {
                "title": "Read a file line by line",
                "question_body": "What is the idiom?",
                "accepted_answer": "```python\nwith open(p) as f:\n    for line in f:\n"
                "        print(line)\n```",
            }
        ]
        (record,) = read_alpaca_records(write_jsonl(tmp_path / "so.jsonl", rows))
        assert (record.instruction, record.input) == (
            "Read a file line by line",
            "What is the idiom?",
        )
        assert prompt_format.parse_answer(record.output, "fix").code.startswith("with open(p)")


class TestErrors:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("", "is empty; add at least one row"),
            ('{"instruction": "x"}\n', "row 1 has no `output` (its keys: `instruction`)"),
            ('{"instruction": "x", "output": ["a"]}\n', "`output` is list, expected text"),
            ('{"instruction": "x", "output": "y"}\n{oops\n', "line 2 is not valid JSON"),
            ('"just a string"\n', "row 1 is str, expected an object"),
        ],
    )
    def test_bad_files_get_an_error_naming_the_fix(
        self, tmp_path: Path, content: str, message: str
    ) -> None:
        path = tmp_path / "bad.jsonl"
        path.write_text(content)
        with pytest.raises(DataFileError, match=r"bad\.jsonl") as caught:
            load_alpaca_file(path)
        assert message in str(caught.value)

    def test_missing_and_unsupported_files(self, tmp_path: Path) -> None:
        with pytest.raises(DataFileError, match="does not exist; pass an Alpaca JSON"):
            load_alpaca_file(tmp_path / "nope.jsonl")
        csv = tmp_path / "data.csv"
        csv.write_text("a,b\n")
        with pytest.raises(DataFileError, match=r"unsupported file type; use one of \.json"):
            load_alpaca_file(csv)

    def test_a_file_with_no_usable_row_says_so(self, tmp_path: Path) -> None:
        path = write_jsonl(tmp_path / "empty.jsonl", [{"instruction": "x", "output": ""}])
        with pytest.raises(DataFileError, match="none of its 1 rows has a non-empty answer"):
            load_alpaca_file(path)


def test_unicode_line_separators_inside_values_survive_a_jsonl_round_trip(tmp_path: Path) -> None:
    """`write_jsonl` keeps U+2028/U+2029/U+0085 raw (ensure_ascii=False); readers split on \\n."""
    from training.data import write_jsonl
    from training.data.alpaca_record import AlpacaRecord

    odd = "first\u2028second\u2029third\x85fourth"
    path = tmp_path / "odd.jsonl"
    write_jsonl([AlpacaRecord(instruction=odd, input="", output="x = 1", kind="general",
                              source="test")], path)  # fmt: skip
    assert [record.instruction for record in read_alpaca_records(path)] == [odd]
