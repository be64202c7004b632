"""Shared pieces of the learning tests: accepted suggestions in a real encrypted history."""

from __future__ import annotations

import time
from pathlib import Path

from takeaways_daemon import prompt_format
from takeaways_daemon.history.records import HistoryRecord
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.settings import load_settings


def accepted_fix(project: Path, number: int, *, extra_code: str = "") -> HistoryRecord:
    """An accepted 'missing colon' fix whose file in `project` now holds the fixed code."""
    path = f"mod_{number}.py"
    fixed = f"def plus_{number}(x):\n    return x + {number}{extra_code}\n"
    broken = fixed.replace("):", ")", 1)
    (project / path).write_text(fixed)
    task_input = prompt_format.render_task_input(
        path=path, language="python", code=broken, error="SyntaxError: expected ':'"
    )
    now = time.time()
    return HistoryRecord(
        id=f"s{number:07d}", kind="fix", created_at=now, updated_at=now, outcome="accepted",
        project=str(project), path=path, start_line=1, end_line=2,
        title=f"Add the missing colon to plus_{number}",
        explanation="The def line lacked its closing colon.",
        replacement=fixed, original=broken, context=broken,
        prompt=prompt_format.render_prompt(prompt_format.instruction("fix"), task_input),
    )  # fmt: skip


def record_in_history(*records: HistoryRecord) -> None:
    """Append rows to the history that the current settings name (creating it)."""
    with HistoryStore.open(load_settings().history) as store:
        for record in records:
            store.append(record)


def audit_actions() -> list[str]:
    """The actions in the history's audit log, in order."""
    with HistoryStore.open(load_settings().history, create=False) as store:
        return [entry.action for entry in store.audit.entries()]


def tiny_round_settings(monkeypatch, base: Path, folder: Path, **overrides: object) -> None:  # type: ignore[no-untyped-def]
    """Turn learning on for the tiny random model: a short recipe, f16, a small gate."""
    recipe = folder / "tiny-round.yaml"
    recipe.write_text(
        "train:\n  epochs: 3\n  batch_size: 2\n  grad_accum: 1\n  lr: 0.01\n  max_seq_len: 768\n"
        "  log_every: 1\n  gradient_checkpointing: false\n  quantization: none\n"
        "lora:\n  r: 8\n  alpha: 16\n"
    )
    values = {
        "enabled": "true", "base": str(base), "recipe": str(recipe), "quant": "f16",
        "humaneval_problems": "2", "fix_bugs": "2", "holdout_fraction": "0.25",
        **{key: str(value) for key, value in overrides.items()},
    }  # fmt: skip
    for key, value in values.items():
        monkeypatch.setenv(f"TAKEAWAYS_LEARNING__{key.upper()}", value)


def export_tiny_gguf(base: Path, folder: Path) -> Path:
    """The tiny base model itself as an f16 GGUF (the model served before any round)."""
    from training.gguf_export import export_gguf

    return export_gguf(base, folder, "tiny-served", ("f16",))["f16"]
