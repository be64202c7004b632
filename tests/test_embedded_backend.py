"""The embedded backend on the real packaged GGUF through llama-cpp-python."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from takeaways_daemon import prompt_format
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
from takeaways_daemon.backends.model_files import resolve_embedded_model
from takeaways_daemon.errors import BackendUnavailable
from takeaways_daemon.settings import EmbeddedSettings
from takeaways_daemon.tasks import Task

pytestmark = pytest.mark.model
SOURCE = "import math\n\n\ndef area(r)\n    return math.pi * r ** 2\n"


def fix_task() -> Task:
    return Task(
        kind="fix", path="geometry.py", language="python", file_text=SOURCE,
        shown_start=4, shown_end=5, target_start=4, target_end=5,
        error="line 4, column 12: expected ':'",
    )  # fmt: skip


@pytest.fixture(scope="module")
def backend(base_gguf: Path) -> EmbeddedBackend:
    loaded = EmbeddedBackend(EmbeddedSettings(model_path=base_gguf), num_ctx=2048)
    asyncio.run(loaded.ensure_ready())
    return loaded


def request(prompt: str, **overrides: object) -> GenerationRequest:
    values: dict[str, object] = {"max_tokens": 120, "seed": 3, "stop": prompt_format.STOP_SEQUENCES}
    values.update(overrides)
    return GenerationRequest(prompt=prompt, **values)  # type: ignore[arg-type]


def test_grammar_constrained_answers_always_parse(backend: EmbeddedBackend) -> None:
    """With the answer grammar, every sampled answer has the shared format's sections."""
    task = fix_task()
    grammar = prompt_format.answer_grammar("fix")
    for seed in range(3):
        generation = asyncio.run(
            backend.generate(
                request(task.prompt(few_shot=True), grammar=grammar, seed=seed, max_tokens=200)
            )
        )
        answer = prompt_format.parse_answer(generation.text, "fix")
        assert answer.title and answer.code.strip()
        assert generation.backend == "embedded"


def test_a_generation_counts_the_tokens_it_read_and_wrote(backend: EmbeddedBackend) -> None:
    """Tokens in and out reach the per-suggestion telemetry, as Ollama's counts do."""
    prompt = fix_task().prompt()
    generation = asyncio.run(backend.generate(request(prompt, max_tokens=12, stop=())))
    assert generation.prompt_tokens == len(backend.tokenize(prompt))
    assert generation.completion_tokens == 12  # no stop sequence: it runs to the cap
    short = asyncio.run(backend.generate(request(prompt, max_tokens=3, stop=())))
    assert short.completion_tokens == 3


def test_generation_never_blocks_the_event_loop(backend: EmbeddedBackend) -> None:
    """A ticker keeps running every 10 ms while the model generates on its worker thread."""

    async def scenario() -> float:
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.monotonic()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        await backend.generate(request(fix_task().prompt(), max_tokens=120))
        done.set()
        await tick
        return max(gaps)

    # A loop blocked by the model would stall for the whole generation (several seconds); the
    # bound leaves room for a loaded machine's scheduling.
    assert asyncio.run(scenario()) < 1.0


def test_prefix_cache_skips_most_of_a_repeated_prompts_prefill(backend: EmbeddedBackend) -> None:
    """The same file again starts answering much sooner: the context keeps the shared prefix.

    Best of three on each side, because on a loaded 2-core machine one slice of bad scheduling
    can cost more than the whole warm prefill (the bench measures ~100x; 3x leaves that room).
    """
    prompt = fix_task().prompt(few_shot=True)

    def first_chunk_s(cold: bool) -> float:
        if cold:
            backend._llama.reset()  # type: ignore[union-attr]  # nothing evaluated in the context
        generation = asyncio.run(backend.generate(request(prompt, max_tokens=2)))
        assert generation.first_chunk_s is not None
        return generation.first_chunk_s

    cold = min(first_chunk_s(cold=True) for _ in range(3))
    first_chunk_s(cold=False)  # the context now holds the prompt
    warm = min(first_chunk_s(cold=False) for _ in range(3))
    assert warm < cold / 3, f"warm {warm * 1000:.1f} ms vs cold {cold * 1000:.1f} ms"


def test_an_abandoned_stream_frees_the_model_for_the_next_request(backend: EmbeddedBackend) -> None:
    async def scenario() -> str:
        stream = backend.stream(request(fix_task().prompt(), max_tokens=200))
        async for _ in stream:
            break
        await stream.aclose()
        started = time.monotonic()
        generation = await backend.generate(request("def f():", max_tokens=5))
        assert time.monotonic() - started < 10
        return generation.text

    assert isinstance(asyncio.run(scenario()), str)


def test_a_file_that_is_not_gguf_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model")
    broken = EmbeddedBackend(EmbeddedSettings(model_path=bogus))
    with pytest.raises(BackendUnavailable, match="check it is a GGUF file"):
        asyncio.run(broken.ensure_ready())


def test_missing_model_path_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match=r"backend\.embedded\.model_path"):
        resolve_embedded_model(EmbeddedSettings(model_path=tmp_path / "absent.gguf"))


def test_model_order_prefers_the_built_takeaways_gguf(isolated_home: Path, base_gguf: Path) -> None:
    """Built takeaways GGUF first, else the packaged base (assembled into the cache once)."""
    path, name = resolve_embedded_model(EmbeddedSettings())
    assert name.startswith("gemma-3-270m") and path.is_file()
    assert path.is_relative_to(isolated_home / "cache")
    built = isolated_home / "models" / "takeaways.gguf"
    built.parent.mkdir(parents=True)
    built.symlink_to(base_gguf)
    assert resolve_embedded_model(EmbeddedSettings()) == (built, "takeaways")


def test_prompt_lookup_decoding_copies_a_long_prompt_without_changing_the_answer(
    backend: EmbeddedBackend, base_gguf: Path
) -> None:
    """A drafting backend past the first 512 prompt tokens answers exactly as the plain one."""
    lookup = EmbeddedBackend(
        EmbeddedSettings(model_path=base_gguf, prompt_lookup_tokens=10), num_ctx=1024
    )
    code = "".join(f"def f{n}(x):\n    return x + {n}\n\n" for n in range(40))
    prompt = f"{code}# The same code again:\n{code[:200]}"
    assert len(backend.tokenize(prompt)) > 512  # beyond the score buffer llama.cpp sized first
    greedy = request(prompt, temperature=0.0, max_tokens=48, stop=[])
    drafted = asyncio.run(lookup.generate(greedy)).text
    assert drafted == asyncio.run(backend.generate(greedy)).text
    assert "def f" in drafted  # it did copy from the prompt
