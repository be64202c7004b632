"""Bad input to `takeaways model build` gets one readable line that names the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from training.base_model import BaseModelError, resolve_base


def _takeaways(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from takeaways_daemon.cli.main import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_a_folder_without_a_model_is_refused(tmp_path: Path):
    with pytest.raises(BaseModelError, match=r"no config\.json"):
        resolve_base(str(tmp_path))


def test_a_base_that_is_neither_folder_nor_hub_id_is_refused():
    with pytest.raises(BaseModelError, match="neither a folder nor a hub id"):
        resolve_base("./no/such/model")


def test_a_missing_data_file_is_one_line_naming_the_option(tmp_path: Path):
    done = _takeaways(
        "model", "build", "--base", "embedded", "--data", str(tmp_path / "nope.jsonl"),
        "--out", str(tmp_path / "out"), "--no-register",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"takeaways: no data file {tmp_path / 'nope.jsonl'}; pass an Alpaca JSONL with --data"
    )


def test_an_unknown_recipe_lists_the_known_ones(tmp_path: Path):
    done = _takeaways("model", "build", "--recipe", "llama-99b", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "gemma-3-270m, gemma-3-270m-gpu, mistral-7b" in done.stderr
