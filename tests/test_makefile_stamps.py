"""`make run` after `make test` does not set up again: the Makefile's stamps, with the real
Makefile and `make`, and a set-up script that only records that it ran."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RECORDING_SETUP = """#!/bin/sh
echo "$*" >> setup-runs
EXTRAS=${1:-}
touch ".venv/.installed${EXTRAS:+-$(echo "$EXTRAS" | tr , -)}"
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_dev_set_up_counts_as_the_app_set_up_until_its_inputs_change(tmp_path: Path) -> None:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "scripts").mkdir()
    setup = tmp_path / "scripts" / "setup.sh"
    setup.write_text(RECORDING_SETUP)
    setup.chmod(0o755)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / ".venv").mkdir()
    past = time.time() - 60
    for path in (setup, tmp_path / "pyproject.toml"):
        os.utime(path, (past, past))

    def make(target: str) -> None:
        subprocess.run(["make", "-s", target], cwd=tmp_path, check=True, capture_output=True)

    make("setup-dev")  # `make test`'s set-up
    make("setup")  # `make run`'s
    make("setup")
    assert (tmp_path / "setup-runs").read_text().splitlines() == ["test,training,eval"]
    (tmp_path / "pyproject.toml").write_text("# changed\n")  # newer than every stamp
    make("setup")
    assert (tmp_path / "setup-runs").read_text().splitlines()[-1] == ""
