"""A tiny random-weight Mistral with a real SentencePiece tokenizer, for the training tests.

Built from a `MistralConfig` (2 layers) in about a second. The tokenizer is trained with
`sentencepiece` on Python's own `json` package source, so the GGUF converter and llama.cpp
accept it exactly as they would Mistral's.
"""

from __future__ import annotations

import json
from pathlib import Path


def build_tiny_mistral(folder: Path, *, seed: int = 0) -> Path:
    """Save a 2-layer random Mistral and its SentencePiece tokenizer to `folder`."""
    import sentencepiece as spm
    import torch
    from transformers import AutoTokenizer, MistralConfig, MistralForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.txt"
    source = Path(json.__file__).parent
    corpus.write_text("".join(p.read_text() for p in sorted(source.glob("*.py"))))
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(folder / "sp"), vocab_size=512, model_type="bpe",
        byte_fallback=True, character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        remove_extra_whitespaces=False, normalization_rule_name="identity",
        allow_whitespace_only_pieces=True, minloglevel=2,
    )  # fmt: skip
    corpus.unlink()
    (folder / "sp.model").rename(folder / "tokenizer.model")
    (folder / "sp.vocab").unlink()
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>",
                    "eos_token": "</s>", "unk_token": "<unk>"})
    )  # fmt: skip
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = MistralConfig(
        vocab_size=512, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        bos_token_id=1, eos_token_id=2, tie_word_embeddings=False, initializer_range=0.1,
    )  # fmt: skip
    # Saved in float16, like real checkpoints: the f16 GGUF then holds exactly these weights.
    MistralForCausalLM(config).to(torch.float16).save_pretrained(folder)
    return folder


def write_alpaca_jsonl(path: Path, count: int = 12) -> Path:
    """An Alpaca JSONL file of `count` small, distinct code tasks in the answer format."""
    rows = []
    for n in range(count):
        rows.append(
            {
                "instruction": f"Write a function that returns {n} plus its argument.",
                "input": f"def plus_{n}(x):",
                "output": f"Title: Add {n}\n```python\nreturn x + {n}\n```\n"
                f"Explanation: Adds {n} to x.",
            }
        )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def tiny_recipe(base: Path, **overrides: object):
    """A recipe sized for a CI step: short rows, small batches, a log line every step."""
    from training.recipe import Recipe

    settings = {"max_seq_len": 256, "batch_size": 2, "grad_accum": 1, "log_every": 1, "lr": 1e-2}
    settings.update(overrides)
    return Recipe(base=str(base)).with_overrides(**settings)
