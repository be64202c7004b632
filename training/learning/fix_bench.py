"""The gate's held-out fixes: small working functions with tests, broken by injected bugs.

Each function here has tests that pass; `bug_injection` breaks it the way a developer would
(wrong operator, off by one, missing colon, ...). Each broken function runs with its tests in
the sandbox; a bug counts only if they then fail. The daemon's own task builders turn it into
the fix task the daemon would ask: the planner's fix for a file that does not parse, and
`failure_task` for a failing test, with the failure that run showed as its evidence (the
project sandbox's pytest run, which the daemon uses, needs the project's own interpreter; the
gate's functions have none). A fix counts when the patched file, run with its tests in the
sandbox, passes. These functions are written for the gate and never trained on, so a round
cannot learn the answers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon.context.evidence_tasks import failure_task
from takeaways_daemon.context.task_planner import plan_file_tasks
from takeaways_daemon.tasks import Task
from takeaways_daemon.verification.test_failures import TestFailure, short_message
from training.data.mining.bug_injection import inject_bug
from training.data.mining.functions import functions_in
from training.data.mining.source_files import SourceFile

BENCH_FUNCTIONS: tuple[tuple[str, str], ...] = (
    (
        "def clamp(value, low, high):\n    if value < low:\n        return low\n"
        "    if value > high:\n        return high\n    return value\n",
        "assert clamp(5, 0, 10) == 5\nassert clamp(-3, 0, 10) == 0\nassert clamp(12, 0, 10) == 10\n"
        "assert clamp(0, 0, 10) == 0\nassert clamp(10, 0, 10) == 10\n",
    ),
    (
        "def count_vowels(text):\n    total = 0\n    for letter in text.lower():\n"
        "        if letter in 'aeiou':\n            total = total + 1\n    return total\n",
        "assert count_vowels('Banana') == 3\nassert count_vowels('xyz') == 0\n"
        "assert count_vowels('AEIOU') == 5\n",
    ),
    (
        "def running_total(values):\n    result = []\n    total = 0\n    for value in values:\n"
        "        total = total + value\n        result.append(total)\n    return result\n",
        "assert running_total([1, 2, 3]) == [1, 3, 6]\nassert running_total([]) == []\n"
        "assert running_total([5, -5]) == [5, 0]\n",
    ),
    (
        "def last_items(items, count):\n    if count <= 0:\n        return []\n"
        "    start = len(items) - count\n    return items[max(start, 0):]\n",
        "assert last_items([1, 2, 3, 4], 2) == [3, 4]\nassert last_items([1, 2], 5) == [1, 2]\n"
        "assert last_items([1, 2], 0) == []\n",
    ),
    (
        "def factorial(n):\n    result = 1\n    for number in range(2, n + 1):\n"
        "        result = result * number\n    return result\n",
        "assert factorial(0) == 1\nassert factorial(1) == 1\nassert factorial(5) == 120\n",
    ),
    (
        "def is_sorted(values):\n    for index in range(1, len(values)):\n"
        "        if values[index - 1] > values[index]:\n            return False\n"
        "    return True\n",
        "assert is_sorted([1, 2, 2, 3])\nassert not is_sorted([2, 1])\nassert is_sorted([])\n"
        "assert is_sorted([1, 1])\n",
    ),
    (
        "def average(values):\n    if not values:\n        return 0.0\n"
        "    total = sum(values)\n    return total / len(values)\n",
        "assert average([2, 4]) == 3.0\nassert average([]) == 0.0\nassert average([5]) == 5.0\n",
    ),
    (
        "def repeat_word(word, times):\n    parts = []\n    for _ in range(times):\n"
        "        parts.append(word)\n    return '-'.join(parts)\n",
        "assert repeat_word('ab', 3) == 'ab-ab-ab'\nassert repeat_word('x', 1) == 'x'\n"
        "assert repeat_word('x', 0) == ''\n",
    ),
    (
        "def count_above(values, limit):\n    total = 0\n    for value in values:\n"
        "        if value > limit:\n            total += 1\n    return total\n",
        "assert count_above([1, 5, 9], 4) == 2\nassert count_above([4, 4], 4) == 0\n"
        "assert count_above([], 0) == 0\n",
    ),
    (
        "def largest(values):\n    best = values[0]\n    for value in values[1:]:\n"
        "        if value > best:\n            best = value\n    return best\n",
        "assert largest([3, 9, 2]) == 9\nassert largest([-5, -2]) == -2\n"
        "assert largest([7]) == 7\n",
    ),
    (
        "def power_of_two(exponent):\n    result = 1\n    while exponent > 0:\n"
        "        result = result * 2\n        exponent = exponent - 1\n    return result\n",
        "assert power_of_two(0) == 1\nassert power_of_two(3) == 8\n"
        "assert power_of_two(10) == 1024\n",
    ),
    (
        "def initials(name):\n    letters = []\n    for part in name.split():\n"
        "        letters.append(part[0].upper())\n    return ''.join(letters)\n",
        "assert initials('ada lovelace') == 'AL'\nassert initials('x') == 'X'\n"
        "assert initials('') == ''\n",
    ),
)


@dataclass(frozen=True)
class FixTask:
    """One broken function, the bug injected into it, and the tests a fix must pass."""

    path: str
    broken: str
    bug: str
    name: str
    tests: str
    """Plain asserts (the function is defined above them when they run)."""

    @property
    def breaks_syntax(self) -> bool:
        """Whether the broken file no longer parses."""
        try:
            compile(self.broken, self.path, "exec")
        except SyntaxError:
            return True
        return False

    def program(self, file_text: str) -> str:
        """The (patched) file followed by its tests: passes only if the fix is right."""
        return f"{file_text}\n\n{self.tests}"

    def test_module(self) -> str:
        """The tests as a pytest module of the scratch project, importing the broken function."""
        module = self.path.removesuffix(".py").replace("/", ".")
        asserts = "".join(f"    {line}\n" for line in self.tests.splitlines() if line.strip())
        return f"from {module} import {self.name}\n\n\ndef test_{self.name}():\n{asserts}"


@dataclass(frozen=True)
class BenchFix:
    """A bug the daemon would ask to fix: the bench task and the daemon's fix task for it."""

    bench: FixTask
    task: Task


