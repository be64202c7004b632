"""Mine training examples of every daemon task kind from real Python source on this machine.

Files are visited in an order shuffled by the seed, and mining stops as soon as every kind has
its quota, so a few thousand examples take seconds rather than a walk of every package. A file
gives at most a couple of examples per kind, which spreads the set over many modules.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from takeaways_daemon.kinds import TASK_KINDS, TaskKind
from training.data.alpaca_record import AlpacaRecord
from training.data.errors import DataError
from training.data.mining.functions import functions_in, read_source
from training.data.mining.source_files import SourceFile, default_roots, iter_source_files
from training.data.mining.task_examples import BUILDERS

if TYPE_CHECKING:
    from tqdm import tqdm

MINED_KINDS: tuple[TaskKind, ...] = TASK_KINDS
DEFAULT_PER_KIND = 800
PER_FILE_PER_KIND = 2
# No package (torch, transformers…) may fill more than this share of a kind: variety matters.
PER_PACKAGE_SHARE = 0.125


@dataclass
class MiningReport:
    """What the miner looked at and what it kept."""

    roots: list[str]
    files_seen: int = 0
    files_skipped: int = 0
    functions_seen: int = 0
    kept: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """The report as plain JSON-ready data."""
        return {
            "roots": self.roots,
            "files_seen": self.files_seen,
            "files_skipped": self.files_skipped,
            "functions_seen": self.functions_seen,
            "kept": dict(sorted(self.kept.items())),
            "seconds": round(self.seconds, 2),
        }


def mine_records(
    roots: Sequence[str | Path] | None = None,
    *,
    per_kind: int = DEFAULT_PER_KIND,
    kinds: Sequence[TaskKind] = MINED_KINDS,
    seed: int = 0,
    progress: bool = True,
) -> tuple[list[AlpacaRecord], MiningReport]:
    """Up to `per_kind` examples of each kind from the Python files under `roots`.

    `roots` defaults to the standard library and this environment's site-packages. The same
    roots and seed give the same examples.
    """
    folders = [Path(root) for root in roots] if roots is not None else default_roots()
    for folder in folders:
        if not folder.is_dir():
            raise DataError(f"{folder} is not a folder; pass folders of Python source to mine")
    started = time.perf_counter()
    report = MiningReport([str(folder) for folder in folders])
    rng = random.Random(seed)
    files = list(iter_source_files(folders))
    rng.shuffle(files)
    wanted = dict.fromkeys(kinds, per_kind)
    package_cap = max(PER_FILE_PER_KIND, int(per_kind * PER_PACKAGE_SHARE))
    per_package: Counter[tuple[str, str]] = Counter()
    records: list[AlpacaRecord] = []
    bar = _progress_bar(len(files), progress)
    try:
        for source in files:
            if not any(wanted.values()):
                break
            bar.update(1)
            report.files_seen += 1
            text = read_source(source)
            if text is None:
                report.files_skipped += 1
                continue
            records.extend(_mine_file(source, text, wanted, rng, report, package_cap, per_package))
            bar.set_postfix(examples=len(records), refresh=False)
    finally:
        bar.close()
    report.seconds = time.perf_counter() - started
    return records, report


def _mine_file(
    source: SourceFile,
    text: str,
    wanted: dict[TaskKind, int],
    rng: random.Random,
    report: MiningReport,
    package_cap: int,
    per_package: Counter[tuple[str, str]],
) -> list[AlpacaRecord]:
    package = source.display_path.split("/", 1)[0]
    taken: Counter[str] = Counter()
    found: list[AlpacaRecord] = []
    functions = list(functions_in(source, text))
    rng.shuffle(functions)
    for function in functions:
        report.functions_seen += 1
        # One kind per function: the same code never teaches two answers in the set.
        open_kinds = [
            k
            for k in wanted
            if wanted[k] > 0
            and taken[k] < PER_FILE_PER_KIND
            and per_package[package, k] < package_cap
        ]
        rng.shuffle(open_kinds)
        for kind in open_kinds:
            record = BUILDERS[kind](function, rng)
            if record is not None:
                found.append(record)
                taken[kind] += 1
                wanted[kind] -= 1
                per_package[package, kind] += 1
                report.kept[kind] += 1
                break
    return found


def _progress_bar(total: int, enabled: bool) -> tqdm:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc="mining Python source",
        unit="file",
        disable=not enabled or not sys.stderr.isatty(),
        leave=False,
    )
