"""A run folder resumes safely: torn lines are redone, other settings refused, restart clears."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.evaluation.results_store import RunMismatch, RunStore

SETTINGS = {"benchmark": "humaneval", "model_spec": "base", "n": 1, "temperature": 0.0,
            "top_p": 0.95, "max_tokens": 512}  # fmt: skip


def test_reopening_keeps_whole_lines_and_drops_a_torn_last_line(tmp_path: Path) -> None:
    store = RunStore(tmp_path, SETTINGS)
    store.add_sample({"task_id": "HumanEval/0", "sample": 0, "completion": "    return 1\n"})
    store.add_result({"task_id": "HumanEval/0", "sample": 0, "status": "passed"})
    with open(store.samples_file, "a") as handle:  # a kill in the middle of a write
        handle.write('{"task_id": "HumanEval/1", "sample": 0, "compl')
    reopened = RunStore(tmp_path, SETTINGS)
    assert list(reopened.samples) == [("HumanEval/0", 0)]
    assert reopened.results[("HumanEval/0", 0)]["status"] == "passed"
    assert (reopened.resumed_samples, reopened.resumed_results) == (1, 1)


def test_a_run_with_other_settings_is_refused_with_the_fix(tmp_path: Path) -> None:
    RunStore(tmp_path, SETTINGS)
    with pytest.raises(RunMismatch, match=r"other temperature .*--restart.*--out"):
        RunStore(tmp_path, {**SETTINGS, "temperature": 0.8})
    # A larger --limit or a new timeout is the same run, extended.
    RunStore(tmp_path, {**SETTINGS, "limit": 10, "timeout_s": 9})


def test_restart_discards_the_earlier_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path, SETTINGS)
    store.add_sample({"task_id": "HumanEval/0", "sample": 0, "completion": "x"})
    (tmp_path / "report.json").write_text("{}")  # the earlier run's reports
    (tmp_path / "report.md").write_text("# old")
    fresh = RunStore(tmp_path, {**SETTINGS, "temperature": 0.8}, restart=True)
    assert fresh.samples == {} and not fresh.samples_file.exists()
    assert not (tmp_path / "report.json").exists() and not (tmp_path / "report.md").exists()
