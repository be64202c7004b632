"""The one shape every training example takes: Alpaca's {instruction, input, output}.

Two metadata columns travel with each record and never reach the model: `kind` (which daemon
task it teaches, or `general` for free-form sources) and `source` (where it came from, for the
statistics and the decontamination report).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from takeaways_daemon.kinds import TASK_KINDS, TaskKind

if TYPE_CHECKING:
    import datasets

RecordKind = TaskKind | Literal["general"]
"""A daemon task kind, or `general` for instruction data that is not one of the tasks."""
RECORD_KINDS: tuple[RecordKind, ...] = (*TASK_KINDS, "general")
COLUMNS = ("instruction", "input", "output", "kind", "source")


@dataclass(frozen=True)
class AlpacaRecord:
    """One normalized training example plus where it came from."""

    instruction: str
    input: str
    output: str
    kind: RecordKind = "general"
    source: str = "local"

    def __post_init__(self) -> None:
        if self.kind not in RECORD_KINDS:
            raise ValueError(f"kind must be one of {', '.join(RECORD_KINDS)}, not {self.kind!r}")

    def to_dict(self) -> dict[str, str]:
        """The record as a plain row (the JSONL and `datasets` column layout)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> AlpacaRecord:
        """A record from a row with instruction and output (input, kind and source optional)."""
        return cls(
            instruction=str(row["instruction"]),
            input=str(row.get("input") or ""),
            output=str(row["output"]),
            kind=row.get("kind") or "general",
            source=str(row.get("source") or "local"),
        )

    @property
    def text(self) -> str:
        """Everything a model sees of this example, for deduplication and decontamination."""
        return f"{self.instruction}\n{self.input}\n{self.output}"


def records_to_dataset(records: Iterable[AlpacaRecord]) -> datasets.Dataset:
    """A `datasets.Dataset` with exactly the columns in `COLUMNS`, in that order."""
    import datasets

    rows = [record.to_dict() for record in records]
    columns = {name: [row[name] for row in rows] for name in COLUMNS}
    features = datasets.Features({name: datasets.Value("string") for name in COLUMNS})
    return datasets.Dataset.from_dict(columns, features=features)


def dataset_to_records(dataset: Iterable[Mapping[str, Any]]) -> list[AlpacaRecord]:
    """Records back from a dataset (or any iterable of rows) with the `COLUMNS` layout."""
    return [AlpacaRecord.from_dict(row) for row in dataset]
