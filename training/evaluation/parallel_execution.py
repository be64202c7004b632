"""Run many sandboxed programs at once, one per core: each is a separate bwrap process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

from takeaways_daemon.sandbox import Execution, Sandbox

Key = TypeVar("Key")


def default_workers() -> int:
    """One worker per core: the programs are CPU-bound and each runs in its own process."""
    return max(1, len(os.sched_getaffinity(0)))


def execute_all(
    jobs: Sequence[tuple[Key, str]],
    sandbox: Sandbox,
    *,
    timeout_s: float,
    workers: int | None = None,
    label: Callable[[Key], str] = lambda key: f"takeaways-eval {key}",
) -> Iterator[tuple[Key, Execution]]:
    """Run each (key, program) in the sandbox and yield (key, result) as they finish.

    Threads only wait on subprocesses, so the GIL is no bottleneck; the sandbox is checked once
    up front, so a missing bwrap fails fast instead of once per job.
    """
    sandbox.ensure_available()
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        futures = {
            pool.submit(sandbox.run, program, timeout_s=timeout_s, label=label(key)): key
            for key, program in jobs
        }
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()
