"""Which paths the watcher skips: VCS and build folders, virtualenvs, gitignored and extra patterns.

Binary and oversized files are found when they are read (see `file_snapshot`), not here.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from pathspec import GitIgnoreSpec

from takeaways_daemon.safe_read import read_capped
from takeaways_daemon.verification.last_failed import LAST_FAILED

log = logging.getLogger(__name__)

BUILTIN_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "build",
        "dist",
        "target",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)
"""Folder names skipped anywhere in the tree."""

BUILTIN_FILE_PATTERNS = (
    # Editors' swap and temporary files: an atomic save writes one, then renames it over the target.
    "*.swp",
    "*.swo",
    "*.swx",
    "*~",
    ".#*",
    "#*#",
    "*.tmp",
    "4913",
    "*___jb_tmp___",
    "*___jb_old___",
    # Common binaries, skipped by name so they are never opened just to find a NUL byte.
    "*.pyc",
    "*.pyo",
    "*.so",
    "*.o",
    "*.a",
    "*.dylib",
    "*.dll",
    "*.exe",
    "*.class",
    "*.jar",
    "*.whl",
    "*.zip",
    "*.gz",
    "*.png",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.pdf",
    "*.gguf",
    "*.safetensors",
)
"""File-name patterns skipped anywhere in the tree."""

ALWAYS_WATCHED = frozenset({LAST_FAILED.as_posix()})
"""Files watched even inside skipped folders: pytest's record of failing tests, which is how
the daemon learns that the user ran the tests (see `verification.last_failed`)."""
_ALWAYS_WATCHED_FOLDERS = frozenset(
    parent.as_posix() for path in ALWAYS_WATCHED for parent in Path(path).parents if parent.parts
)
"""Their folders: walked and polled, though every other file in them stays skipped."""

_BUILTIN_FILES = re.compile("|".join(fnmatch.translate(glob) for glob in BUILTIN_FILE_PATTERNS))
_EXCLUDE_FILE = ".git/info/exclude"
_RULE_FILE_NAMES = frozenset({".gitignore", "pyvenv.cfg"})
_CACHE_LIMIT = 100_000
MAX_RULE_FILE_BYTES = 1 << 20
"""Ignore files larger than this are skipped (real ones are a few kilobytes)."""


class IgnoreRules:
    """Answers "should the watcher skip this path?" for one project root.

    `.gitignore` files (root and nested) and `.git/info/exclude` are read lazily and cached. When
    one of them changes, build a new `IgnoreRules` rather than patching this one (`affects_rules`).
    """

    def __init__(self, root: Path, extra_patterns: Iterable[str] = ()) -> None:
        self.root = Path(root).resolve()
        self._root_prefix = str(self.root) + os.sep
        extra = [line for line in extra_patterns if line.strip()]
        self._extra = GitIgnoreSpec.from_lines(extra) if extra else None
        self._dirs: dict[str, bool] = {}
        self._specs: dict[str, GitIgnoreSpec | None] = {}
        self._exclude: GitIgnoreSpec | None = self._read_spec(self.root / _EXCLUDE_FILE)
        # Read now, so this object keeps describing the rules as they were when it was built
        # (nested files are read by the first walk, which visits every folder that matters).
        self._spec_at("")

    def is_ignored(self, path: Path, *, is_dir: bool = False) -> bool:
        """Whether the watcher skips `path` (absolute or root-relative); outside the root: yes."""
        if path.is_absolute():
            text = str(path)
            if text == str(self.root):
                return False
            if not text.startswith(self._root_prefix):
                return True
            path = Path(text[len(self._root_prefix) :])
        return self.is_ignored_relative(path.as_posix(), is_dir=is_dir)

    def is_ignored_relative(self, relative: str, *, is_dir: bool = False) -> bool:
        """Whether the watcher skips a root-relative posix path."""
        if relative in ("", ".") or relative in ALWAYS_WATCHED:
            return False
        if is_dir:
            return relative not in _ALWAYS_WATCHED_FOLDERS and self._dir_ignored(relative)
        parent = relative.rpartition("/")[0]
        return self._dir_ignored(parent) or self._matches(relative, is_dir=False)

    def affects_rules(self, relative: str) -> bool:
        """Whether a change to this file changes the rules (a visible `.gitignore`, venv marker)."""
        if relative == _EXCLUDE_FILE:
            return True
        parent, _, name = relative.rpartition("/")
        # Rule files inside skipped folders (node_modules is full of them) change nothing.
        return name in _RULE_FILE_NAMES and not self._dir_ignored(parent)

    def _dir_ignored(self, relative: str) -> bool:
        if not relative:
            return False
        verdict = self._dirs.get(relative)
        if verdict is None:
            parent = relative.rpartition("/")[0]
            verdict = self._dir_ignored(parent) or self._matches(relative, is_dir=True)
            if len(self._dirs) > _CACHE_LIMIT:
                self._dirs.clear()
            self._dirs[relative] = verdict
        return verdict

    def _matches(self, relative: str, *, is_dir: bool) -> bool:
        name = relative.rpartition("/")[2]
        if is_dir:
            if name in BUILTIN_DIRS or name.endswith(".egg-info"):
                return True
            # A virtualenv under any name (`.venv-3.12`, `myenv`) carries this marker.
            if os.path.isfile(os.path.join(self.root, relative, "pyvenv.cfg")):
                return True
        elif _BUILTIN_FILES.match(name):
            return True
        candidate = f"{relative}/" if is_dir else relative
        if self._extra is not None and self._extra.match_file(candidate):
            return True
        return self._gitignored(relative, is_dir=is_dir)

    def _gitignored(self, relative: str, *, is_dir: bool) -> bool:
        suffix = "/" if is_dir else ""
        # git's precedence: info/exclude first, then .gitignore files from the root down;
        # the last pattern that matches decides, so a deeper `!pattern` can re-include.
        verdict: bool | None = None
        if self._exclude is not None:
            verdict = self._exclude.check_file(relative + suffix).include
        parts = relative.split("/")
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            spec = self._spec_at(base)
            if spec is None:
                continue
            inner = "/".join(parts[depth:]) + suffix
            result = spec.check_file(inner).include
            if result is not None:
                verdict = result
        return bool(verdict)

    def _spec_at(self, base: str) -> GitIgnoreSpec | None:
        if base not in self._specs:
            if len(self._specs) > _CACHE_LIMIT:
                self._specs.clear()
            self._specs[base] = self._read_spec(self.root / base / ".gitignore")
        return self._specs[base]

    def _read_spec(self, path: Path) -> GitIgnoreSpec | None:
        try:
            data = read_capped(path, MAX_RULE_FILE_BYTES, links_inside=self.root)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            # A link to /dev/zero or a huge file: skipped, as it cannot be a real ignore file.
            log.warning("ignore file skipped: %s", error)
            return None
        lines = data.decode("utf-8", errors="replace").splitlines()
        return GitIgnoreSpec.from_lines(lines) if lines else None
