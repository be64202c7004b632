"""The lazy grammar sampler on the real GGUF: same greedy answers, never outside the grammar."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from llama_cpp import Llama, LlamaGrammar

from takeaways_daemon.answer_grammars import grammar_for
from takeaways_daemon.backends.embedded_backend import EmbeddedBackend, completion_args
from takeaways_daemon.backends.grammar_sampling import LazyGrammarLlama, LazyGrammarSampler
from takeaways_daemon.settings import EmbeddedSettings, Settings
from takeaways_daemon.task_decoding import task_request
from takeaways_daemon.tasks import Task

pytestmark = pytest.mark.model

BROKEN = "def total(prices)\n    return sum(prices)\n"
# The model would continue this prompt with words; the grammar allows only a number.
DIGITS_ONLY = 'root ::= [0-9]+ "."'
CHATTY_PROMPT = "Tell me a story about a dragon who lives in a castle.\n"


def fix_task() -> Task:
    return Task(
        kind="fix", path="shop.py", language="python", file_text=BROKEN,
        shown_start=1, shown_end=2, target_start=1, target_end=2,
        error="line 1, column 18: expected ':'",
    )  # fmt: skip


@pytest.fixture(scope="module")
def models(base_gguf: Path) -> Iterator[dict[str, Llama]]:
    loaded = {
        "eager": Llama(str(base_gguf), n_ctx=2048, n_threads=2, verbose=False),
        "lazy": LazyGrammarLlama(str(base_gguf), n_ctx=2048, n_threads=2, verbose=False),
    }
    yield loaded
    for model in loaded.values():
        model.close()


def answer(model: Llama, prompt: str, **args: object) -> str:
    model.reset()
    result = model.create_completion(prompt, **args)  # type: ignore[arg-type]
    assert isinstance(result, dict)
    return str(result["choices"][0]["text"])


def test_greedy_fix_answers_match_llama_cpp_python(models: dict[str, Llama]) -> None:
    """The daemon's own greedy fix request gives the same text with either sampler."""
    request = task_request(fix_task(), Settings().sampling.model_copy(update={"temperature": 0.0}),
                           few_shot=True)  # fmt: skip
    assert request.grammar == grammar_for(fix_task())
    args = completion_args(request) | {"max_tokens": 80}
    assert answer(models["lazy"], request.prompt, **args) == answer(
        models["eager"], request.prompt, **args
    )


def test_a_rejected_pick_falls_back_to_the_whole_grammar(models: dict[str, Llama]) -> None:
    """Where the model's own choice breaks the grammar, the answer still keeps to it."""
    lazy = models["lazy"]
    grammar = LlamaGrammar.from_string(DIGITS_ONLY, verbose=False)
    text = answer(lazy, CHATTY_PROMPT, grammar=grammar, temperature=0.0, max_tokens=12)
    sampler = lazy._sampler
    assert isinstance(sampler, LazyGrammarSampler)
    assert sampler.rejected_picks >= 1  # the model wanted words, not digits
    assert re.fullmatch(r"[0-9]+\.?", text), text
    eager_grammar = LlamaGrammar.from_string(DIGITS_ONLY, verbose=False)
    eager = answer(models["eager"], CHATTY_PROMPT, grammar=eager_grammar, temperature=0.0,
                   max_tokens=12)  # fmt: skip
    assert text == eager


def test_sampled_answers_stay_in_the_grammar(models: dict[str, Llama]) -> None:
    """With temperature, top-k and top-p, every seed's answer keeps to the grammar."""
    for seed in range(4):
        grammar = LlamaGrammar.from_string('root ::= ("yes" | "no") " because " [a-z ]+ "."',
                                           verbose=False)  # fmt: skip
        text = answer(models["lazy"], CHATTY_PROMPT, grammar=grammar, temperature=0.9,
                      seed=seed, max_tokens=24)  # fmt: skip
        assert re.fullmatch(r"(yes|no) because [a-z ]*\.?", text), text


def test_the_embedded_backend_samples_grammars_lazily(base_gguf: Path) -> None:
    """The daemon's backend loads the lazy sampler, so grammar answers cost a free answer's time."""
    backend = EmbeddedBackend(EmbeddedSettings(model_path=base_gguf), num_ctx=1024)
    request = task_request(fix_task(), Settings().sampling, few_shot=False)
    generation = asyncio.run(backend.generate(replace(request, max_tokens=16)))
    assert generation.text
    assert isinstance(backend._llama, LazyGrammarLlama)
    assert isinstance(backend._llama._sampler, LazyGrammarSampler)
