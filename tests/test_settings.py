"""Specification of settings: defaults, then config.toml, then TAKEAWAYS_* variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from takeaways_daemon import locations
from takeaways_daemon.errors import ConfigError
from takeaways_daemon.settings import Settings, describe_sources, load_settings

TAKEAWAYS = Path(sys.executable).with_name("takeaways")


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's empty TAKEAWAYS_HOME, and no TAKEAWAYS_* setting variable at all.

    conftest points Ollama at a closed port through the environment; these tests never reach a
    backend, and they need every value to start out at its default.
    """
    for name in list(os.environ):
        if name.startswith("TAKEAWAYS_") and name != "TAKEAWAYS_HOME":
            monkeypatch.delenv(name)
    return isolated_home


def _write_config(home: Path, toml: str) -> Path:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toml)
    return path


def _sources(settings: Settings) -> dict[str, tuple[object, str]]:
    return {name: (value, source) for name, value, source in describe_sources(settings)}


class TestLocations:
    def test_takeaways_home_moves_every_folder(self, home: Path) -> None:
        assert locations.config_file() == home / "config" / "config.toml"
        assert locations.state_dir() == home / "state"
        assert locations.cache_dir() == home / "cache"
        assert locations.built_model_path() == home / "models" / "takeaways.gguf"

    def test_project_state_folders_are_distinct_and_short(self, home: Path) -> None:
        """A unix socket path must stay under 108 bytes, however deep the project lives."""
        deep = home / ("very-long-folder-name/" * 8) / "project"
        first, second = locations.project_state_dir(deep), locations.project_state_dir(home)
        assert first != second
        assert first.parent == second.parent == home / "state" / "projects"
        assert len(first.name) == 12

    def test_private_folders_are_owner_only(self, home: Path) -> None:
        folder = locations.ensure_private_dir(home / "state" / "projects" / "x")
        assert folder.is_dir()
        assert folder.stat().st_mode & 0o777 == 0o700


