"""Training data: sources → normalize → clean → decontaminate → Alpaca records.

Light on purpose: `datasets` and the miners are imported inside the functions that need them,
so that `takeaways --help` stays instant.
"""

from __future__ import annotations

from training.data.alpaca_record import COLUMNS, RECORD_KINDS, AlpacaRecord, RecordKind
from training.data.build import BuildReport, BuildResult, build_dataset, write_jsonl
from training.data.errors import DataError, DataFileError, HubSourceUnavailable
from training.data.local_files import load_alpaca_file

__all__ = [
    "COLUMNS",
    "RECORD_KINDS",
    "AlpacaRecord",
    "BuildReport",
    "BuildResult",
    "DataError",
    "DataFileError",
    "HubSourceUnavailable",
    "RecordKind",
    "build_dataset",
    "load_alpaca_file",
    "write_jsonl",
]
