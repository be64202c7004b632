"""Static evidence of bugs: ruff's bug-finding rules on one file's text (style never counts).

Ruff runs as a subprocess on the text through stdin, `--isolated` so that the project's ruff
configuration cannot turn on style rules or turn off these. Ruff only parses the code; nothing of
the project is executed, so it runs outside the sandbox.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from takeaways_daemon.errors import TakeawaysError

BUG_RULES: dict[str, str] = {
    "F821": "undefined name (a misspelt or missing variable, function or import)",
    "F822": "undefined name in __all__",
    "F823": "local variable referenced before assignment",
    "F811": "redefinition of an unused name (the first definition is silently lost)",
    "F632": "`is` / `is not` with a literal (identity, not equality)",
    "F601": "dictionary key repeated with different values",
    "F602": "dictionary key variable repeated with different values",
    "F631": "assert on a non-empty tuple (always true)",
    "F634": "if test on a non-empty tuple (always true)",
    "F701": "`break` outside a loop",
    "F702": "`continue` outside a loop",
    "F704": "`yield` outside a function",
    "F706": "`return` outside a function",
    "F501": "invalid `%` format literal",
    "F502": "`%` format expects a mapping",
    "F503": "`%` format expects a sequence",
    "F505": "unused named arguments in a `%` format",
    "F506": "mixed positional and named `%` placeholders",
    "F507": "`%` format has the wrong number of arguments",
    "F508": "`%` format with `*` specifier needs a sequence",
    "F509": "unsupported `%` format character",
    "F521": "invalid `.format` string",
    "F522": "unused named arguments in `.format`",
    "F523": "unused positional arguments in `.format`",
    "F524": "missing arguments in `.format`",
    "F525": "`.format` mixes automatic and manual numbering",
    "B002": "`++n` (Python has no increment operator)",
    "B006": "mutable default argument (shared between calls)",
    "B012": "`return` / `break` / `continue` in `finally` (swallows the exception)",
    "B015": "comparison whose result is unused (a missing `assert`?)",
    "B020": "loop variable overrides the iterable it iterates",
    "B023": "function defined in a loop uses the loop variable (late binding)",
}
"""The rules that create fix tasks, each with why it is a bug. Left out on purpose: style (E, W,
I, UP, SIM), unused imports and variables (F401, F841: dead code, not wrong behaviour), and B008
(calls in defaults: the FastAPI / Typer `Depends()` idiom makes it mostly false alarms)."""

TIMEOUT_S = 20.0


class DiagnosticsUnavailable(TakeawaysError):
    """Ruff could not be run (missing, or it failed): no diagnostics are available."""


@dataclass(frozen=True)
class Diagnostic:
    """One ruff finding: where it is, its rule code and ruff's message."""

    path: str
    line: int
    col: int
    code: str
    message: str
    snippet: str = field(default="", compare=False)
    """The flagged source text (its first line), e.g. the undefined name itself."""

    def describe(self) -> str:
        """`F821 Undefined name `totl` (line 3)`: the diagnostic in one line."""
        return f"{self.code} {self.message} (line {self.line})"


def parse_ruff_json(text: str, path: str, source: str = "") -> list[Diagnostic]:
    """The bug-rule findings in ruff's `--output-format json` output; anything malformed is dropped.

    `source`, the text ruff checked, gives each finding its snippet.

    >>> [found] = parse_ruff_json('[{"code": "F821", "message": "Undefined name `x`",'
    ...     ' "location": {"row": 2, "column": 9}, "end_location": {"row": 2, "column": 10}}]',
    ...     "a.py", "y = 1\\nz = y + x\\n")
    >>> found.describe(), found.snippet
    ('F821 Undefined name `x` (line 2)', 'x')
    """
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(items, list):
        return []
    lines = source.splitlines()
    found = []
    for item in items:
        if not isinstance(item, dict) or item.get("code") not in BUG_RULES:
            continue
        location, message = item.get("location"), item.get("message")
        if not isinstance(location, dict) or not isinstance(message, str):
            continue
        line, col = location.get("row"), location.get("column")
        if type(line) is not int or type(col) is not int or line < 1:
            continue
        snippet = _snippet(lines, line, col, item.get("end_location"))
        found.append(Diagnostic(path, line, col, str(item["code"]), message, snippet))
    return found


def _snippet(lines: list[str], line: int, col: int, end: object) -> str:
    """The source text from (line, col) to `end` (ruff's 1-based columns), cut at the line's end."""
    if line > len(lines):
        return ""
    text = lines[line - 1]
    stop = len(text)
    if isinstance(end, dict) and end.get("row") == line and type(end.get("column")) is int:
        stop = min(stop, max(col, end["column"]) - 1)
    return text[max(col, 1) - 1 : stop]


def ruff_binary() -> str:
    """The ruff executable: the one installed with the `ruff` package, else ruff on PATH."""
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        pass
    else:
        try:
            return str(find_ruff_bin())
        except FileNotFoundError:
            pass
    beside_us = Path(sys.executable).parent / "ruff"
    found = str(beside_us) if beside_us.is_file() else shutil.which("ruff")
    if found is None:
        raise DiagnosticsUnavailable("ruff is not installed; install it with `pip install ruff`")
    return found


def find_diagnostics(text: str, path: str, *, project_root: Path | None = None) -> list[Diagnostic]:
    """The bug-rule findings for `text`, the contents of `path` (relative to `project_root`)."""
    argv = [
        ruff_binary(), "check", "--isolated", "--no-cache", "--exit-zero",
        "--output-format", "json", "--select", ",".join(BUG_RULES), "--stdin-filename", path, "-",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv, input=text, capture_output=True, text=True, timeout=TIMEOUT_S,
            cwd=project_root, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DiagnosticsUnavailable(f"ruff did not run: {error}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise DiagnosticsUnavailable(f"ruff failed on {path}: {last}")
    return parse_ruff_json(done.stdout, path, text)
