"""Explanation quality, deterministic half: a fixed set of functions and checks per criterion.

The seed's criteria are clarity, completeness, accuracy and structure. Each check below is
cheap, repeatable and scores one criterion from 0 to 1; a judge model (`explanation_judge`)
scores the same criteria against a written rubric, and the report shows both side by side.

- completeness: every parameter is named, and the return value is mentioned;
- structure: a one-line summary (the `Title:` line) of 3–15 words, and an explanation of
  15–250 words;
- accuracy: the explanation names the function's key facts (e.g. "sorted" for a binary
  search), one group of accepted words per fact;
- clarity: sentences average at most 30 words, and no sentence is repeated (small models loop).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from takeaways_daemon import prompt_format
from takeaways_daemon.tasks import Task
from training.evaluation.reports import CRITERIA


@dataclass(frozen=True)
class ExplainItem:
    """A function to explain, with what a correct explanation must mention."""

    name: str
    source: str
    parameters: tuple[str, ...]
    facts: tuple[str, ...]
    """Regexes, one per key fact; each must match somewhere (case-insensitive)."""

    def task(self) -> Task:
        """The daemon's own `explain` task for this function (same prompt as in the editor)."""
        lines = self.source.count("\n") + 1
        return Task("explain", "examples.py", "python", self.source, 1, lines, 1, lines,
                    symbol=self.name)  # fmt: skip


ITEMS: tuple[ExplainItem, ...] = (
    ExplainItem(
        "mean",
        "def mean(numbers):\n    if not numbers:\n        raise ValueError('no numbers')\n"
        "    return sum(numbers) / len(numbers)",
        ("numbers",),
        (r"average|mean", r"\bsum|add|total", r"empty|no numbers|error|raise"),
    ),
    ExplainItem(
        "is_palindrome",
        "def is_palindrome(text):\n    letters = [c.lower() for c in text if c.isalnum()]\n"
        "    return letters == letters[::-1]",
        ("text",),
        (r"palindrome|revers|backward", r"lower|case", r"letter|alphanumeric|character"),
    ),
    ExplainItem(
        "word_counts",
        "def word_counts(text):\n    counts = {}\n    for word in text.lower().split():\n"
        "        counts[word] = counts.get(word, 0) + 1\n    return counts",
        ("text",),
        (r"\bword", r"count|frequenc|how many|occur", r"dict|mapping"),
    ),
    ExplainItem(
        "chunks",
        "def chunks(items, size):\n"
        "    return [items[i:i + size] for i in range(0, len(items), size)]",
        ("items", "size"),
        (r"chunk|piece|group|split|slice|part", r"\blist"),
    ),
    ExplainItem(
        "find_index",
        "def find_index(items, target):\n    low, high = 0, len(items) - 1\n"
        "    while low <= high:\n        middle = (low + high) // 2\n"
        "        if items[middle] == target:\n            return middle\n"
        "        if items[middle] < target:\n            low = middle + 1\n"
        "        else:\n            high = middle - 1\n    return -1",
        ("items", "target"),
        (r"binary|half|middle", r"sorted", r"-1|not found|missing|absent"),
    ),
    ExplainItem(
        "retry",
        "def retry(action, attempts, delay):\n    for attempt in range(attempts):\n"
        "        try:\n            return action()\n        except Exception:\n"
        "            if attempt == attempts - 1:\n                raise\n"
        "            time.sleep(delay)",
        ("action", "attempts", "delay"),
        (r"retr|again|attempt", r"sleep|wait|delay|pause", r"rais|exception|error|fail"),
    ),
)

_RETURN = re.compile(r"\breturn(s|ed|ing)?\b|\bgives? back\b|\byields?\b|\bresult", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def parse_explanation(text: str) -> tuple[str, str]:
    """(summary line, explanation) from an `explain` answer; raises `MalformedAnswer`."""
    answer = prompt_format.parse_answer(text, "explain")
    return answer.title, answer.explanation


def check_explanation(item: ExplainItem, summary: str, explanation: str) -> dict[str, float]:
    """Deterministic scores (0–1) per criterion for one explanation.

    >>> item = ITEMS[0]
    >>> check_explanation(item, "Average of a list of numbers",
    ...     "It adds the numbers and returns their sum divided by how many there are. "
    ...     "An empty list raises ValueError.")
    {'clarity': 1.0, 'completeness': 1.0, 'accuracy': 1.0, 'structure': 1.0}
    >>> check_explanation(item, "Mean", "Computes the mean.")
    {'clarity': 1.0, 'completeness': 0.0, 'accuracy': 0.3333, 'structure': 0.0}
    """
    whole = f"{summary}\n{explanation}"
    named = [re.search(rf"\b{re.escape(p)}\b", whole) is not None for p in item.parameters]
    completeness = (sum(named) + bool(_RETURN.search(whole))) / (len(item.parameters) + 1)
    summary_ok = "\n" not in summary.strip() and 3 <= len(summary.split()) <= 15
    length_ok = 15 <= len(explanation.split()) <= 250
    facts = [re.search(fact, whole, re.I) is not None for fact in item.facts]
    sentences = [s.strip().lower() for s in _SENTENCE_END.split(explanation) if s.strip()]
    average_words = sum(len(s.split()) for s in sentences) / max(1, len(sentences))
    unrepeated = len(set(sentences)) == len(sentences)
    return {
        "clarity": ((average_words <= 30) + unrepeated) / 2,
        "completeness": round(completeness, 4),
        "accuracy": round(sum(facts) / len(facts), 4),
        "structure": (summary_ok + length_ok) / 2,
    }


def malformed_scores() -> dict[str, float]:
    """An answer that does not follow the format scores 0 on every criterion."""
    return dict.fromkeys(CRITERIA, 0.0)
