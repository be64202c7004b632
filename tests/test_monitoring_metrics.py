"""Monitoring on a running daemon: `/metrics`, `/stats`, `takeaways stats`, stage timings, memory.

The daemon is whole (watcher, engine, supervisor, history, API on loopback); only the model is
the `scripted` plugin, installed through its entry point, so each test states what the model said
and takes milliseconds. Numbers are checked against what the test made happen.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from takeaways_daemon.cli.main import cli
from takeaways_daemon.prompt_format import render_answer
from takeaways_daemon.settings import Settings
from takeaways_daemon.wire import STAGES, StatsReport
from tests.live_daemon import LiveDaemon
from tests.plugins.install import install_plugin

if TYPE_CHECKING:
    from takeaways_scripted import ScriptedBackend

BROKEN = "def greet(name)\n    print('hi', name)\n"
GOOD = render_answer(
    "Add the missing colon",
    "The def line lacked its colon.",
    "def greet(name):\n    print('hi', name)",
)


@pytest.fixture
def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The `takeaways-scripted` distribution, installed for this test only."""
    return install_plugin(
        tmp_path / "site", monkeypatch, "takeaways-scripted",
        {"scripted": "takeaways_scripted:register"},
    )  # fmt: skip


def fix_only_settings(**extra: object) -> Settings:
    """The scripted model, fixes only, a short debounce: one save makes one request."""
    return Settings(
        backend={"prefer": ["scripted"]},
        tasks={"enabled": ["fix"]},
        watcher={"debounce_ms": 50},
        **extra,  # type: ignore[arg-type]
    )


def start_scripted(daemon: LiveDaemon) -> ScriptedBackend:
    daemon.wait_for(lambda: daemon.service.supervisor.status.state == "ready")
    return cast("ScriptedBackend", daemon.service.supervisor.backend)


def families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Parsed exposition: family name → (sample name, labels, value)."""
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def sample(parsed: dict, family: str, name: str, **labels: str) -> float:
    matches = [v for n, lab, v in parsed[family] if n == name and labels.items() <= lab.items()]
    assert matches, f"no {name} {labels} in {family}: {parsed[family]}"
    return sum(matches)


def make_one_fix(daemon: LiveDaemon, backend: ScriptedBackend, delay_s: float = 0.05) -> str:
    """Save a broken file; the model answers after `delay_s`; returns the kept suggestion's id."""
    backend.enqueue(GOOD, delay_s=delay_s)
    (daemon.root / "greet.py").write_text(BROKEN)
    daemon.wait_for(lambda: len(daemon.service.store) == 1)
    return next(iter(daemon.call(lambda: list(daemon.service.store)))).id


class TestMetricsEndpoint:
    def test_needs_the_token_like_every_other_route(self, scripted: Path, tmp_path: Path) -> None:
        with LiveDaemon(tmp_path / "project", fix_only_settings()) as daemon:
            refused = httpx.get(f"{daemon.base_url}/metrics", timeout=10)
            wrong = httpx.get(
                f"{daemon.base_url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10
            )
            assert (refused.status_code, wrong.status_code) == (401, 401)
            assert "takeaways_" not in refused.text

    def test_a_kept_accepted_rated_fix_shows_in_every_instrument(
        self, scripted: Path, tmp_path: Path
    ) -> None:
        (tmp_path / "project").mkdir()
        with LiveDaemon(tmp_path / "project", fix_only_settings()) as daemon:
            backend = start_scripted(daemon)
            backend.enqueue("no fence, no title: malformed")  # first attempt: counted, dropped
            suggestion_id = make_one_fix(daemon, backend, delay_s=0.2)
            assert daemon.http.post(f"/suggestions/{suggestion_id}/rate", json={"rating": 1})
            assert daemon.http.post(f"/suggestions/{suggestion_id}/accept").status_code == 200

            response = daemon.http.get("/metrics")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        parsed = families(response.text)
        fix = {"kind": "fix", "model": "scripted"}
        assert sample(parsed, "takeaways_suggestions", "takeaways_suggestions_total", **fix) == 1
        assert (
            sample(parsed, "takeaways_outcomes", "takeaways_outcomes_total", outcome="accepted")
            == 1
        )
        assert sample(parsed, "takeaways_ratings", "takeaways_ratings_total", rating="up") == 1
        assert sample(parsed, "takeaways_events", "takeaways_events_total", event="malformed") == 1
        # Every stage the daemon runs today was timed once; the scripted model's 0.2 s delay
        # lands in prefill (before its first chunk), not in generation or parse.
        stage = "takeaways_stage_seconds"
        for name in ("queue", "prompt", "prefill", "generation", "parse"):
            assert sample(parsed, stage, f"{stage}_count", stage=name) == 1
        assert sample(parsed, stage, f"{stage}_sum", stage="prefill") >= 0.2
        assert sample(parsed, stage, f"{stage}_sum", stage="parse") < 0.2
        latency = "takeaways_save_to_suggestion_seconds"
        assert sample(parsed, latency, f"{latency}_count", kind="fix") == 1
        assert sample(parsed, latency, f"{latency}_sum", kind="fix") >= 0.2
        rss = sample(parsed, "takeaways_process_resident_memory_bytes",
                     "takeaways_process_resident_memory_bytes")  # fmt: skip
        assert 10 << 20 < rss < 64 << 30  # this very process's RSS, sampled at the scrape
        assert sample(parsed, "takeaways_backend_up", "takeaways_backend_up") == 1
        assert sample(parsed, "takeaways_queue_depth", "takeaways_queue_depth") == 0

    def test_the_suggestion_carries_its_stage_timings_on_the_wire(
        self, scripted: Path, tmp_path: Path
    ) -> None:
        (tmp_path / "project").mkdir()
        with LiveDaemon(tmp_path / "project", fix_only_settings()) as daemon:
            suggestion_id = make_one_fix(daemon, start_scripted(daemon), delay_s=0.1)
            body = daemon.http.get(f"/suggestions/{suggestion_id}").json()

        telemetry = body["telemetry"]
        assert set(telemetry["stages_ms"]) == set(STAGES)  # a fix is checked: verification too
        assert telemetry["stages_ms"]["prefill"] >= 100
        assert telemetry["attempts"] == 1
        assert telemetry["verified"] is True  # the syntax fix was checked against its evidence
        # The stages add up to no more than the save → suggestion latency they explain.
        assert sum(telemetry["stages_ms"].values()) <= body["latency_ms"] + 1


