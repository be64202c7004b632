"""The gate's held-out fixes: small working functions with tests, broken by injected bugs.

Each function here has tests that pass; `bug_injection` breaks it the way a developer would
(wrong operator, off by one, missing colon, ...). A bug counts only if its tests then fail. The
model is asked to fix it with the daemon's own fix prompt, and the fix counts when its code,
run with the tests in the sandbox, passes. These functions are written for the gate and never
trained on, so a round cannot learn the answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon import prompt_format
from training.data.mining.bug_injection import inject_bug
from training.data.mining.functions import functions_in
from training.data.mining.source_files import SourceFile

_FUNCTIONS: tuple[tuple[str, str], ...] = (
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
    """One broken function, its symptom, and the tests a fix must pass."""

    path: str
    broken: str
    bug: str
    symptom: str | None
    tests: str

    def prompt(self) -> str:
        """The daemon's fix prompt for the broken function."""
        error = self.symptom or _syntax_error(self.broken)
        task_input = prompt_format.render_task_input(
            path=self.path, language="python", code=self.broken, error=error
        )
        return prompt_format.render_prompt(prompt_format.instruction("fix"), task_input)

    def program(self, fixed_code: str) -> str:
        """The fixed code followed by its tests: passes only if the fix is right."""
        return f"{fixed_code}\n\n{self.tests}"

    def broken_program(self) -> str:
        """The broken code with its tests (must fail, or the bug is no bug)."""
        return self.program(self.broken)


def fix_tasks(count: int, *, seed: int = 0) -> list[FixTask]:
    """Up to `count` broken functions (at most one per function), picked reproducibly."""
    rng = random.Random(seed)
    tasks = []
    for number, (source, tests) in enumerate(_FUNCTIONS):
        path = f"gate/bench_{number}.py"
        mined = next(iter(functions_in(SourceFile(Path(path), path), source)), None)
        if mined is None:
            continue
        bug = inject_bug(mined, rng)
        if bug is not None:
            tasks.append(FixTask(path, bug.text, bug.bug, bug.symptom, tests))
    return tasks[:count]


def _syntax_error(code: str) -> str:
    try:
        compile(code, "<fix>", "exec")
    except SyntaxError as error:
        return f"SyntaxError: {error.msg} (line {error.lineno})"
    return "a test fails"
