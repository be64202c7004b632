"""The layer contract (pyproject's [tool.importlinter]) holds, and it bites on a wrong import.

`make test` runs `lint-imports` on the tree; here it also runs on a copy with one wrong import
planted, to prove the contract would fail CI rather than pass whatever the code does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("takeaways_daemon", "training", "tui")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the packages under `root`, with `root`'s pyproject.toml."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True,
        timeout=300, env={"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent)}, check=False,
    )  # fmt: skip


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The packages' Python files and pyproject.toml, copied."""
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.tcss", "*.yaml"),
        )  # fmt: skip
    return tmp_path


def test_the_tree_keeps_the_contract() -> None:
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("importer", "imported", "contract"),
    [
        ("takeaways_daemon/planted.py", "training.recipe", "the daemon imports neither"),
        ("takeaways_daemon/planted.py", "tui.key_bindings", "the daemon imports neither"),
        ("training/planted.py", "tui.key_bindings", "training and the TUI are independent"),
        ("tui/planted.py", "training.recipe", "training and the TUI are independent"),
    ],
)
def test_a_planted_wrong_import_breaks_the_contract(
    tree_copy: Path, importer: str, imported: str, contract: str
) -> None:
    (tree_copy / importer).write_text(f"import {imported}\n")
    done = lint_imports(tree_copy)
    assert done.returncode != 0
    assert f"{contract}" in done.stdout and "BROKEN" in done.stdout
    assert imported in done.stdout
