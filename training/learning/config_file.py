"""Save `learning.enabled` into config.toml, keeping every other key, comment and blank line.

There is no TOML writer in the dependencies, and rewriting the whole file would lose the user's
comments: the edit is a textual one on the `[learning]` table, checked by reading the result
back with tomllib before it replaces the file (atomically, keeping its permissions).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from takeaways_daemon import locations
from takeaways_daemon.errors import ConfigError

_TABLE = re.compile(r"^\s*\[\s*learning\s*\]\s*(#.*)?$")
_ANY_TABLE = re.compile(r"^\s*\[")
_ENABLED = re.compile(r"^(\s*)enabled\s*=.*$")


def set_learning_enabled(enabled: bool, path: Path | None = None) -> Path:
    """Write `[learning] enabled = …` into the config file; returns the file's path."""
    path = path or locations.config_file()
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        tomllib.loads(old)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML ({error}); fix it first") from None
    new = with_enabled(old, enabled)
    try:
        parsed = tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        parsed = {}
    learning = parsed.get("learning")
    if not isinstance(learning, dict) or learning.get("enabled") is not enabled:
        raise ConfigError(
            f"could not set learning.enabled in {path} safely (is `learning` written as an "
            f"inline table or dotted keys?); set `enabled = {str(enabled).lower()}` under "
            "[learning] by hand"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(new, encoding="utf-8")
    if path.is_file():
        os.chmod(partial, path.stat().st_mode & 0o7777)
    os.replace(partial, path)
    return path


def with_enabled(text: str, enabled: bool) -> str:
    """`text` with `enabled` set in its `[learning]` table (added when missing).

    >>> print(with_enabled("# mine\\n[tui]\\nstatus_interval_s = 1\\n", True), end="")
    # mine
    [tui]
    status_interval_s = 1
    <BLANKLINE>
    [learning]
    enabled = true
    """
    value = "true" if enabled else "false"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _TABLE.match(line)), None)
    if start is None:
        body = text.rstrip("\n")
        gap = "\n\n" if body else ""
        return f"{body}{gap}[learning]\nenabled = {value}\n"
    end = next((i for i in range(start + 1, len(lines)) if _ANY_TABLE.match(lines[i])), len(lines))
    for index in range(start + 1, end):
        if match := _ENABLED.match(lines[index]):
            lines[index] = f"{match[1]}enabled = {value}"
            break
    else:
        lines.insert(start + 1, f"enabled = {value}")
    return "\n".join(lines) + "\n"
