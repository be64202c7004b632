"""Merge the LoRA adapter into full-precision base weights: a standard HF safetensors folder.

The base is loaded in float32 (never the 4-bit copy used for training), the adapter applied
with peft's `merge_and_unload`, and the result saved in the base's own dtype. The folder is
written beside the target and renamed into place, and a run whose inputs match the folder's
stamp returns at once: merging twice is safe and cheap.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from training.base_model import USER_DEFINED_TOKENS_FILE, load_tokenizer
from training.tokenize_examples import chat_template

STAMP = "merge_stamp.json"
# Files the GGUF converter reads from the base that `save_pretrained` does not write.
_CARRIED_FILES = ("tokenizer.model", USER_DEFINED_TOKENS_FILE)


def adapter_fingerprint(adapter_dir: Path) -> str:
    """A hash of the adapter's weights and config: what the merged folder was made from."""
    digest = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        digest.update((adapter_dir / name).read_bytes())
    return digest.hexdigest()[:16]


def merge_adapter(base_path: str, adapter_dir: Path, out_dir: Path) -> Path:
    """Write base + adapter as one plain model to `out_dir` (skipped if already there)."""
    stamp = {"base": base_path, "adapter": adapter_fingerprint(adapter_dir)}
    if (out_dir / STAMP).is_file() and json.loads((out_dir / STAMP).read_text()) == stamp:
        return out_dir
    import torch
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM

    saved_dtype = getattr(AutoConfig.from_pretrained(base_path), "dtype", None) or torch.float32
    if isinstance(saved_dtype, str):
        saved_dtype = getattr(torch, saved_dtype)
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    merged: Any = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged = merged.to(saved_dtype)
    merged.config.use_cache = True

    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    merged.save_pretrained(staging, safe_serialization=True)
    tokenizer = load_tokenizer(base_path)
    # The shared prompt format as the chat template: the converter writes it into the GGUF.
    tokenizer.chat_template = chat_template()
    tokenizer.save_pretrained(staging)
    base_dir = Path(base_path)
    for name in _CARRIED_FILES:
        if (base_dir / name).is_file():
            shutil.copy2(base_dir / name, staging / name)
    (staging / STAMP).write_text(json.dumps(stamp))
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir
