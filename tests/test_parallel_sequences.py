"""Several samples of one prompt decoded as parallel sequences, on the real packaged GGUF."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from takeaways_daemon import prompt_format
from takeaways_daemon.answer_grammars import grammar_for
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
from takeaways_daemon.backends.parallel_sequences import ParallelSequences, SequenceSampling
from takeaways_daemon.errors import BackendUnavailable, PromptTooLong
from takeaways_daemon.settings import EmbeddedSettings
from tests.test_embedded_backend import fix_task

pytestmark = pytest.mark.model
LINE_PROMPT = prompt_format.render_line_prompt(
    path="cart.py",
    evidence="F821 Undefined name `prics` (line 4)",
    code_before='def total(prices):\n    """The sum of all prices."""\n    result = 0',
    indent="    ",
)


@pytest.fixture(scope="module")
def backend(base_gguf: Path) -> EmbeddedBackend:
    loaded = EmbeddedBackend(
        EmbeddedSettings(model_path=base_gguf, parallel_sequences=4), num_ctx=1024
    )
    asyncio.run(loaded.ensure_ready())
    return loaded


def line_request(**overrides: object) -> GenerationRequest:
    values: dict[str, object] = {
        "max_tokens": 24, "seed": 11, "temperature": 1.0, "top_p": 0.95, "repeat_penalty": 1.0,
        "stop": (prompt_format.LINE_STOP,),
    }  # fmt: skip
    values.update(overrides)
    return GenerationRequest(prompt=LINE_PROMPT, **values)  # type: ignore[arg-type]


def test_the_greedy_sequence_of_a_batch_is_the_plain_greedy_answer(
    backend: EmbeddedBackend,
) -> None:
    """Sequence 0 decodes alongside the others yet picks the same tokens as a lone greedy call."""
    # Prefilled from scratch, as the batch is: a reused prefix sums in other batch shapes, which
    # can flip a near tie (bench/parallel_candidates.py counts how often).
    backend.drop_reused_prefix()
    [alone] = asyncio.run(backend.generate_many(line_request(temperature=0.0), 1))
    batch = asyncio.run(backend.generate_many(line_request(), 4, greedy_first=True))
    assert alone.text.strip()
    assert batch[0].text == alone.text
    assert len(batch) == 4


def test_samples_differ_stop_at_their_line_and_respect_the_token_cap(
    backend: EmbeddedBackend,
) -> None:
    # Six samples: wider than the batch (4), so they come in two rounds with different seeds.
    answers = asyncio.run(backend.generate_many(line_request(), 6))
    assert len(answers) == 6
    assert len({answer.text for answer in answers}) >= 2
    for answer in answers:
        assert "\n" not in answer.text
        assert answer.completion_tokens is not None and answer.completion_tokens <= 24
        assert answer.backend == "embedded"


def test_the_same_seed_gives_the_same_samples(backend: EmbeddedBackend) -> None:
    first = asyncio.run(backend.generate_many(line_request(), 3))
    again = asyncio.run(backend.generate_many(line_request(), 3))
    assert [a.text for a in first] == [a.text for a in again]


def test_a_grammar_request_is_asked_in_turn_and_keeps_its_format(
    backend: EmbeddedBackend,
) -> None:
    """The batch samplers have no lazy grammar: a constrained request falls back, still valid."""
    task = fix_task()
    request = GenerationRequest(
        prompt=task.prompt(), max_tokens=96, seed=5, temperature=0.7,
        stop=prompt_format.STOP_SEQUENCES, grammar=grammar_for(task),
    )  # fmt: skip
    for answer in asyncio.run(backend.generate_many(request, 2)):
        prompt_format.parse_answer(answer.text, "fix")  # raises if a section is missing


def test_a_prompt_too_long_for_the_batch_context_is_the_requests_fault(
    backend: EmbeddedBackend,
) -> None:
    long = line_request(max_tokens=24)
    long = GenerationRequest(**{**vars(long), "prompt": "x = 1\n" * 600})
    with pytest.raises(PromptTooLong, match=r"sampling\.num_ctx"):
        asyncio.run(backend.generate_many(long, 2))


def test_more_sequences_than_the_context_holds_is_refused(base_gguf: Path) -> None:
    from llama_cpp import Llama

    llama = Llama(model_path=str(base_gguf), n_ctx=512, n_threads=2, verbose=False)
    parallel = ParallelSequences(llama, 2, 512)
    try:
        with pytest.raises(ValueError, match=r"n must be 1\.\.2"):
            parallel.sample("x", 3, SequenceSampling(), max_tokens=4)
        greedy = SequenceSampling(temperature=0)
        [one] = parallel.sample("def add(a, b):\n", 1, greedy, max_tokens=8)
        assert one.tokens and len(one.tokens) <= 8
    finally:
        parallel.close()
        llama.close()


def test_a_failing_batch_decode_is_a_backend_failure(
    backend: EmbeddedBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like a failing stream: the supervisor marks the backend down instead of the engine dying."""

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("llama_decode failed with status 1 (out of KV cells?)")

    monkeypatch.setattr(ParallelSequences, "sample", fail)
    with pytest.raises(BackendUnavailable, match="out of KV cells"):
        asyncio.run(backend.generate_many(line_request(), 3))
