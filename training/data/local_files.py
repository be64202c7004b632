"""Local Alpaca files (JSON, JSONL, Parquet), StackOverflow exports included, as records.

Accepted row shapes: Alpaca (`instruction`, `input`, `output`), its common variants
(`prompt`/`question`/`query` for the instruction, `context` for the input,
`response`/`completion`/`answer` for the output; a missing input is ""), and StackOverflow
question exports (see `stackoverflow`). Outputs are put in our answer format (`answer_shape`);
rows that already carry a daemon `kind` keep it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.data import answer_shape, stackoverflow
from training.data.alpaca_record import RECORD_KINDS, AlpacaRecord, records_to_dataset
from training.data.errors import DataFileError

if TYPE_CHECKING:
    import datasets

SUFFIXES = (".json", ".jsonl", ".ndjson", ".parquet")
_INSTRUCTION_KEYS = ("instruction", "prompt", "question", "query")
_INPUT_KEYS = ("input", "context")
_OUTPUT_KEYS = ("output", "response", "completion", "answer")
_SHAPE_HINT = (
    "an Alpaca row needs `instruction` and `output` (and an optional `input`); "
    "StackOverflow rows need `title`, `body` and an accepted answer"
)


def load_alpaca_file(path: str | Path, *, source: str | None = None) -> datasets.Dataset:
    """A local Alpaca JSON / JSONL / Parquet file as a `datasets.Dataset` of normalized records."""
    return records_to_dataset(read_alpaca_records(path, source=source))


def read_alpaca_records(path: str | Path, *, source: str | None = None) -> list[AlpacaRecord]:
    """The file's rows as normalized records; rows with an empty output or no answer are skipped."""
    path = Path(path)
    rows = _read_rows(path)
    if not rows:
        raise DataFileError(f"{path} holds no rows; add at least one {_SHAPE_HINT}")
    name = source or f"file:{path.name}"
    records = [
        record
        for number, row in enumerate(rows, start=1)
        if (record := normalize_row(row, source=name, where=f"{path}: row {number}"))
    ]
    if not records:
        raise DataFileError(
            f"{path}: none of its {len(rows)} rows has a non-empty answer; {_SHAPE_HINT}"
        )
    return records


def normalize_row(row: Any, *, source: str, where: str = "row") -> AlpacaRecord | None:
    """One row of any accepted shape as a record, None when it has nothing to learn from."""
    if not isinstance(row, Mapping):
        raise DataFileError(f"{where} is {type(row).__name__}, expected an object: {_SHAPE_HINT}")
    if stackoverflow.is_stackoverflow_row(row):
        return _stackoverflow_record(row, source)
    instruction = _field(row, _INSTRUCTION_KEYS, where, required=True)
    output = _field(row, _OUTPUT_KEYS, where, required=True)
    input_text = _field(row, _INPUT_KEYS, where, required=False)
    if not instruction.strip() or not output.strip():
        return None
    kind = row.get("kind")
    source = str(row.get("source") or source)  # Rows written by `takeaways data build` keep theirs.
    if kind in RECORD_KINDS and kind != "general":
        # A daemon kind's row (built by us, or by hand) is already in the daemon's exact shape.
        return AlpacaRecord(instruction, input_text, output, kind, source)
    shaped = answer_shape.to_answer_format(instruction, output)
    return AlpacaRecord(instruction.strip(), input_text.strip(), shaped, "general", source)


def _stackoverflow_record(row: Mapping[str, Any], source: str) -> AlpacaRecord | None:
    title, body = stackoverflow.question_parts(row)
    answer = stackoverflow.accepted_answer(row)
    if not title or not answer:
        return None
    return AlpacaRecord(
        title, body, answer_shape.to_answer_format(title, answer), "general", source
    )


def _field(row: Mapping[str, Any], keys: tuple[str, ...], where: str, *, required: bool) -> str:
    for key in keys:
        if key in row and row[key] is not None:
            value = row[key]
            if not isinstance(value, str):
                raise DataFileError(
                    f"{where}: `{key}` is {type(value).__name__}, expected text; "
                    "convert it to a string in the file"
                )
            return value
    if required:
        present = ", ".join(f"`{key}`" for key in row) or "none"
        raise DataFileError(f"{where} has no `{keys[0]}` (its keys: {present}); {_SHAPE_HINT}")
    return ""


def _read_rows(path: Path) -> list[Any]:
    if not path.is_file():
        raise DataFileError(f"{path} does not exist; pass an Alpaca JSON, JSONL or Parquet file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataFileError(f"{path}: unsupported file type; use one of {', '.join(SUFFIXES)}")
    if suffix == ".parquet":
        return _read_parquet(path)
    text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        raise DataFileError(f"{path} is empty; add at least one row ({_SHAPE_HINT})")
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            if error.msg != "Extra data":
                raise DataFileError(f"{path} is not valid JSON ({error}); fix the file") from None
            return _json_lines(path, text)  # One object per line, under a .json name.
        return _rows_of(path, data)
    return _json_lines(path, text)


def _json_lines(path: Path, text: str) -> list[Any]:
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise DataFileError(
                    f"{path}: line {number} is not valid JSON ({error.msg}); "
                    "JSONL needs one JSON object per line"
                ) from None
    return rows


def _rows_of(path: Path, data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        # Exports often wrap the rows: {"data": [...]} or the StackExchange API's {"items": [...]}.
        for key in ("data", "rows", "items", "questions", "train"):
            if isinstance(data.get(key), list):
                return data[key]
        return [data]
    raise DataFileError(f"{path} holds a JSON {type(data).__name__}; expected a list of rows")


def _read_parquet(path: Path) -> list[Any]:
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file.
        raise DataFileError(f"{path} is not a readable Parquet file ({error})") from None
    return table.to_pylist()
