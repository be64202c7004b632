"""Specification: the pieces of the GPU recipe that run on the user's side of a lent machine.

The adapter comes back from the device in parts (`scripts/gpu_recipe_run.py` splits it under
the transfer limit) and must be joined byte for byte before `scripts/gpu_adapter_export.py`
merges it; the raw-continuation rows must cut a mined `complete` row where HumanEval's prompts
end (source to the docstring, then the body).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sent_parts_join_back_into_the_adapter_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe_run, export = _script("gpu_recipe_run"), _script("gpu_adapter_export")
    monkeypatch.setattr(recipe_run, "PART_BYTES", 1000)  # 15 MiB parts, scaled down
    adapter, sent = tmp_path / "adapter", tmp_path / "sent"
    adapter.mkdir()
    sent.mkdir()
    weights = bytes(range(256)) * 47  # twelve parts and a bit: part10 sorts before part2 as text
    (adapter / "adapter_model.safetensors").write_bytes(weights)
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 64}))
    (adapter / "README.md").write_text("peft's model card")
    recipe_run.send_adapter(adapter, sent)
    parts = sorted(p.name for p in sent.glob("*.part*"))
    assert len(parts) == 13, parts
    assert all(p.stat().st_size <= recipe_run.PART_BYTES for p in sent.iterdir())
    assert not (sent / "README.md").exists()

    joined = export.join_adapter(sent, tmp_path / "joined")
    assert (joined / "adapter_model.safetensors").read_bytes() == weights
    assert json.loads((joined / "adapter_config.json").read_text()) == {"r": 64}


def test_a_mined_complete_row_becomes_a_humaneval_shaped_continuation() -> None:
    recipe_run = _script("gpu_recipe_run")
    row = {
        "kind": "complete",
        "input": "Complete it.\n```python\n    def area(self, w, h):\n"
        '        """Width times height."""\n        ...\n```',
        "output": "```python\nreturn w * h\n```\nExplanation: multiplies.",
    }
    prompt, body = recipe_run.split_complete(row)
    assert prompt == 'def area(self, w, h):\n    """Width times height."""\n'
    assert body == "    return w * h\n"
    assert recipe_run.split_complete({**row, "input": "no code here"}) is None
