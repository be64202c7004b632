"""A third-party backend, installed through the entry point, is chosen and configured like ours.

The plugins live in `tests/plugins/`; each test installs them with a real dist-info, so the
daemon's own discovery (`importlib.metadata` entry points), settings and supervisor run as they
would for a package installed with pip.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.registry import default_registry
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.errors import ConfigError
from takeaways_daemon.settings import Settings, load_settings
from tests.plugins.install import install_plugin

TAKEAWAYS = Path(sys.executable).with_name("takeaways")


@pytest.fixture
def mine_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The `takeaways-mine` distribution, installed for this test only."""
    return install_plugin(
        tmp_path / "site", monkeypatch, "takeaways-mine", {"mine": "takeaways_mine:register"}
    )


def _write_config(home: Path, toml: str) -> Path:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toml)
    return path


MINE_FIRST = """
[backend]
prefer = ["mine", "embedded"]

[backend.mine]
model = "mine-7b"
greeting = "hi from mine"
"""


class TestDiscovery:
    def test_an_installed_plugin_joins_the_built_in_backends(self, mine_installed: Path) -> None:
        assert default_registry().names() == ["embedded", "mine", "ollama"]

    def test_without_its_dist_info_the_plugin_is_not_there(self) -> None:
        assert "mine" not in default_registry().names()


class TestChosenAndConfigured:
    def test_prefer_mine_picks_the_plugin_with_its_own_section(
        self, mine_installed: Path, isolated_home: Path
    ) -> None:
        """The acceptance case: `prefer = ["mine", "embedded"]` and `[backend.mine]` in the file."""
        _write_config(isolated_home, MINE_FIRST)
        settings = load_settings()

        async def scenario() -> tuple[str, str | None, str]:
            supervisor = BackendSupervisor(settings)
            try:
                backend = await supervisor.select()
                answer = await supervisor.generate(GenerationRequest(prompt="anything"))
            finally:
                await supervisor.close()
            return backend.name, supervisor.status.model, answer.text

        assert asyncio.run(scenario()) == ("mine", "mine-7b", "hi from mine")

    def test_environment_variables_reach_a_plugins_section(
        self, mine_installed: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _write_config(isolated_home, MINE_FIRST)
        monkeypatch.setenv("TAKEAWAYS_BACKEND__MINE__GREETING", "hi from env")
        monkeypatch.setenv("TAKEAWAYS_BACKEND__PREFER", "mine")
        settings = load_settings()

        backend = default_registry().create("mine", settings)

        assert settings.backend.prefer == ["mine"]
        assert (backend.model, backend.options.greeting) == ("mine-7b", "hi from env")

    def test_a_misspelt_option_in_the_plugins_section_is_a_clear_error(
        self, mine_installed: Path, isolated_home: Path
    ) -> None:
        config = _write_config(
            isolated_home,
            '[backend]\nprefer = ["mine"]\n[backend.mine]\nmodel = "m"\ngreting = 1\n',
        )
        supervisor = BackendSupervisor(load_settings())

        with pytest.raises(ConfigError) as raised:
            asyncio.run(supervisor.select())

        assert "backend.mine.greting: Extra inputs are not permitted" in str(raised.value)
        assert str(config) in str(raised.value)

    def test_a_missing_required_option_names_it(self, mine_installed: Path) -> None:
        settings = Settings(backend={"prefer": ["mine"]})

        with pytest.raises(ConfigError, match=r"backend\.mine\.model: Field required"):
            default_registry().create("mine", settings)


class TestUnknownNames:
    def test_an_unknown_name_in_prefer_lists_the_available_and_the_closest(
        self, mine_installed: Path
    ) -> None:
        with pytest.raises(ConfigError) as raised:
            BackendSupervisor(Settings(backend={"prefer": ["mien", "embedded"]}))

        message = str(raised.value)
        assert "backend.prefer lists 'mien'" in message
        assert "available: embedded, mine, ollama" in message
        assert "did you mean 'mine'?" in message

    def test_a_plugin_that_is_not_installed_is_named(self) -> None:
        with pytest.raises(ConfigError, match=r"'mine'.*\(available: embedded, ollama\)$"):
            BackendSupervisor(Settings(backend={"prefer": ["mine", "embedded"]}))

    def test_a_section_for_no_installed_backend_is_an_error(self) -> None:
        with pytest.raises(ConfigError, match=r"\[backend\.olama\].*did you mean 'ollama'"):
            BackendSupervisor(Settings(backend={"olama": {"host": "http://127.0.0.1:9"}}))


class TestOldForms:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ("auto", ["ollama", "embedded"]),
            ("ollama", ["ollama"]),
            ("embedded", ["embedded"]),
            (["auto"], ["ollama", "embedded"]),
        ],
    )
    def test_the_old_single_string_forms_still_load(
        self, given: object, expected: list[str]
    ) -> None:
        assert Settings(backend={"prefer": given}).backend.prefer == expected

    def test_an_old_config_file_keeps_working(self, isolated_home: Path) -> None:
        _write_config(isolated_home, '[backend]\nprefer = "auto"\n')
        assert load_settings().backend.prefer == ["ollama", "embedded"]

    def test_a_name_listed_twice_is_an_error(self) -> None:
        with pytest.raises(ConfigError, match=r"backend\.prefer: .*lists ollama more than once"):
            load_settings(backend={"prefer": ["ollama", "embedded", "ollama"]})


def test_config_show_lists_a_plugins_section(isolated_home: Path) -> None:
    """`config show` needs no plugin import: it prints the section as given, with its source."""
    config = _write_config(isolated_home, MINE_FIRST)
    env = {name: value for name, value in os.environ.items() if not name.startswith("TAKEAWAYS_")}
    env["TAKEAWAYS_HOME"] = str(isolated_home)

    result = subprocess.run(
        [str(TAKEAWAYS), "config", "show"], env=env, capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert (
        lines["backend.mine.greeting"].split(maxsplit=1)[1] == f'"hi from mine"  [file ({config})]'
    )
    assert lines["backend.prefer"].split()[1:3] == ['["mine",', '"embedded"]']
