"""The model pipeline end to end on the CPU, on a tiny random-weight Mistral built from a config.

Real libraries throughout: bitsandbytes NF4 (4-bit QLoRA), peft, transformers, llama.cpp's
converter from PyPI, llama-cpp-python. The tiny model has 2 layers and a 512-piece
SentencePiece vocabulary, so the whole file runs in about a minute on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training_helpers import build_tiny_mistral, tiny_recipe, write_alpaca_jsonl


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Mistral folder with its tokenizer, built once for this file."""
    return build_tiny_mistral(tmp_path_factory.mktemp("tiny") / "base")


def test_qlora_merge_gguf_llama_cpp_and_modelfile(tiny_base: Path, tmp_path: Path) -> None:
    import torch
    from bitsandbytes.nn import Linear4bit
    from llama_cpp import Llama
    from safetensors import safe_open

    from takeaways_daemon.deployment_config import load_deployment_config
    from training.base_model import load_tokenizer
    from training.gguf_export import export_gguf
    from training.merge import merge_adapter
    from training.modelfile import parse_modelfile, render_modelfile
    from training.packing import pack_examples
    from training.qlora import load_for_training
    from training.tokenize_examples import tokenize_rows
    from training.trainer import read_loss_log, setup
    from training.verify import VerificationFailed, verify_export

    recipe = tiny_recipe(tiny_base, quantization="4bit", max_steps=2)
    tokenizer = load_tokenizer(str(tiny_base))
    rows = [json.loads(line) for line in write_alpaca_jsonl(tmp_path / "d.jsonl").open()]
    examples, _ = tokenize_rows(tokenizer, rows, recipe.train.max_seq_len)
    model = load_for_training(str(tiny_base), recipe, torch.device("cpu"))
    assert any(isinstance(m, Linear4bit) for m in model.modules()), "the base is not 4-bit"
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    result = setup(
        model, pack_examples(examples, 256), args=recipe.train, out_dir=tmp_path / "run",
        pad_id=tokenizer.pad_token_id, show_progress=False,
    )  # fmt: skip
    model.save_pretrained(tmp_path / "adapter")

    assert result.steps == 2
    assert [r["step"] for r in read_loss_log(tmp_path / "run" / "loss_log.jsonl")] == [1, 2]
    assert (tmp_path / "run" / "loss_curve.png").read_bytes().startswith(b"\x89PNG")
    after = dict(model.named_parameters())
    assert any(not torch.equal(after[n], weight) for n, weight in before.items()), "nothing moved"

    merged = merge_adapter(str(tiny_base), tmp_path / "adapter", tmp_path / "merged")
    with safe_open(str(merged / "model.safetensors"), "pt") as weights:
        names = list(weights.keys())
    assert "model.layers.0.self_attn.q_proj.weight" in names
    assert not any("lora" in name for name in names)
    stamp_time = (merged / "model.safetensors").stat().st_mtime_ns
    merge_adapter(str(tiny_base), tmp_path / "adapter", tmp_path / "merged")
    assert (merged / "model.safetensors").stat().st_mtime_ns == stamp_time, "merged twice"

    gguf = export_gguf(merged, tmp_path / "gguf", "tiny", quants=("f16",))["f16"]
    code = "def f(x):\n    return x"
    llm = Llama(model_path=str(gguf), n_ctx=256, verbose=False)
    try:
        metadata = llm.metadata
        text = llm.create_completion("def add(a, b):", max_tokens=8, temperature=0.0)
        gguf_ids = llm.tokenize(code.encode(), add_bos=False)
    finally:
        llm.close()
    assert text["usage"]["completion_tokens"] > 0
    assert "### Instruction:" in metadata["tokenizer.chat_template"]
    assert gguf_ids == tokenizer(code, add_special_tokens=False)["input_ids"]

    assert verify_export(merged, gguf).ratio >= 0.95
    stranger = build_tiny_mistral(tmp_path / "other", seed=1)  # same shape, other weights
    wrong = export_gguf(stranger, tmp_path / "other-gguf", "other", quants=("f16",))["f16"]
    with pytest.raises(VerificationFailed, match="not installed"):
        verify_export(merged, wrong)

    modelfile = parse_modelfile(render_modelfile(str(gguf), load_deployment_config()))
    assert modelfile.from_ == str(gguf)
    assert modelfile.parameters["temperature"] == 0.7


def test_cli_build_leaves_merged_folder_gguf_modelfile_and_summary(
    tiny_base: Path, tmp_path: Path, isolated_home: Path
) -> None:
    out = tmp_path / "out"
    data = write_alpaca_jsonl(tmp_path / "train.jsonl", count=8)
    command = [
        sys.executable, "-c", "from takeaways_daemon.cli.main import main; main()",
        "model", "build", "--base", str(tiny_base), "--data", str(data),
        "--max-steps", "2", "--out", str(out), "--no-register",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env=os.environ.copy(), timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1]

    summary = json.loads((out / "summary.json").read_text())
    assert (out / "merged" / "model.safetensors").is_file()
    assert (out / "merged" / "config.json").is_file()
    assert {Path(p).suffix for p in summary["gguf"].values()} == {".gguf"}
    assert all(Path(p).is_file() for p in summary["gguf"].values())
    assert set(summary["gguf"]) == {"f16", "q8_0", "q4_K_M"}
    assert summary["verify"]["prompts"] == 20
    assert summary["verify"]["agreement"] >= 0.95
    assert summary["train"]["steps"] == 2
    assert summary["train"]["quantization"] == "nf4"
    assert summary["dataset"]["examples"] == 8
    assert (out / "Modelfile").read_text().startswith("# The takeaways Modelfile")
    installed = isolated_home / "models" / "takeaways.gguf"
    assert installed.read_bytes() == Path(summary["gguf"]["q4_K_M"]).read_bytes()
    assert "[5/7] verify" in done.stdout

    again = subprocess.run(
        command, capture_output=True, text=True, env=os.environ.copy(), timeout=600, check=False
    )
    assert again.returncode == 0, again.stderr.strip().splitlines()[-1]
    assert again.stdout.count("finished earlier: skipped") == 2
    assert (isolated_home / "models" / "takeaways.previous.gguf").is_file()
