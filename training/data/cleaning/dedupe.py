"""Exact and near-duplicate removal.

Exact: the same text once whitespace and case are normalized. Near: MinHash signatures over
5-token shingles, bucketed by locality-sensitive hashing (16 bands of 8 rows), then confirmed
by the signatures' estimated Jaccard similarity (0.8 by default). Only examples of the same
kind are compared: a mined function may rightly appear once as a `fix` and once as an
`explain`, but two near copies of one CodeAlpaca answer teach nothing twice.

Hashes are xxhash (stable across runs, unlike Python's salted `hash`), and the signature maths
runs in numpy, so a few thousand examples take well under a second per thousand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from training.data.alpaca_record import AlpacaRecord

NUM_PERMUTATIONS = 128
BANDS = 16
SHINGLE_TOKENS = 5
_TOKEN = re.compile(r"\w+|[^\w\s]")
_MERSENNE = np.uint64((1 << 61) - 1)
_SEEDS = np.random.default_rng(20240501)
_A = _SEEDS.integers(1, 1 << 31, NUM_PERMUTATIONS, dtype=np.uint64)
_B = _SEEDS.integers(0, 1 << 31, NUM_PERMUTATIONS, dtype=np.uint64)


@dataclass(frozen=True)
class Duplicate:
    """A dropped record and the kept record it copies."""

    index: int
    kept_index: int
    exact: bool
    similarity: float


def normalized(text: str) -> str:
    """Text compared for exact duplicates: lower case, whitespace collapsed."""
    return " ".join(text.lower().split())


def signature(text: str) -> np.ndarray:
    """The MinHash signature of the text's 5-token shingles."""
    tokens = _TOKEN.findall(text.lower())
    if len(tokens) < SHINGLE_TOKENS:
        tokens = tokens + [""] * (SHINGLE_TOKENS - len(tokens))
    shingles = {
        " ".join(tokens[i : i + SHINGLE_TOKENS]) for i in range(len(tokens) - SHINGLE_TOKENS + 1)
    }
    hashes = np.fromiter(
        (xxhash.xxh32_intdigest(s.encode()) for s in shingles), dtype=np.uint64, count=len(shingles)
    )
    # (a * h + b) mod p with a, b < 2^31 and h < 2^32: the product stays under 2^63.
    permuted = (_A[:, None] * hashes[None, :] + _B[:, None]) % _MERSENNE
    return permuted.min(axis=1)


def find_duplicates(records: Sequence[AlpacaRecord], threshold: float = 0.8) -> list[Duplicate]:
    """Records that repeat an earlier one of the same kind, exactly or nearly (first one wins)."""
    duplicates: list[Duplicate] = []
    seen_exact: dict[tuple[str, int], int] = {}
    rows = NUM_PERMUTATIONS // BANDS
    buckets: dict[tuple[str, int, int], list[int]] = {}
    signatures: dict[int, np.ndarray] = {}
    for index, record in enumerate(records):
        key = (record.kind, xxhash.xxh64_intdigest(normalized(record.text).encode()))
        if key in seen_exact:
            duplicates.append(Duplicate(index, seen_exact[key], True, 1.0))
            continue
        seen_exact[key] = index
        mine = signature(record.text)
        best, best_similarity = -1, 0.0
        band_keys = [
            (
                record.kind,
                band,
                xxhash.xxh64_intdigest(mine[band * rows : (band + 1) * rows].tobytes()),
            )
            for band in range(BANDS)
        ]
        for band_key in band_keys:
            for other in buckets.get(band_key, ()):
                similarity = float(np.mean(signatures[other] == mine))
                if similarity > best_similarity:
                    best, best_similarity = other, similarity
        if best >= 0 and best_similarity >= threshold:
            duplicates.append(Duplicate(index, best, False, round(best_similarity, 3)))
            continue
        signatures[index] = mine
        for band_key in band_keys:
            buckets.setdefault(band_key, []).append(index)
    return duplicates
