"""The CLI prints numbers for people and finds mistakes for them: formatted `history stats`,
`scan`'s progress and its reason for finding nothing, and "did you mean" for a config typo.

`history stats` runs on the real store in this test's TAKEAWAYS_HOME; `scan` runs the real
engine in-process with the scripted plugin installed through its entry point.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from history_helpers import make_record

from takeaways_daemon.cli.main import cli
from takeaways_daemon.errors import ConfigError
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.prompt_format import render_answer
from takeaways_daemon.settings import load_settings
from tests.plugins.install import install_plugin
from tests.scripted_terminal import write_config


def test_history_stats_prints_rates_counts_and_durations_not_floats_and_dicts(
    isolated_home: Path,
) -> None:
    with HistoryStore.open(load_settings().history) as store:
        for index in range(1, 4):
            store.append(make_record(index, created_at=1000.0 * index))
        store.record_outcome("s0000001", "accepted", 1)
        store.record_outcome("s0000002", "rejected", None)
    result = CliRunner().invoke(cli, ["history", "stats"])
    assert result.exit_code == 0, result.output
    shown = result.output
    assert "{" not in shown and "}" not in shown
    assert "accepted     50% of those decided" in shown
    assert "ratings      1 up, 0 down" in shown
    assert re.search(r"latency      p50 [\d.]+ (ms|s|min \d+ s), p95", shown), shown
    assert not re.search(r"\d\.\d{3,}", shown), "a raw float slipped through"


def test_scan_shows_each_candidate_on_stderr_and_says_why_it_found_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(
        tmp_path / "site", monkeypatch, "takeaways-scripted",
        {"scripted": "takeaways_scripted:register"},
    )  # fmt: skip
    reply = render_answer("Add the colon", "It lacked one.", "def greet(name):\n    pass")
    write_config(
        {
            "backend": {"prefer": ["scripted"]},
            "backend.scripted": {"reply": reply},
            "sampling": {"candidates": 2},
            "fix": {"max_candidates": 2},  # n would grow past best-of-n while none verifies
        }
    )
    # Still broken after the def is fixed: both candidates fail the parse check.
    (tmp_path / "bad.py").write_text("def greet(name)\n    pass\n\n\nprint((1)\n")
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "bad.py"), "--kind", "fix"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "fix bad.py: candidate 1/2" in result.stderr
    assert "fix bad.py: candidate 2/2" in result.stderr
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("0 suggestion(s) in ")
    assert "fix bad.py: 2 candidates rejected: " in summary


def test_a_misspelt_variable_gets_a_did_you_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAKEAWAYS_TASKS__ENABELD", '["fix"]')
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "`tasks.enabeld`: did you mean `tasks.enabled`?" in str(refused.value)


@pytest.mark.parametrize(
    ("sections", "hint"),
    [
        ({"watcher": {"debounce_msec": 100}}, "did you mean `watcher.debounce_ms`?"),
        ({"samplng": {"temperature": 0.2}}, "`samplng`: did you mean `sampling`?"),
    ],
)
def test_a_misspelt_key_in_the_config_file_gets_a_did_you_mean(
    sections: dict[str, dict[str, object]], hint: str
) -> None:
    write_config(sections)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert hint in str(refused.value)
