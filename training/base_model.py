"""Where the base model comes from: a hub id, a local HF folder, or `embedded`.

`embedded` is the packaged gemma-3-270m Q4_K_M GGUF. transformers loads it dequantized with
`gguf_file=`, but the model stays marked as GGUF-quantized and its tokenizer has no
`tokenizer.model`, which the GGUF converter needs for a SentencePiece vocabulary. So it is
materialized once into a plain HF folder (float32 safetensors, tokenizer files and a
`tokenizer.model` rebuilt from the GGUF's own vocabulary) under the cache, and from then on it is
an ordinary local base like any other.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from takeaways_daemon import locations
from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.model_identity import PACKAGED_BASE_ID

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

EMBEDDED = "embedded"
"""How `model build --base` names the packaged base (the backend that serves it)."""
USER_DEFINED_TOKENS_FILE = "gguf_user_defined_tokens.json"
# Bump when the materialized folder's layout changes, so old caches are rebuilt.
_MATERIALIZE_VERSION = "3"
_USER_DEFINED = 4  # GGUF and SentencePiece both number token types this way


class BaseModelError(TakeawaysError):
    """The base model cannot be found or loaded."""


def resolve_base(spec: str) -> str:
    """The folder or hub id to load for `spec`; `embedded` is materialized on first use."""
    if spec == EMBEDDED:
        return str(materialize_embedded_base())
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise BaseModelError(
                f"{path} is not a Hugging Face model folder (no config.json); pass a folder "
                "saved with save_pretrained, a hub id, or `embedded`"
            )
        return str(path.resolve())
    if spec.count("/") != 1 or spec.startswith((".", "/")):
        raise BaseModelError(
            f"{spec!r} is neither a folder nor a hub id like mistralai/Mistral-7B-v0.1"
        )
    return spec


def base_short_name(spec: str) -> str:
    """A short, file-name-safe name for the base (`270m` for the embedded one)."""
    if spec == EMBEDDED:
        return "270m"
    return Path(spec.rstrip("/")).name.lower().replace(" ", "-") or "model"


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    """The base's tokenizer, with a pad token (the EOS token where the model has none)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except OSError as error:
        raise BaseModelError(f"cannot load the tokenizer of {name_or_path}: {error}") from None
    if tokenizer.eos_token_id is None:
        raise BaseModelError(f"the tokenizer of {name_or_path} has no EOS token; set eos_token")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def materialize_embedded_base(target: Path | None = None) -> Path:
    """The packaged gemma-3-270m as a plain HF folder (built once, then reused)."""
    target = target or locations.cache_dir() / "bases" / f"{PACKAGED_BASE_ID}-hf"
    stamp = target / ".materialized"
    if stamp.is_file() and stamp.read_text() == _MATERIALIZE_VERSION:
        return target
    from takeaways_daemon.backends.model_files import packaged_base_model

    return materialize_gguf_base(packaged_base_model(), target)


def materialize_gguf_base(gguf_path: Path, target: Path) -> Path:
    """Dequantize a GGUF into a standard HF safetensors folder that any later step can load."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
    )
    _forget_gguf_quantization(model)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    write_sentencepiece_model(gguf_path, staging / "tokenizer.model")
    write_user_defined_tokens(gguf_path, staging / USER_DEFINED_TOKENS_FILE)
    (staging / ".materialized").write_text(_MATERIALIZE_VERSION)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def _forget_gguf_quantization(model: Any) -> None:
    """Drop the GGUF-quantized mark: the weights are plain float tensors after dequantizing."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = PACKAGED_BASE_ID


def write_user_defined_tokens(gguf_path: Path, target: Path) -> Path:
    """List the GGUF's user-defined pieces (runs of spaces, tabs…) in a side file.

    SentencePiece's API cannot tell a user-defined piece from a normal one, so the GGUF export
    hands these to the converter as `added_tokens.json`; without them llama.cpp would split four
    spaces into four tokens. (Not named `added_tokens.json` here: transformers would add them
    again as new tokens.)
    """
    import json

    import gguf

    reader = gguf.GGUFReader(str(gguf_path))
    tokens = reader.fields["tokenizer.ggml.tokens"]
    types = reader.fields["tokenizer.ggml.token_type"]
    user_defined = {
        tokens.contents(i): i
        for i in range(len(types.data))
        if int(types.contents(i)) == _USER_DEFINED
    }
    target.write_text(json.dumps(user_defined, ensure_ascii=False, indent=1), encoding="utf-8")
    return target


def write_sentencepiece_model(gguf_path: Path, target: Path) -> Path:
    """Rebuild a SentencePiece `tokenizer.model` from a GGUF's `llama`-style vocabulary."""
    import gguf
    from sentencepiece import sentencepiece_model_pb2 as spm_pb2

    reader = gguf.GGUFReader(str(gguf_path))

    def array(key: str) -> list[Any]:
        field = reader.fields[key]
        return [field.contents(i) for i in range(len(field.data))]

    kind = reader.fields["tokenizer.ggml.model"].contents()
    if kind != "llama":
        raise BaseModelError(
            f"{gguf_path} has a {kind!r} vocabulary; only SentencePiece vocabularies are rebuilt"
        )
    # Generated protobuf modules carry no type stubs: their classes are invisible to mypy.
    proto = spm_pb2.ModelProto()  # type: ignore[attr-defined]
    proto.trainer_spec.model_type = spm_pb2.TrainerSpec.BPE  # type: ignore[attr-defined]
    proto.trainer_spec.byte_fallback = True
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = False
    proto.normalizer_spec.remove_extra_whitespaces = False
    # GGUF token types use SentencePiece's numbering (1 normal … 6 byte).
    for text, score, token_type in zip(
        array("tokenizer.ggml.tokens"),
        array("tokenizer.ggml.scores"),
        array("tokenizer.ggml.token_type"),
        strict=True,
    ):
        piece = proto.pieces.add()
        piece.piece, piece.score, piece.type = text, float(score), int(token_type)
    for key, attribute in (
        ("tokenizer.ggml.unknown_token_id", "unk_id"),
        ("tokenizer.ggml.bos_token_id", "bos_id"),
        ("tokenizer.ggml.eos_token_id", "eos_id"),
        ("tokenizer.ggml.padding_token_id", "pad_id"),
    ):
        if key in reader.fields:
            setattr(proto.trainer_spec, attribute, int(reader.fields[key].contents()))
    target.write_bytes(proto.SerializeToString())
    return target
