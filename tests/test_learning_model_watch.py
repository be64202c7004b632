"""The embedded backend serves a swapped GGUF without a restart: a request in flight finishes on
the old model, the next one is answered by the new one, and none is lost. Two real tiny GGUFs
(random weights, different seeds) and the real llama-cpp-python backend."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from takeaways_daemon import locations
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
from takeaways_daemon.backends.model_watch import ModelWatch, file_identity
from takeaways_daemon.settings import EmbeddedSettings, load_settings
from tests.learning_helpers import export_tiny_gguf
from tests.training_helpers import build_tiny_mistral


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("two")
    first = export_tiny_gguf(build_tiny_mistral(folder / "a", seed=0), folder / "a-gguf")
    second = export_tiny_gguf(build_tiny_mistral(folder / "b", seed=1), folder / "b-gguf")
    return first, second


def _request(tokens: int) -> GenerationRequest:
    return GenerationRequest(prompt="def add(a, b):", max_tokens=tokens, temperature=0.0, seed=0)


async def _answer(backend: EmbeddedBackend, tokens: int) -> str:
    return (await backend.generate(_request(tokens))).text


def _pinned_answer(gguf: Path, tokens: int) -> str:
    backend = EmbeddedBackend(EmbeddedSettings(), num_ctx=256, model_path=gguf)

    async def run() -> str:
        try:
            return await _answer(backend, tokens)
        finally:
            await backend.close()

    return asyncio.run(run())


def test_a_swap_during_a_request_reloads_before_the_next_one(two_models: tuple[Path, Path]):
    first, second = two_models
    expected_old, expected_new = _pinned_answer(first, 200), _pinned_answer(second, 8)
    assert expected_old[:8] != expected_new[:8] or expected_old != expected_new
    served = locations.built_model_path()
    served.parent.mkdir(parents=True)
    shutil.copyfile(first, served)
    backend = EmbeddedBackend(load_settings().backend.embedded, num_ctx=256)

    async def scenario() -> tuple[str, str]:
        await backend.ensure_ready()
        in_flight = asyncio.create_task(_answer(backend, 200))
        await asyncio.sleep(0.02)
        assert not in_flight.done(), "the long request should still be generating"
        partial = served.with_name("takeaways.gguf.partial")
        shutil.copyfile(second, partial)
        os.replace(partial, served)
        after = await _answer(backend, 8)
        return await in_flight, after

    try:
        old_answer, new_answer = asyncio.run(scenario())
    finally:
        asyncio.run(backend.close())

    assert old_answer == expected_old, "the request in flight was cut or switched mid-way"
    assert new_answer == expected_new, "the next request was not served by the new GGUF"


def test_the_watch_sees_a_replaced_file_and_ignores_an_untouched_one(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF one")
    watch = ModelWatch(EmbeddedSettings(), model)
    assert not watch.replaced(), "nothing loaded yet"
    watch.loaded(model, file_identity(model))
    assert not watch.replaced()
    replacement = tmp_path / "new.gguf"
    replacement.write_bytes(b"GGUF two")
    os.replace(replacement, model)
    assert watch.replaced()
    model.unlink()
    assert not watch.replaced(), "a vanished file keeps the loaded model serving"
