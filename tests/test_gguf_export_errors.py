"""Specification: a GGUF conversion that fails says why, in terms of the base model.

A tiny random Mistral with a BPE tokenizer trained here (whitespace pre-tokenizer), which the
real llama.cpp converter does not know, is converted with the real converter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.gguf_export import ExportError, convert_hf_to_gguf


def build_mistral_with_an_unknown_tokenizer(folder: Path) -> Path:
    """A 1-layer random Mistral whose fast BPE tokenizer llama.cpp has never seen."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import MistralConfig, MistralForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"])
    source = Path(json.__file__).parent
    tokenizer.train_from_iterator([p.read_text() for p in sorted(source.glob("*.py"))], trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    fast.save_pretrained(folder)
    config = MistralConfig(
        vocab_size=fast.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128,
        bos_token_id=1, eos_token_id=2,
    )  # fmt: skip
    MistralForCausalLM(config).to(torch.float16).save_pretrained(folder)
    return folder


def test_an_unknown_tokenizer_is_named_as_the_cause(tmp_path: Path) -> None:
    base = build_mistral_with_an_unknown_tokenizer(tmp_path / "base")
    target = tmp_path / "out.f16.gguf"
    with pytest.raises(ExportError) as raised:
        convert_hf_to_gguf(base, target, "f16")
    message = str(raised.value)
    assert "tokenizer" in message and "does not know" in message
    assert "choose a base model that llama.cpp supports" in message
    assert "pip install" not in message  # reinstalling the converter is not the fix
    assert not target.exists() and not target.with_name(target.name + ".partial").exists()
