"""Which interpreter runs a project's tests, why, and which folders it gets mounted.

Real venvs are made with the system Python (`python -m venv --without-pip`): nothing is faked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from takeaways_daemon.sandbox import find_interpreter
from tests.sample_project import SYSTEM_PYTHON


def venv(at: Path) -> Path:
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(at)], check=True)
    return at / "bin" / "python"


class TestChoice:
    def test_the_projects_dot_venv_comes_first(self, tmp_path: Path) -> None:
        venv(tmp_path / "venv")
        python = venv(tmp_path / ".venv")
        chosen = find_interpreter(tmp_path)
        assert (chosen.python, chosen.source) == (python, "project")
        assert chosen.reason == "the project's own .venv/"

    def test_a_plain_venv_folder_is_found(self, tmp_path: Path) -> None:
        python = venv(tmp_path / "venv")
        chosen = find_interpreter(tmp_path)
        assert (chosen.python, chosen.reason) == (python, "the project's own venv/")

    def test_a_configured_environment_wins_and_may_be_relative(self, tmp_path: Path) -> None:
        venv(tmp_path / ".venv")
        python = venv(tmp_path / "envs" / "py311")
        chosen = find_interpreter(tmp_path, Path("envs/py311"))
        assert (chosen.python, chosen.source) == (python, "configured")
        assert chosen.describe() == f"{python} (fix.python setting)"

    def test_a_configured_path_without_python_falls_back_and_says_so(self, tmp_path: Path) -> None:
        venv(tmp_path / ".venv")
        chosen = find_interpreter(tmp_path, Path("/nowhere/python"))
        assert chosen.source == "project"
        assert chosen.reason == "fix.python /nowhere/python has no Python; the project's own .venv/"

    def test_without_an_environment_the_daemons_own_is_used(self, tmp_path: Path) -> None:
        chosen = find_interpreter(tmp_path)
        assert (chosen.python, chosen.source) == (Path(sys.executable), "daemon")
        assert chosen.reason == "the daemon's own: the project has no .venv/ or venv/"
        assert all(not folder.is_relative_to("/usr") for folder in chosen.mounts)


class TestMounts:
    def test_a_venv_of_the_system_python_needs_nothing_beyond_the_project(
        self, tmp_path: Path
    ) -> None:
        venv(tmp_path / ".venv")
        assert find_interpreter(tmp_path).mounts == ()

    def test_a_venv_outside_the_project_is_mounted(self, tmp_path: Path) -> None:
        outside = tmp_path / "envs" / "proj"
        venv(outside)
        project = tmp_path / "project"
        project.mkdir()
        assert find_interpreter(project, outside).mounts == (outside.resolve(),)

    def test_a_hostile_pyvenv_cfg_cannot_mount_home_or_arbitrary_folders(
        self, tmp_path: Path
    ) -> None:
        venv(tmp_path / ".venv")
        config = tmp_path / ".venv" / "pyvenv.cfg"
        for home in (Path.home() / "bin", tmp_path.parent / "bin", Path("/bin")):
            config.write_text(f"home = {home}\n")
            assert find_interpreter(tmp_path).mounts == (), home
