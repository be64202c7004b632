"""Model specs resolve to the right runner; a Hugging Face folder decodes through transformers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.errors import BackendUnavailable
from takeaways_daemon.model_identity import ModelIdentity
from training.evaluation.model_runner import identify_model, open_model

GREEDY = GenerationRequest(prompt="def add(a, b):\n", temperature=0.0, repeat_penalty=1.0,
                           max_tokens=16)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_hf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Hugging Face model folder: a 1-layer GPT-2 with random weights and a BPE tokenizer.

    Nothing can be downloaded here, so the model is made in the test. Its answers are noise;
    what is tested is the runner's loading, greedy decoding and stop handling.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-hf")
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<eos>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    tokenizer.train_from_iterator(["def add(a, b):\n    return a + b\n"] * 10, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<eos>")
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(fast), n_positions=128, n_embd=32, n_layer=1, n_head=2,
                        eos_token_id=fast.eos_token_id, bos_token_id=fast.eos_token_id)  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def test_a_hugging_face_folder_decodes_greedily_and_stops_where_asked(
    tiny_hf_folder: Path,
) -> None:
    runner = open_model(str(tiny_hf_folder))
    try:
        free = runner.generate(GREEDY)
        assert free == runner.generate(GREEDY)  # greedy
        assert free, "the model produced text"
        stop = free[len(free) // 2]
        stopped = runner.generate(replace(GREEDY, stop=(stop,)))
        assert stopped == free[: free.index(stop)], "cut before the stop string, as llama.cpp does"
    finally:
        runner.close()
    assert runner.identity.label == tiny_hf_folder.name


def test_a_missing_gguf_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match=r"no GGUF file at .*check the --model path"):
        open_model(str(tmp_path / "missing.gguf"))


def test_a_folder_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match=r"without config\.json"):
        open_model(str(tmp_path))


def test_any_other_name_is_an_ollama_model_on_the_configured_server() -> None:
    # conftest points Ollama at a closed local port: the real client fails to connect.
    with pytest.raises(BackendUnavailable):
        open_model("qwen2.5-coder:0.5b")


def test_specs_name_models_by_the_daemons_rules(isolated_home: Path, tmp_path: Path) -> None:
    """One identity: the packaged base, the built GGUF and Ollama's `takeaways` are told apart."""
    base = ModelIdentity.packaged_base()
    assert identify_model("base") == base
    assert identify_model(str(tmp_path / "gemma-3-270m-q4_k_m.gguf")) == base
    built = isolated_home / "models" / "takeaways.gguf"
    assert identify_model(str(built)) == ModelIdentity.built()
    assert identify_model(str(built)).is_tuned
    assert identify_model("takeaways:previous").is_tuned
    assert not identify_model("qwen2.5-coder:0.5b").is_tuned
    assert not identify_model(str(tmp_path / "takeaways-copy.gguf")).is_tuned
    # A build's own files, evaluated before installing: tuned, as once installed (no example).
    built_file = identify_model(str(tmp_path / "takeaways-270m.q4_K_M.gguf"))
    assert built_file.is_tuned
    assert ModelIdentity.named(built_file.label).is_tuned, "the engine knows it by its label"
    assert identify_model(str(tmp_path / "takeaways-gemma-3-270m-gpu.f16.gguf")).is_tuned
    assert not identify_model(str(tmp_path / "qwen-270m.q4_K_M.gguf")).is_tuned
