"""`takeaways scan PATH --json`: one-shot suggestions without a daemon, in the stable shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model
SCAN_KEYS = {"id", "kind", "path", "start_line", "end_line", "replacement", "title",
             "explanation", "diff", "verified", "evidence"}  # fmt: skip


def test_scan_reports_a_fix_only_for_files_the_watcher_would_analyse(
    tmp_path: Path, use_base_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAKEAWAYS_SAMPLING__SEED", "7")
    broken = "def add(a, b)\n    return a + b\n"
    (tmp_path / "calc.py").write_text(broken)
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "vendored.py").write_text(broken)
    (tmp_path / "blob.py").write_bytes(b"def f(\0")
    result = subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", "scan", str(tmp_path), "--json",
         "--kind", "fix"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    suggestions = json.loads(result.stdout)["suggestions"]
    assert [item["path"] for item in suggestions] == ["calc.py"]
    fix = suggestions[0]
    assert set(fix) == SCAN_KEYS
    assert fix["kind"] == "fix" and (fix["start_line"], fix["end_line"]) == (1, 2)
    assert "def add(a, b):" in fix["replacement"]
    # The syntax error is its evidence: checked (it parses now), so it is marked verified.
    assert fix["verified"] is True and fix["evidence"].startswith("parses; was: line 1")
    assert (tmp_path / "calc.py").read_text() == broken  # scanning never applies anything
