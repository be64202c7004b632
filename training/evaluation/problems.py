"""A benchmark problem: what the model sees, where it stops, and the program that checks it."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TIMEOUT_S = 5.0
"""Wall-clock seconds a sample's tests may run."""


@dataclass(frozen=True)
class Problem:
    """One task of a code benchmark (HumanEval or MBPP)."""

    task_id: str
    prompt: str
    """The text the model continues."""
    stop: tuple[str, ...]
    """Where a completion ends (the benchmark's standard stop sequences)."""
    test: str
    """Test code run after the prompt and the completion."""
    canonical: str
    """The reference completion: passes the test."""

    def program(self, completion: str) -> str:
        """The whole program the sandbox runs: prompt, completion, then the tests."""
        return f"{self.prompt}{completion}\n{self.test}\n"


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """The completion up to (not including) the earliest stop sequence.

    Backends stop on these already; cutting again keeps the result the same whichever backend
    produced the text (and for backends that return the stop sequence itself).

    >>> truncate_at_stop("    return a + b\\n\\ndef other():\\n    pass", ("\\ndef", "\\nclass"))
    '    return a + b\\n'
    >>> truncate_at_stop("    return 1", ("\\ndef",))
    '    return 1'
    """
    cut = len(text)
    for sequence in stop:
        index = text.find(sequence)
        if index != -1:
            cut = min(cut, index)
    return text[:cut]
