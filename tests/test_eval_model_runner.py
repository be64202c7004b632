"""Model specs resolve to the right runner; a Hugging Face folder decodes through transformers."""

from __future__ import annotations

from pathlib import Path

import pytest

from takeaways_daemon.errors import BackendUnavailable
from training.evaluation.model_runner import Decoding, open_model


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
        free = runner.generate("def add(a, b):\n", Decoding(max_tokens=16))
        assert free == runner.generate("def add(a, b):\n", Decoding(max_tokens=16))  # greedy
        assert free, "the model produced text"
        stop = free[len(free) // 2]
        stopped = runner.generate("def add(a, b):\n", Decoding(max_tokens=16, stop=(stop,)))
        assert stopped == free[: free.index(stop)], "cut before the stop string, as llama.cpp does"
    finally:
        runner.close()
    assert runner.label == tiny_hf_folder.name


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
