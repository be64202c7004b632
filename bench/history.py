"""Benchmark the encrypted history: write and read throughput with AES-GCM vs the same store
without it.

Run: .venv/bin/python bench/history.py [ROWS]   (default 3000 rows; under a minute)

Both sides are the same `HistoryStore` code, schema, SQL and transactions (one commit per
append, as the daemon writes); the baseline only swaps the cipher for one that stores the JSON
as is. Keys live in a throwaway Secret Service (own dbus session + gnome-keyring), so the run
works headless and never touches your keyring. Rows are sized like real ones: a 40-line context,
a 3 KB prompt and a short diff. Rounds alternate between the two sides; medians are reported.
Exits 1 if encryption costs more than the 2x target.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from takeaways_daemon.history.data_key import KeyringKeyStore
from takeaways_daemon.history.records import HistoryRecord
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.history.throwaway_keyring import start_throwaway_secret_service

TARGET = 2.0
ROUNDS = 3


class PlainCipher:
    """The baseline: the same interface as RecordCipher, storing the plaintext unchanged."""

    def seal(self, record_id: str, version: int, field: str, plaintext: bytes) -> bytes:
        """Return the plaintext."""
        return plaintext

    def open(self, record_id: str, version: int, field: str, sealed: bytes) -> bytes:
        """Return the stored bytes."""
        return sealed


def make_row(number: int) -> HistoryRecord:
    """A row the size of a real one."""
    context = "".join(f"    value_{i} = compute({i}, option=True)\n" for i in range(40))
    return HistoryRecord(
        id=f"b{number:08d}", kind="fix", created_at=time.time(), latency_ms=1234.5,
        project="/home/dev/project", path=f"pkg/module_{number % 50}.py", start_line=10,
        end_line=12, title="Add the missing colon",
        explanation="The def line lacked its colon. " * 3,
        diff="--- a/x.py\n+++ b/x.py\n@@ -10,2 +10,2 @@\n-def f(a)\n+def f(a):\n",
        backend="embedded", model="gemma-3-270m", replacement="def f(a):\n",
        original="def f(a)\n", context=context,
        prompt="### Instruction\n" + context * 2,
    )  # fmt: skip


def measure(store: HistoryStore, rows: int, offset: int) -> tuple[float, float, float]:
    """Rows per second for appends, full reads (context and prompt too), and a search."""
    records = [make_row(offset + n) for n in range(rows)]
    started = time.perf_counter()
    for record in records:
        store.append(record)
    write = rows / (time.perf_counter() - started)
    started = time.perf_counter()
    read_rows, _ = store.query(limit=None, detail=True)
    read = len(read_rows) / (time.perf_counter() - started)
    started = time.perf_counter()
    _, total = store.query(q="module_7.py", limit=None)
    search = total and store.count() / (time.perf_counter() - started)
    return write, read, search


def main() -> int:
    """Run both sides ROUNDS times, alternating, and print the medians and ratios."""
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    service = start_throwaway_secret_service()
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.address
    folder = Path(tempfile.mkdtemp(prefix="takeaways-bench-history-"))
    results: dict[str, list[tuple[float, float, float]]] = {"encrypted": [], "plain": []}
    try:
        keys = KeyringKeyStore("takeaways-bench")
        for round_number in range(ROUNDS):
            for side in ("plain", "encrypted"):
                with HistoryStore(folder / f"{side}-{round_number}.sqlite3", keys) as store:
                    if side == "plain":
                        store.use_key(store.key_id, PlainCipher())  # type: ignore[arg-type]
                    results[side].append(measure(store, rows, round_number * rows))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        service.stop()
    medians = {
        side: [statistics.median(run[i] for run in runs) for i in range(3)]
        for side, runs in results.items()
    }
    print(f"history store, {rows} rows per round, median of {ROUNDS} alternating rounds\n")
    print("| measure | AES-GCM rows/s | plain rows/s | cost (plain/encrypted) | target |")
    print("| --- | --- | --- | --- | --- |")
    worst = 0.0
    for index, name in enumerate(["write (1 commit each)", "read (all fields)", "search (q)"]):
        encrypted, plain = medians["encrypted"][index], medians["plain"][index]
        cost = plain / encrypted
        worst = max(worst, cost)
        print(f"| {name} | {encrypted:,.0f} | {plain:,.0f} | {cost:.2f}x | <= {TARGET:.0f}x |")
    verdict = "PASS" if worst <= TARGET else "FAIL"
    print(f"\nworst cost {worst:.2f}x against the {TARGET:.0f}x target: {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