def fix_tasks(count: int, *, seed: int = 0) -> list[FixTask]:
    """Up to `count` broken functions (at most one per function), picked reproducibly."""
    rng = random.Random(seed)
    tasks = []
    for number, (source, tests) in enumerate(BENCH_FUNCTIONS):
        path = f"gate/bench_{number}.py"
        mined = next(iter(functions_in(SourceFile(Path(path), path), source)), None)
        if mined is None:
            continue
        bug = inject_bug(mined, rng)
        if bug is not None:
            tasks.append(FixTask(path, bug.text, bug.bug, mined.name, tests))
    return tasks[:count]


def daemon_fixes(
    tasks: Sequence[FixTask], *, timeout_s: float = 10.0, max_context_lines: int = 80
) -> list[BenchFix]:
    """The fix task the daemon plans for each bug; none for a bug whose tests still pass.

    Every broken program runs with its tests in the sandbox first. A file that does not parse
    gets the planner's syntax fix; a failing test gets `failure_task` with that run's failure
    as its evidence (the test's node id, the failing assertion, the end of the traceback).
    """
    from takeaways_daemon.sandbox import Sandbox
    from training.evaluation.parallel_execution import execute_all

    jobs = [(index, bench.program(bench.broken)) for index, bench in enumerate(tasks)]
    runs = dict(execute_all(jobs, Sandbox(), timeout_s=timeout_s))
    fixes = []
    for index, bench in enumerate(tasks):
        run = runs[index]
        if run.passed:
            continue  # the injected change broke nothing the tests see
        task = _syntax_fix(bench, max_context_lines) if bench.breaks_syntax else None
        if task is None and not bench.breaks_syntax:
            failure = _test_failure(bench, run.output or run.error)
            task = failure_task(
                bench.path, bench.broken, bench.name, None, [failure], frozenset(),
                max_context_lines,
            )  # fmt: skip
        if task is not None:
            fixes.append(BenchFix(bench, task))
    return fixes


def _syntax_fix(bench: FixTask, max_context_lines: int) -> Task | None:
    planned = plan_file_tasks(bench.path, bench.broken, ["fix"], max_context_lines)
    return next((task for task in planned if task.evidence is not None), None)


# The sandbox runs the program as `<sample>`; the innermost such frame is the failing line.
_SAMPLE_FRAME = re.compile(r'File "<sample>", line (\d+)')


def _test_failure(bench: FixTask, output: str) -> TestFailure:
    """The failure as pytest would report it for the bench's test module (see `test_module`)."""
    program = bench.program(bench.broken).splitlines()
    frames = [int(line) for line in _SAMPLE_FRAME.findall(output)]
    line = program[frames[-1] - 1].strip() if frames and frames[-1] <= len(program) else ""
    lines = [row for row in output.strip().splitlines() if row.strip()]
    raised = lines[-1].strip() if lines else "AssertionError"
    message = short_message(f"AssertionError: {line}" if raised == "AssertionError" else raised)
    test = f"test_{bench.name}"
    traceback = f"    def {test}():\n>       {line}\nE       {raised}"
    node_id = f"tests/test_{Path(bench.path).stem}.py::{test}"
    return TestFailure(node_id, message, traceback, bench.path, bench.name, None)