class TestLayers:
    def test_defaults_match_the_seed_sampling(self, home: Path) -> None:
        sampling = load_settings().sampling
        assert (sampling.temperature, sampling.top_p, sampling.repeat_penalty) == (0.7, 0.9, 1.1)

    def test_the_config_file_overrides_defaults(self, home: Path) -> None:
        _write_config(home, "[sampling]\ntemperature = 0.3\n\n[watcher]\ndebounce_ms = 50\n")
        settings = load_settings()
        assert settings.sampling.temperature == 0.3
        assert settings.watcher.debounce_ms == 50
        assert settings.sampling.top_p == 0.9

    def test_environment_variables_override_the_file(
        self, home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _write_config(home, "[sampling]\ntemperature = 0.3\ntop_p = 0.5\n")
        monkeypatch.setenv("TAKEAWAYS_SAMPLING__TEMPERATURE", "0.2")
        settings = load_settings()
        assert settings.sampling.temperature == 0.2
        assert settings.sampling.top_p == 0.5

    def test_keyword_overrides_win_over_everything(
        self, home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TAKEAWAYS_API__TRANSPORT", "tcp")
        assert load_settings(api={"transport": "unix"}).api.transport == "unix"

    def test_describe_sources_names_the_layer_of_each_value(
        self, home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        config = _write_config(home, "[sampling]\ntemperature = 0.3\ntop_p = 0.5\n")
        monkeypatch.setenv("TAKEAWAYS_SAMPLING__TEMPERATURE", "0.2")
        sources = _sources(load_settings())
        assert sources["sampling.temperature"] == (0.2, "env")
        assert sources["sampling.top_p"] == (0.5, f"file ({config})")
        assert sources["sampling.repeat_penalty"] == (1.1, "default")
        assert sources["backend.ollama.host"] == ("http://127.0.0.1:11434", "default")

    def test_a_section_set_by_one_json_variable_is_reported_as_env(
        self, home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TAKEAWAYS_SAMPLING", '{"temperature": 0.1, "seed": 7}')
        sources = _sources(load_settings())
        assert sources["sampling.temperature"] == (0.1, "env")
        assert sources["sampling.seed"] == (7, "env")
        assert sources["watcher.debounce_ms"][1] == "default"


class TestErrors:
    def test_invalid_toml_names_the_file(self, home: Path) -> None:
        config = _write_config(home, "[sampling\ntemperature = 0.3\n")
        with pytest.raises(ConfigError, match="not valid TOML") as raised:
            load_settings()
        assert str(config) in str(raised.value)

    @pytest.mark.parametrize(
        ("toml", "field"),
        [
            ("[sampling]\ntemperature = 'hot'\n", "sampling.temperature"),
            ("[sampling]\ntop_p = 1.5\n", "sampling.top_p"),
            ("[api]\ntransport = 'http'\n", "api.transport"),
            ("[samplng]\ntemperature = 0.3\n", "samplng"),
        ],
        ids=["not a number", "out of range", "unknown choice", "misspelt section"],
    )
    def test_invalid_values_name_the_field_and_the_file(
        self, home: Path, toml: str, field: str
    ) -> None:
        config = _write_config(home, toml)
        with pytest.raises(ConfigError) as raised:
            load_settings()
        assert f"{field}:" in str(raised.value)
        assert str(config) in str(raised.value)

    def test_an_invalid_environment_value_is_reported(
        self, home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TAKEAWAYS_SAMPLING__TEMPERATURE", "-1")
        with pytest.raises(ConfigError, match=r"sampling\.temperature.*TAKEAWAYS_"):
            load_settings()

    def test_a_misspelt_key_inside_a_section_is_reported(self, home: Path) -> None:
        _write_config(home, "[sampling]\ntemprature = 0.1\n")
        with pytest.raises(ConfigError, match="temprature"):
            load_settings()


def _cli(home: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TAKEAWAYS_")}
    env.update(TAKEAWAYS_HOME=str(home), **extra_env)
    return subprocess.run(
        [str(TAKEAWAYS), *args], env=env, capture_output=True, text=True, timeout=30
    )


class TestConfigShowCommand:
    def test_prints_each_setting_with_its_source(self, home: Path) -> None:
        _write_config(home, "[sampling]\ntop_p = 0.5\n")
        result = _cli(home, "config", "show", TAKEAWAYS_SAMPLING__TEMPERATURE="0.2")
        assert result.returncode == 0, result.stderr
        lines = {line.split()[0]: line for line in result.stdout.splitlines()}
        assert lines["sampling.temperature"].split()[1:] == ["0.2", "[env]"]
        assert lines["sampling.top_p"].endswith("[file (" + str(home / "config/config.toml") + ")]")
        assert lines["sampling.repeat_penalty"].split()[1:] == ["1.1", "[default]"]
        assert result.stdout.startswith(f"# config file: {home / 'config' / 'config.toml'}\n")

    def test_json_output_lists_name_value_and_source(self, home: Path) -> None:
        result = _cli(home, "config", "show", "--json", TAKEAWAYS_SAMPLING__TEMPERATURE="0.2")
        rows = {row["name"]: row for row in json.loads(result.stdout)}
        assert rows["sampling.temperature"] == {
            "name": "sampling.temperature",
            "value": 0.2,
            "source": "env",
        }

    def test_a_broken_config_is_one_readable_line_and_exit_code_2(self, home: Path) -> None:
        _write_config(home, "[sampling\n")
        result = _cli(home, "config", "show")
        assert result.returncode == 2
        assert result.stderr.startswith("takeaways: ")
        assert "not valid TOML" in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_help_is_instant(home: Path) -> None:
    """`takeaways --help` imports no heavy module: best of three runs is under a second."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = _cli(home, "--help")
        timings.append(time.perf_counter() - started)
        assert result.returncode == 0
        assert "takeaways watch PATH" in result.stdout
    assert min(timings) < 1.0, timings


def test_the_served_model_name_and_sampling_defaults_come_from_takeaways_yaml() -> None:
    """takeaways.yaml is the one place these are set: the daemon's defaults read it too."""
    from takeaways_daemon.deployment_config import load_deployment_config

    served = load_deployment_config()
    settings = Settings()
    assert settings.backend.ollama.model == served.name
    for name in ("temperature", "top_p", "repeat_penalty", "num_ctx"):
        assert getattr(settings.sampling, name) == served.parameters[name], name
