"""Learning is opt-in: `takeaways learn on|off` saves the setting (keeping the user's file), and
with learning off nothing reads the history for training, whatever starts the round."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from takeaways_daemon import locations
from takeaways_daemon.settings import load_settings
from tests.learning_helpers import accepted_fix, record_in_history
from training.learning.commands import learn_group
from training.learning.round import LearningOff, run_round


def test_on_and_off_save_the_setting_and_keep_every_other_key_and_comment() -> None:
    config = locations.config_file()
    config.parent.mkdir(parents=True)
    original = (
        "# my settings\n[tui]\nstatus_interval_s = 1.5  # faster\n\n"
        "[learning]\n# how often\naccepted_per_round = 7\n\n[history]\nmax_mb = 12\n"
    )
    config.write_text(original)
    runner = CliRunner()

    assert load_settings().learning.enabled is False
    result = runner.invoke(learn_group, ["on"])
    assert result.exit_code == 0, result.output
    assert "learning is on" in result.output
    text = config.read_text()
    assert load_settings().learning.enabled is True
    assert load_settings().learning.accepted_per_round == 7
    assert "# my settings" in text and "status_interval_s = 1.5  # faster" in text
    assert "# how often" in text
    assert tomllib.loads(text)["history"] == {"max_mb": 12}

    assert runner.invoke(learn_group, ["off"]).exit_code == 0
    assert load_settings().learning.enabled is False
    assert config.read_text() == original.replace("[learning]\n", "[learning]\nenabled = false\n")
    status = runner.invoke(learn_group, ["status"])
    assert "learning: off" in status.output


def test_on_creates_the_config_file_when_there_is_none() -> None:
    assert not locations.config_file().exists()
    assert CliRunner().invoke(learn_group, ["on"]).exit_code == 0
    assert tomllib.loads(locations.config_file().read_text()) == {"learning": {"enabled": True}}


def test_an_inline_learning_table_is_refused_untouched() -> None:
    config = locations.config_file()
    config.parent.mkdir(parents=True)
    config.write_text("learning = { accepted_per_round = 3 }\n")
    result = CliRunner().invoke(learn_group, ["on"])
    assert result.exit_code != 0
    assert config.read_text() == "learning = { accepted_per_round = 3 }\n"


class TestOffMeansOff:
    @pytest.fixture(autouse=True)
    def history_export_raises(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """Accepted rows exist, and any read of them for training fails the test."""
        project = tmp_path / "project"
        project.mkdir()
        record_in_history(accepted_fix(project, 1), accepted_fix(project, 2))

        def forbidden(*args: object, **kwargs: object) -> None:
            raise AssertionError("the history was read for training while learning is off")

        import takeaways_daemon.history.maintenance as maintenance
        import training.data.history_source as history_source

        monkeypatch.setattr(maintenance, "records_for_training", forbidden)
        monkeypatch.setattr(maintenance, "export_jsonl", forbidden)
        monkeypatch.setattr(history_source, "accepted_suggestion_records", forbidden)

    def test_a_round_refuses_before_reading_anything(self) -> None:
        with pytest.raises(LearningOff, match="learn on"):
            run_round(load_settings())
        with pytest.raises(LearningOff):
            run_round(load_settings(), dry_run=True)

    def test_learn_now_and_the_daemons_automatic_round_do_nothing(self) -> None:
        runner = CliRunner()
        manual = runner.invoke(learn_group, ["now", "--dry-run"])
        assert isinstance(manual.exception, LearningOff)
        automatic = runner.invoke(learn_group, ["now", "--auto"])
        assert automatic.exit_code == 0 and automatic.output == ""

    def test_the_daemons_trigger_never_starts_a_round(self) -> None:
        from takeaways_daemon.learning_trigger import LearningTrigger

        started: list[list[str]] = []
        trigger = LearningTrigger(
            load_settings(), queue_depth=lambda: 0, start=started.append, load_per_core=lambda: 0
        )
        for _ in range(3):
            trigger.check(now=1e12)
        assert started == []
        assert trigger.status().enabled is False
        assert trigger.last_decision == "off"
