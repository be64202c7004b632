"""Accepted suggestions from the encrypted history, as training examples (opt-in only).

Rows are decrypted in memory by the history store and never written anywhere by this module;
`records_for_training` records the use in the history's hash-chained audit log before it hands
them over. Each accepted suggestion becomes the exact exchange that produced it: the daemon's
instruction for its kind, the input section of the prompt it was asked with, and the answer
rebuilt in our format from the title, explanation and the code the user accepted.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import TYPE_CHECKING, Any, get_args

from takeaways_daemon import prompt_format
from takeaways_daemon.kinds import TaskKind
from training.data.alpaca_record import AlpacaRecord

if TYPE_CHECKING:
    from takeaways_daemon.history.records import HistoryRecord
    from takeaways_daemon.settings import HistorySettings

SOURCE = "history"
PURPOSE = "takeaways data build: fine-tuning on accepted suggestions"


def accepted_suggestion_records(
    settings: HistorySettings | None = None,
) -> tuple[list[AlpacaRecord], dict[str, Any]]:
    """Every accepted suggestion as a record, and counts for the build report (audited)."""
    from takeaways_daemon.history.maintenance import records_for_training
    from takeaways_daemon.history.store import HistoryStore
    from takeaways_daemon.settings import load_settings

    settings = settings or load_settings().history
    with HistoryStore.open(settings, create=False) as store:
        rows = records_for_training(store, PURPOSE)
    records = [record for row in rows if (record := record_from_history(row)) is not None]
    return records, {"accepted_rows": len(rows), "used": len(records)}


def record_from_history(row: HistoryRecord) -> AlpacaRecord | None:
    """The training example behind one history row, None when it cannot be rebuilt."""
    if row.kind not in get_args(TaskKind) or row.tampered:
        return None
    kind: TaskKind = row.kind  # type: ignore[assignment]
    input_text = task_input(row.prompt)
    if not input_text or not row.title.strip():
        return None
    code = accepted_code(kind, row.replacement, row.original)
    if kind != "explain" and not code:
        return None
    explanation = row.explanation.strip() or row.title.strip()
    answer = prompt_format.render_answer(row.title, explanation, code)
    return AlpacaRecord(prompt_format.instruction(kind), input_text, answer, kind, SOURCE)


def task_input(prompt: str) -> str:
    """The input section of a daemon prompt (the last one, after any worked example)."""
    _, found, rest = prompt.rpartition(prompt_format.INPUT_HEADER)
    if not found:
        return ""
    return rest.split(f"\n\n{prompt_format.RESPONSE_HEADER}", 1)[0].rstrip()


def accepted_code(kind: TaskKind, replacement: str, original: str) -> str | None:
    """The answer's code block, recovered from the patch the user accepted."""
    if kind == "explain":
        return None
    if kind != "docstring":
        return textwrap.dedent(replacement).strip("\n") or None
    # A docstring patch is the docstring block followed by the line it was put above.
    block = (
        replacement[: len(replacement) - len(original)] if replacement.endswith(original) else ""
    )
    try:
        value = ast.literal_eval(textwrap.dedent(block).strip())
    except (ValueError, SyntaxError):
        return None
    return inspect.cleandoc(value) if isinstance(value, str) and value.strip() else None
