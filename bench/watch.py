"""Benchmark the project watcher: idle CPU, save→queued latency, and a 10,000-write burst.

Run: .venv/bin/python bench/watch.py   (about a minute; everything happens in a temp folder)

Idle CPU is this process's CPU time (all threads) over IDLE_S seconds of watching a 10,000-file
tree, next to the same process idling for the same time before the watcher started. Exits 1 if
the burst does not end with exactly the final state of each file in the queue.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from takeaways_daemon.settings import WatcherSettings
from takeaways_daemon.watcher import ProjectWatcher

TREE_DIRS, FILES_PER_DIR = 100, 100
IDLE_S = 10.0
DEBOUNCE_MS = 100
LATENCY_SAMPLES = 100
BURST_FILES, BURST_ROUNDS = 500, 20


def build_tree(root: Path) -> None:
    """10,000 small Python files in 100 folders, plus the usual noise the watcher must skip."""
    for d in range(TREE_DIRS):
        folder = root / f"pkg{d:03d}"
        folder.mkdir(parents=True)
        for f in range(FILES_PER_DIR):
            (folder / f"mod{f:03d}.py").write_text(f"def f{f}():\n    return {d * f}\n")
    (root / ".gitignore").write_text("*.log\n")
    (root / "node_modules" / "dep").mkdir(parents=True)
    (root / "node_modules" / "dep" / "index.js").write_text("module.exports = 1\n")


async def cpu_percent_over(seconds: float) -> float:
    """CPU time of this process while the loop sleeps, as % of one core."""
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    return 100 * (time.process_time() - cpu) / (time.perf_counter() - wall)


async def measure_latency(watcher: ProjectWatcher, root: Path) -> list[float]:
    """Milliseconds from a write to its change being queued, minus the debounce."""
    folder = root / "latency"
    folder.mkdir()
    await asyncio.sleep(0.3)
    samples = []
    for index in range(LATENCY_SAMPLES):
        path = folder / f"edit{index % 10}.py"
        written = time.perf_counter()
        path.write_text(f"value = {index}\n")
        change = await asyncio.wait_for(watcher.next_change(), 5)
        while change.text != f"value = {index}\n":  # the folder's own creation, at most once
            change = await asyncio.wait_for(watcher.next_change(), 5)
        samples.append((time.perf_counter() - written) * 1000 - DEBOUNCE_MS)
        await asyncio.sleep(0.01)
    return samples


def write_burst(root: Path) -> dict[str, str]:
    """BURST_ROUNDS passes over BURST_FILES files; returns each file's final text."""
    folder = root / "burst"
    folder.mkdir()
    final = {}
    for round_ in range(BURST_ROUNDS):
        for index in range(BURST_FILES):
            text = f"# round {round_}\nvalue = {index * round_}\n"
            (folder / f"b{index:03d}.py").write_text(text)
            final[f"burst/b{index:03d}.py"] = text
    return final


async def wait_idle(watcher: ProjectWatcher, quiet_s: float = 1.0, limit_s: float = 60) -> float:
    """Seconds until the watcher has been idle, with an unchanged queue, for `quiet_s`."""
    start = time.perf_counter()
    calm_since, last = start, None
    while time.perf_counter() - start < limit_s:
        await asyncio.sleep(0.05)
        state = (watcher.is_idle, watcher.queue_depth, watcher.stats.events)
        if state != last or not watcher.is_idle:
            calm_since, last = time.perf_counter(), state
        elif time.perf_counter() - calm_since >= quiet_s:
            return calm_since - start
    return float("inf")


async def main() -> int:
    """Run the three measurements in one temp folder and print the table; 1 if the burst failed."""
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="takeaways-bench-") as temp:
        root = Path(temp) / "project"
        started = time.perf_counter()
        build_tree(root)
        rows.append(
            (
                "tree",
                f"{TREE_DIRS * FILES_PER_DIR} files",
                f"{time.perf_counter() - started:.1f}s to write",
            )
        )

        baseline = await cpu_percent_over(IDLE_S)
        watcher = ProjectWatcher(root, WatcherSettings(debounce_ms=DEBOUNCE_MS))
        started = time.perf_counter()
        await watcher.start()
        rows.append(
            (
                "start (watch + initial walk)",
                f"{time.perf_counter() - started:.2f}s",
                f"mode={watcher.mode}",
            )
        )
        await asyncio.sleep(1.0)
        idle = await cpu_percent_over(IDLE_S)
        rows.append(("idle CPU, no watcher (baseline)", f"{baseline:.3f}%", f"over {IDLE_S:.0f}s"))
        rows.append(
            (
                "idle CPU, watching",
                f"{idle:.3f}%",
                f"overhead {idle - baseline:+.3f} pts, target < 0.5%",
            )
        )

        latency = await measure_latency(watcher, root)
        p50 = statistics.median(latency)
        p95 = statistics.quantiles(latency, n=20)[18]
        verdict = "ok" if p95 < 100 else "over target"
        rows.append(
            (
                "save→queued past debounce",
                f"p50 {p50:.1f} ms",
                f"p95 {p95:.1f} ms ({verdict}, target < 100)",
            )
        )

        before = watcher.stats.rescans
        started = time.perf_counter()
        final = await asyncio.to_thread(write_burst, root)
        written_s = time.perf_counter() - started
        settled_s = await wait_idle(watcher)
        pending = watcher.pending()
        got = {relative: change.text for relative, change in pending.items()}
        wrong = sum(1 for relative, text in final.items() if got.get(relative) != text)
        extra = sum(1 for relative in got if relative not in final)
        passed = wrong == 0 and extra == 0
        rows.append(
            (
                f"burst {BURST_FILES}×{BURST_ROUNDS} writes",
                "PASS" if passed else "FAIL",
                f"{len(got)} queued, {wrong} wrong/missing, {extra} extra; "
                f"written in {written_s:.1f}s, settled {settled_s:.1f}s later; "
                f"rescans +{watcher.stats.rescans - before}",
            )
        )
        stats = watcher.stats
        rows.append(
            (
                "stats",
                f"{stats.events} events",
                f"coalesced {stats.coalesced}, ignored {stats.ignored}, rescans {stats.rescans}, "
                f"overflows {stats.overflows}, dropped {stats.dropped}",
            )
        )
        await watcher.stop()

    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>{value_width}}  {note}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
