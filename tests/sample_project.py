"""A small real project for the fix-checking tests: a package, `tests/` and its own venv.

The venv is a real `python -m venv` of the system Python with pytest (and the few packages it
needs) copied in, so the project's interpreter can run its tests inside the sandbox. The folders
are world-readable because, when the tests run as root, the sandbox drops to `nobody`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The system's Python, which `nobody` can run (the sandbox's user when the tests run as root);
# a Python under root's 0700 home could not start inside the sandbox.
SYSTEM_PYTHON = Path("/usr/bin/python3")
PYTEST_PACKAGES = ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments", "py")

CALC = '''\
"""Shopping-cart arithmetic."""


def total(prices):
    """The sum of all prices."""
    result = 0
    for price in prices[1:]:
        result += price
    return result


def discount(amount, percent):
    """`amount` less `percent` per cent."""
    return amount * (100 - percent) / 100
'''
CALC_FIXED = CALC.replace("prices[1:]", "prices")

TEST_CALC = """\
from calc import discount, total


def test_total():
    assert total([4, 1, 5]) == 10


def test_discount():
    assert discount(200, 10) == 180


def test_total_of_nothing():
    assert total([]) == 0
"""

CONFTEST = "# Puts the project root on sys.path, as plain `pytest` needs for `import calc`.\n"


@contextmanager
def world_readable_folder(prefix: str) -> Iterator[Path]:
    """A fresh folder in /tmp that the sandbox's `nobody` can read (removed afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def make_venv(venv: Path) -> Path:
    """A real venv of the system Python with pytest copied in; returns its `bin/python`."""
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    [site_packages] = (venv / "lib").glob("python3*/site-packages")
    for name in PYTEST_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, site_packages / name, ignore=_no_bytecode)
        else:
            shutil.copy2(origin, site_packages / origin.name)
    # Bytecode now, as installing packages does; the sandbox's read-only venv could not add it.
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "compileall", "-q", str(site_packages)], check=True)
    _make_readable(venv)
    return python


def write_project(root: Path, files: dict[str, str]) -> None:
    """Write `files` (relative path → text) under `root`, readable by everyone."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _make_readable(root)


def run_pytest(root: Path, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """The user's own pytest run, with the project's venv, outside any sandbox (as a user does)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHON"))}
    return subprocess.run(
        [str(root / ".venv" / "bin" / "python"), "-m", "pytest", "-q", *args],
        cwd=root, capture_output=True, text=True, timeout=timeout_s, env=env, check=False,
    )  # fmt: skip


def _no_bytecode(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__"]


def _make_readable(root: Path) -> None:
    for folder, _, names in os.walk(root):
        os.chmod(folder, 0o755)
        for name in names:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o644)
