"""kill -9 at every stage of a round leaves the served model whole and serving, and the next
round starts clean. Each round runs as a real `takeaways learn now` process, killed with SIGKILL
the moment it announces the stage on stderr; the tiny random-weight model keeps it short."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from takeaways_daemon import locations
from takeaways_daemon.learning_paths import learning_state_file, round_work_dir, versions_dir
from takeaways_daemon.settings import load_settings
from tests.learning_helpers import (
    accepted_fix,
    export_tiny_gguf,
    record_in_history,
    tiny_round_settings,
)
from tests.training_helpers import build_tiny_mistral
from training.learning.round import STAGE_MARKER, STAGES, run_round
from training.learning.versions import file_sha256, list_versions

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tiny")
    base = build_tiny_mistral(folder / "base")
    return base, export_tiny_gguf(base, folder / "gguf")


@pytest.fixture
def served(tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base, gguf = tiny
    tiny_round_settings(monkeypatch, base, tmp_path)
    target = locations.built_model_path()
    target.parent.mkdir(parents=True)
    shutil.copyfile(gguf, target)
    project = tmp_path / "project"
    project.mkdir()
    record_in_history(*[accepted_fix(project, n) for n in range(6)])
    return target


def _round_killed_at(stage: str) -> str:
    """Run `takeaways learn now` and SIGKILL it as `stage` starts; returns its stderr."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable,
        "-c",
        "from training.learning.commands import learn_group; learn_group(['now'])",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith(f"{STAGE_MARKER}{stage} "):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(seen[-5:])
    return "".join(seen)


def _serves(gguf: Path) -> bool:
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), n_ctx=128, verbose=False)
    try:
        return bool(llm.create_completion("def f(", max_tokens=2, temperature=0.0)["choices"])
    finally:
        llm.close()


@pytest.mark.parametrize("stage", STAGES)
def test_a_round_killed_at_a_stage_leaves_the_served_model_whole(served: Path, stage: str) -> None:
    before = file_sha256(served)

    _round_killed_at(stage)

    kept = {version.sha256 for version in list_versions()}
    assert file_sha256(served) in {before} | kept, "the served GGUF is not a whole model"
    assert _serves(served)
    if stage != "swap":
        assert file_sha256(served) == before
        assert not learning_state_file().exists(), "a killed round advanced the cursor"

    result = run_round(load_settings(), say=lambda line: None) if stage == "swap" else None
    if result is not None:  # the next round starts clean: no leftovers, and it completes
        assert result.decision in {"installed", "rejected"}
        assert not round_work_dir().exists()
        assert not list(versions_dir().glob("*.partial"))
        assert _serves(served)
