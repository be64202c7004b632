"""IgnoreRules on real folders: what the watcher skips, and gitignore's precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from takeaways_daemon.watcher import IgnoreRules


def make(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


class TestBuiltins:
    @pytest.mark.parametrize(
        "relative",
        [
            ".git/config",
            ".hg/store/data",
            ".svn/entries",
            ".venv/lib/site.py",
            "venv/bin/activate",
            "env/lib/x.py",
            "web/node_modules/react/index.js",
            "build/lib/pkg.py",
            "dist/pkg.tar",
            "rust/target/debug/app",
            "pkg/__pycache__/mod.cpython-311.pyc",
            ".mypy_cache/3.11/x.json",
            ".pytest_cache/v/cache",
            ".ruff_cache/0.6/x",
            ".tox/py311/log",
            "src/takeaways.egg-info/PKG-INFO",
            ".foo.py.tmp",
            "pkg/.mod.py.swp",
            "mod.py~",
            ".#mod.py",
            "#mod.py#",
            "4913",
            "model.gguf",
        ],
    )
    def test_skipped_everywhere(self, tmp_path: Path, relative: str) -> None:
        assert IgnoreRules(tmp_path).is_ignored(Path(relative))

    @pytest.mark.parametrize(
        "relative", ["app.py", "src/pkg/mod.py", "environment.py", "env.py", "builder/x.py"]
    )
    def test_ordinary_source_is_watched(self, tmp_path: Path, relative: str) -> None:
        assert not IgnoreRules(tmp_path).is_ignored(Path(relative))

    def test_a_virtualenv_under_any_name_is_found_by_its_marker(self, tmp_path: Path) -> None:
        make(tmp_path, {"py312/pyvenv.cfg": "home = /usr/bin\n", "py312/lib/site.py": ""})
        rules = IgnoreRules(tmp_path)
        assert rules.is_ignored(Path("py312/lib/site.py"))
        assert rules.is_ignored(tmp_path / "py312", is_dir=True)

    def test_paths_outside_the_root_are_ignored(self, tmp_path: Path) -> None:
        rules = IgnoreRules(tmp_path / "project")
        assert rules.is_ignored(tmp_path / "other" / "x.py")
        assert not rules.is_ignored(tmp_path / "project")


class TestGitignore:
    def test_root_patterns_with_negation_and_directory_only_patterns(self, tmp_path: Path) -> None:
        make(tmp_path, {".gitignore": "*.log\n!keep.log\nlogs/\n/top.py\n"})
        rules = IgnoreRules(tmp_path)
        assert rules.is_ignored(Path("debug.log"))
        assert rules.is_ignored(Path("deep/er/debug.log"))
        assert not rules.is_ignored(Path("keep.log"))
        assert rules.is_ignored(Path("a/logs/today.txt"))
        assert not rules.is_ignored(Path("logs"))  # `logs/` matches folders only
        assert rules.is_ignored(Path("top.py"))
        assert not rules.is_ignored(Path("sub/top.py"))  # anchored to the root

    def test_nested_gitignore_is_relative_to_its_folder(self, tmp_path: Path) -> None:
        make(tmp_path, {"pkg/.gitignore": "/generated.py\n*.out\n"})
        rules = IgnoreRules(tmp_path)
        assert rules.is_ignored(Path("pkg/generated.py"))
        assert not rules.is_ignored(Path("pkg/inner/generated.py"))
        assert not rules.is_ignored(Path("generated.py"))
        assert rules.is_ignored(Path("pkg/inner/run.out"))
        assert not rules.is_ignored(Path("run.out"))

    def test_deeper_files_override_shallower_ones(self, tmp_path: Path) -> None:
        make(tmp_path, {".gitignore": "*.gen.py\n", "keep/.gitignore": "!*.gen.py\n"})
        rules = IgnoreRules(tmp_path)
        assert rules.is_ignored(Path("x.gen.py"))
        assert not rules.is_ignored(Path("keep/x.gen.py"))

    def test_nothing_is_re_included_below_an_ignored_folder(self, tmp_path: Path) -> None:
        make(tmp_path, {".gitignore": "vendor/\n!vendor/mine.py\n"})
        assert IgnoreRules(tmp_path).is_ignored(Path("vendor/mine.py"))

    def test_git_info_exclude_has_lowest_precedence(self, tmp_path: Path) -> None:
        make(tmp_path, {".git/info/exclude": "*.scratch\nlocal.py\n", ".gitignore": "!local.py\n"})
        rules = IgnoreRules(tmp_path)
        assert rules.is_ignored(Path("a.scratch"))
        assert not rules.is_ignored(Path("local.py"))

    def test_extra_patterns_always_skip(self, tmp_path: Path) -> None:
        make(tmp_path, {".gitignore": "!fixtures/\n"})
        rules = IgnoreRules(tmp_path, ["fixtures/", "*.snap"])
        assert rules.is_ignored(Path("tests/fixtures/a.py"))
        assert rules.is_ignored(Path("tests/ui.snap"))
        assert not rules.is_ignored(Path("tests/test_ui.py"))


class TestRuleFiles:
    @pytest.mark.parametrize(
        ("relative", "affects"),
        [
            (".gitignore", True),
            ("pkg/.gitignore", True),
            (".git/info/exclude", True),
            ("myenv/pyvenv.cfg", True),
            ("node_modules/pkg/.gitignore", False),
            (".venv/pyvenv.cfg", False),
            ("app.py", False),
        ],
    )
    def test_which_files_change_the_rules(
        self, tmp_path: Path, relative: str, *, affects: bool
    ) -> None:
        assert IgnoreRules(tmp_path).affects_rules(relative) is affects
