"""Specification of the two sources beyond local files and mining: named hub data sets (which
must fail fast and say what to do when offline) and accepted suggestions from the real
encrypted history (opt-in, decrypted in memory, the use written to the audit log)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from takeaways_daemon import prompt_format
from takeaways_daemon.context.task_planner import plan_file_tasks
from takeaways_daemon.history.records import HistoryRecord
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.settings import load_settings
from takeaways_daemon.suggestion_builder import build_suggestion
from training.data import build_dataset
from training.data.errors import HubSourceUnavailable
from training.data.hub_sources import NAMED_SOURCES, resolve


class TestHubSources:
    def test_named_sources_resolve_to_their_hub_ids(self) -> None:
        assert resolve("codealpaca").hub_id == "sahil2801/CodeAlpaca-20k"
        assert resolve("CodeAlpaca-20k").hub_id == "sahil2801/CodeAlpaca-20k"
        assert resolve("codeinstruct").hub_id == "likaixin/InstructCoder"
        assert resolve("someone/their-set").hub_id == "someone/their-set"
        assert set(NAMED_SOURCES) == {"codealpaca", "codeinstruct"}

    def test_an_unknown_name_is_an_error_naming_the_fix(self) -> None:
        with pytest.raises(HubSourceUnavailable, match="check the spelling or pass a local"):
            resolve("codealpacca")

    def test_offline_the_hub_path_fails_fast_and_names_the_local_file_fix(
        self, tmp_path: Path
    ) -> None:
        """Run in a child process: huggingface_hub reads HF_HUB_OFFLINE once, at import."""
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "takeaways_daemon", "data", "build",
             "--out", str(tmp_path / "x.jsonl"), "--source", "codealpaca"],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert time.monotonic() - started < 60
        assert result.returncode == 2, result.stderr
        assert "takeaways: cannot load sahil2801/CodeAlpaca-20k" in result.stderr
        assert "takeaways data build --source FILE.jsonl" in result.stderr
        assert not (tmp_path / "x.jsonl").exists()


BROKEN = "def area(width, height)\n    return width * height\n"
UNDOCUMENTED = "def area(width, height):\n    return width * height\n"


def history_row(number: int, task, answer: prompt_format.Answer, outcome: str) -> HistoryRecord:  # type: ignore[no-untyped-def]
    """A row exactly as the daemon's recorder writes one for a suggestion on `task`."""
    suggestion = build_suggestion(task, answer, backend="embedded", model="takeaways")
    return HistoryRecord(
        id=f"s{number:07d}", kind=task.kind, created_at=time.time() + number, outcome=outcome,  # type: ignore[arg-type]
        project="/work/demo", path=task.path, start_line=suggestion.start_line,
        end_line=suggestion.end_line, title=suggestion.title, explanation=suggestion.explanation,
        diff=suggestion.diff, replacement=suggestion.replacement, original=suggestion.original,
        context=task.shown_code, prompt=task.prompt(few_shot=number % 2 == 0),
    )  # fmt: skip


@pytest.fixture
def history(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real encrypted history (passphrase key file: no desktop keyring in CI) with two
    accepted suggestions and one rejected one."""
    monkeypatch.setenv("TAKEAWAYS_HISTORY__KEY_SOURCE", "passphrase-file")
    monkeypatch.setenv("TAKEAWAYS_HISTORY_PASSPHRASE", "correct horse battery staple")
    (fix_task,) = plan_file_tasks("shapes.py", BROKEN, ["fix"])
    (doc_task,) = plan_file_tasks("shapes.py", UNDOCUMENTED, ["docstring"])
    fix = prompt_format.Answer("fix", "Add the missing colon", "The def lacked a colon.",
                               UNDOCUMENTED.rstrip())  # fmt: skip
    doc = prompt_format.Answer("docstring", "Document area", "Says what it returns.",
                               "Return the area of a width by height rectangle.")  # fmt: skip
    with HistoryStore.open(load_settings().history) as store:
        store.append(history_row(1, fix_task, fix, "accepted"))
        store.append(history_row(2, doc_task, doc, "accepted"))
        store.append(history_row(3, doc_task, doc, "rejected"))
    return isolated_home


class TestHistorySource:
    def test_accepted_suggestions_become_the_exchanges_that_produced_them(
        self, history: Path
    ) -> None:
        result = build_dataset(include_history=True, progress=False)
        records = sorted(result.records, key=lambda record: record.kind)
        assert [record.kind for record in records] == ["docstring", "fix"]
        assert all(record.source == "history" for record in records)
        doc, fix = records
        assert fix.instruction == prompt_format.instruction("fix")
        assert fix.input == prompt_format.render_task_input(
            path="shapes.py", language="python", code=BROKEN.rstrip(),
            error="line 1, column 24: expected ':'",
        )  # fmt: skip
        assert prompt_format.parse_answer(fix.output, "fix").code == UNDOCUMENTED.rstrip()
        # The docstring patch (block + the line under it) gives back just the docstring's text.
        assert prompt_format.parse_answer(doc.output, "docstring").code == (
            "Return the area of a width by height rectangle."
        )
        assert "### Instruction" not in doc.input  # the few-shot demonstration is left out
        assert result.report.history == {"accepted_rows": 2, "used": 2}

    def test_the_use_for_training_is_written_to_the_audit_log(self, history: Path) -> None:
        build_dataset(include_history=True, progress=False)
        with HistoryStore.open(load_settings().history, create=False) as store:
            entries = [entry for entry in store.audit.entries() if entry.action == "training_use"]
            assert store.audit.verify().ok
        assert len(entries) == 1 and entries[0].details["rows"] == 2

    def test_history_is_never_read_unless_asked_for(self, history: Path) -> None:
        with pytest.raises(Exception, match="no data source chosen"):
            build_dataset(progress=False)
        with HistoryStore.open(load_settings().history, create=False) as store:
            assert not [e for e in store.audit.entries() if e.action == "training_use"]
