"""Specification of durability: a writer process killed with SIGKILL at random points never
leaves a damaged database, and every write it acknowledged is there afterwards.

The writer is a real process appending 500 rows to a real store (key in the throwaway keyring),
printing each id once `append` has returned; the test kills it after a random number of those
acknowledgements, plus a random sub-millisecond delay, so kills land inside transactions too.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from history_helpers import keyring_keys

from takeaways_daemon.history.data_key import KeyringKeyStore
from takeaways_daemon.history.store import HistoryStore

RUNS = 50
WRITES = 500
LANES = 2  # separate databases, killed in parallel on the two cores
WRITER = """
import sys, time
from takeaways_daemon.history.data_key import KeyringKeyStore
from takeaways_daemon.history.records import HistoryRecord
from takeaways_daemon.history.store import HistoryStore

path, service, run, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = HistoryStore(__import__("pathlib").Path(path), KeyringKeyStore(service))
print("ready", flush=True)
for number in range(count):
    record = HistoryRecord(
        id=f"{run}-{number}", kind="fix", created_at=time.time(), title="t" * 200,
        context="x = 1\\n" * 40, prompt="p" * 1500, diff="-a\\n+b\\n",
    )
    store.append(record)
    print(record.id, flush=True)
"""


def kill_during_writes(path: Path, service: str, run: str, rng: random.Random) -> list[str]:
    """Start a writer, SIGKILL it after a random number of acknowledgements; return those."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), service, run, str(WRITES)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    kill_after = rng.randrange(0, WRITES)
    acknowledged = []
    while len(acknowledged) < kill_after:
        line = process.stdout.readline()
        if not line:
            break
        acknowledged.append(line.strip())
    time.sleep(rng.random() / 2000)
    process.send_signal(signal.SIGKILL)
    # Acknowledgements already in the pipe were written before the kill: they count too.
    acknowledged.extend(line.strip() for line in process.stdout.read().splitlines())
    process.wait()
    if process.returncode != -signal.SIGKILL:  # it finished its last write first: all counted
        assert (process.returncode, len(acknowledged)) == (0, WRITES)
    return acknowledged


def lane(path: Path, keys: KeyringKeyStore, runs: range, seed: int) -> list[str]:
    rng = random.Random(seed)
    every_acknowledged: list[str] = []
    for run in runs:
        every_acknowledged += kill_during_writes(path, keys.service, f"run{run}", rng)
        with HistoryStore(path, keys) as store:
            assert store.integrity_check() == "ok", f"damaged after kill {run}"
            present = {record.id for record in store.iter_all(detail=False)}
        missing = [item for item in every_acknowledged if item not in present]
        assert not missing, f"after kill {run}: {len(missing)} acknowledged rows lost"
    return every_acknowledged


def test_sigkill_during_writes_loses_no_acknowledged_row(tmp_path: Path) -> None:
    keys = keyring_keys()
    seed = random.randrange(1 << 30)
    per_lane = RUNS // LANES
    with ThreadPoolExecutor(LANES) as pool:
        lanes = []
        for index in range(LANES):
            runs = range(index * per_lane, (index + 1) * per_lane)
            database = tmp_path / f"lane{index}.sqlite3"
            lanes.append(pool.submit(lane, database, keys, runs, seed + index))
        acknowledged = [item for future in lanes for item in future.result()]
    # The kills landed throughout the 500 writes, not only at the start (seed in the name).
    assert len(acknowledged) > RUNS * WRITES // 5, f"seed {seed}"
    for index in range(LANES):
        with HistoryStore(tmp_path / f"lane{index}.sqlite3", keys) as store:
            rows = list(store.iter_all())
            assert not any(record.tampered for record in rows)
