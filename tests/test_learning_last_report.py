"""Every round that ends leaves its report (decision, counts, stage times) where a later reader
finds it: `last_report_file()`. The daemon starts rounds as a child process whose stdout only
goes to a log, so this file is how a rerunnable real run (scripts/learning_real_run.py) reads
the automatic round's stage times and gate numbers. Real encrypted history and keyring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from takeaways_daemon.settings import load_settings
from tests.learning_helpers import accepted_fix, record_in_history
from training.base_model import BaseModelError
from training.learning.round import last_report_file, run_round


@pytest.fixture(autouse=True)
def learning_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAKEAWAYS_LEARNING__ENABLED", "true")


def test_a_round_with_nothing_to_learn_leaves_its_report() -> None:
    assert not last_report_file().exists()
    result = run_round(load_settings(), say=lambda line: None)
    report = json.loads(last_report_file().read_text())
    assert result.decision == report["decision"] == "nothing-to-learn"
    assert report["used"] == 0 and report["version"] is None


def test_a_failed_round_leaves_a_report_naming_the_error_and_the_stages_it_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    record_in_history(*(accepted_fix(project, n) for n in range(3)))
    monkeypatch.setenv("TAKEAWAYS_LEARNING__BASE", str(tmp_path / "no-such-base"))
    with pytest.raises(BaseModelError):
        run_round(load_settings(), say=lambda line: None)
    report = json.loads(last_report_file().read_text())
    assert report["decision"] == "failed"
    assert "no-such-base" in report["error"]
    assert report["used"] == 3
    assert "export" in report["timings_s"] and "swap" not in report["timings_s"]