class TestStats:
    def test_windows_accuracy_per_kind_and_model_and_the_cli_agree(
        self, scripted: Path, tmp_path: Path
    ) -> None:
        (tmp_path / "project").mkdir()
        with LiveDaemon(tmp_path / "project", fix_only_settings()) as daemon:
            backend = start_scripted(daemon)
            first = make_one_fix(daemon, backend)
            daemon.http.post(f"/suggestions/{first}/rate", json={"rating": -1})
            daemon.http.post(f"/suggestions/{first}/reject")
            report = StatsReport.model_validate(daemon.http.get("/stats").json())
            cli_json = CliRunner().invoke(cli, ["stats", "--json", str(daemon.root)])
            cli_text = CliRunner().invoke(cli, ["stats", str(daemon.root)])

        assert report.history  # history is on by default: the windows include it
        assert [w.name for w in report.windows] == ["hour", "day", "all"]
        for window in report.windows:
            [row] = window.accuracy
            assert (row.kind, row.model, row.suggestions) == ("fix", "scripted", 1)
            assert (row.accepted, row.rejected, row.acceptance_rate) == (0, 1, 0.0)
            assert (row.rated, row.mean_rating) == (1, -1.0)
            assert row.verified_fix_rate == 1.0  # the one fix was checked against its evidence
            assert window.latency_ms["p99"] is not None
            assert window.stages_ms["prefill"].mean is not None
        assert report.memory.rss_bytes and report.memory.rss_bytes > 10 << 20
        assert report.memory.model_bytes is None  # the scripted model maps no GGUF here
        assert report.backend == "scripted"
        assert len(report.recent_latency_ms) == 1
        assert cli_json.exit_code == 0, cli_json.output
        assert json.loads(cli_json.output)["windows"][2]["accuracy"][0]["rejected"] == 1
        assert cli_text.exit_code == 0, cli_text.output
        assert "Last hour" in cli_text.output and "All time" in cli_text.output
        assert "fix · scripted" in cli_text.output and "accepted 0% (0/1)" in cli_text.output

    def test_with_history_off_the_windows_cover_this_run(self, scripted: Path, tmp_path: Path):
        (tmp_path / "project").mkdir()
        settings = fix_only_settings(history={"enabled": False})
        with LiveDaemon(tmp_path / "project", settings) as daemon:
            make_one_fix(daemon, start_scripted(daemon))
            report = StatsReport.model_validate(daemon.http.get("/stats").json())
        assert not report.history
        assert [w.suggestions for w in report.windows] == [1, 1, 1]

    def test_older_history_falls_out_of_the_hour_but_not_all_time(self) -> None:
        from takeaways_daemon.telemetry.stats_report import OutcomeRow, windows
        from takeaways_daemon.wire import SuggestionTelemetry

        now = time.time()
        verified = SuggestionTelemetry(stages_ms={"queue": 5.0}, verified=True)
        not_verified = SuggestionTelemetry(verified=False)
        rows = [
            OutcomeRow("a", now - 2 * 86400, "fix", "v1", "accepted", 1, 900.0),
            OutcomeRow("b", now - 7200, "fix", "v2", "rejected", -1, 1100.0, verified),
            OutcomeRow("c", now - 60, "fix", "v2", "accepted", 1, 500.0, not_verified),
        ]
        hour, day, everything = windows(rows, now)
        assert (hour.suggestions, day.suggestions, everything.suggestions) == (1, 2, 3)
        v2 = next(row for row in day.accuracy if row.model == "v2")
        assert (v2.acceptance_rate, v2.mean_rating, v2.verified_fix_rate) == (0.5, 0.0, 0.5)
        assert [row.model for row in everything.accuracy] == ["v1", "v2"]
        assert everything.latency_ms["p50"] == 900.0
