"""The embedded backend: a GGUF served in-process by llama-cpp-python.

llama.cpp calls block for seconds, so they run on one worker thread and hand chunks to the
event loop; the loop never waits on the model. A RAM cache of prompt states lets a prompt that
shares a prefix with an earlier one (the same file again) skip most of its prefill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from takeaways_daemon.backends.base import Backend, Generation, GenerationRequest
from takeaways_daemon.backends.model_files import resolve_embedded_model
from takeaways_daemon.backends.model_watch import ModelWatch, file_identity
from takeaways_daemon.errors import BackendStalled, BackendUnavailable, PromptTooLong
from takeaways_daemon.settings import EmbeddedSettings, Settings

if TYPE_CHECKING:
    from takeaways_daemon.backends.grammar_sampling import LazyGrammarLlama
    from takeaways_daemon.backends.parallel_sequences import ParallelSequences, Sample

_DONE = object()


@dataclass
class _Usage:
    """Tokens one generation read and wrote, counted on the worker thread."""

    prompt: int | None = None
    completion: int = 0


class EmbeddedBackend(Backend):
    """llama-cpp-python on a local GGUF file."""

    name = "embedded"
    Options = EmbeddedSettings

    def __init__(
        self, settings: EmbeddedSettings, *, num_ctx: int = 4096, model_path: Path | None = None
    ) -> None:
        self.settings = settings
        self.num_ctx = num_ctx
        self._model_path = model_path
        self.model = model_path.stem if model_path else "(not loaded)"
        self._llama: LazyGrammarLlama | None = None
        self._parallel: ParallelSequences | None = None
        """The batch context for `generate_many`, made on first use for the loaded model."""
        # One llama.cpp context serves one generation at a time.
        self._lock = threading.Lock()
        self._load_lock = asyncio.Lock()
        self.load_seconds: float | None = None
        self._watch = ModelWatch(settings, model_path)

    @classmethod
    def create(cls, options: EmbeddedSettings, settings: Settings) -> Self:
        """The backend for `[backend.embedded]`, with the context window sampling asks for."""
        return cls(options, num_ctx=settings.sampling.num_ctx)

    @property
    def model_path(self) -> Path | None:
        """The GGUF being served, once resolved."""
        return self._model_path

    async def ensure_ready(self) -> None:
        """Load the model on first use (in a thread, since it takes a while)."""
        async with self._load_lock:
            if self._llama is None or self._watch.replaced():  # a swapped GGUF: reload
                await asyncio.to_thread(self._load)

    def _load(self) -> None:
        try:
            from llama_cpp import LlamaRAMCache

            from takeaways_daemon.backends.grammar_sampling import LazyGrammarLlama
        except ImportError as error:
            raise BackendUnavailable(
                f"llama-cpp-python is not importable ({error}); reinstall with `make setup`"
            ) from None
        if self._model_path is None or not self._watch.pinned:
            self._model_path, self.model = resolve_embedded_model(self.settings)
        identity = file_identity(self._model_path)
        started = time.monotonic()
        draft: dict[str, Any] = {}
        if self.settings.prompt_lookup_tokens:
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

            lookup = LlamaPromptLookupDecoding(num_pred_tokens=self.settings.prompt_lookup_tokens)
            draft["draft_model"] = lookup
            # llama-cpp-python 0.3.36 turns on logits for every position when it has a draft
            # model, but sizes its score buffer from this argument: left False, a draft that runs
            # past the first n_batch rows fails with "could not broadcast input array".
            draft["logits_all"] = True
        try:
            llama = LazyGrammarLlama(
                model_path=str(self._model_path),
                n_ctx=self.num_ctx,
                n_threads=self.settings.n_threads or os.cpu_count() or 2,
                verbose=False,
                **draft,
            )
        except (ValueError, RuntimeError, OSError) as error:
            if self._llama is not None:  # a bad replacement: keep serving the loaded model
                self._watch.loaded(self._model_path, identity)
                return
            raise BackendUnavailable(
                f"could not load {self._model_path} ({error}); check it is a GGUF file"
            ) from None
        if self.settings.prompt_cache_mb:
            llama.set_cache(LlamaRAMCache(capacity_bytes=self.settings.prompt_cache_mb << 20))
        with self._lock:  # waits for the generation in flight: a reload loses no request
            previous, self._llama = self._llama, llama
            parallel, self._parallel = self._parallel, None
        self._watch.loaded(self._model_path, identity)
        if parallel is not None:
            parallel.close()
        if previous is not None:
            previous.close()
        self.load_seconds = time.monotonic() - started

    def _run(
        self,
        request: GenerationRequest,
        emit: Any,
        cancelled: threading.Event,
        usage: _Usage,
    ) -> None:
        assert self._llama is not None
        with self._lock:
            try:
                # Measured as llama.cpp will (it raises a bare ValueError when over): too long is
                # the request's fault, told apart from a failing backend.
                prompt_tokens = usage.prompt = len(self.tokenize(request.prompt))
                if prompt_tokens >= self._llama.n_ctx():
                    emit(
                        prompt_too_long(prompt_tokens, self._llama.n_ctx())
                    )
                    return
                # stream=True makes this an iterator of chunk dicts (typed as a union).
                chunks: Iterator[Any] = self._llama.create_completion(  # type: ignore[assignment]
                    request.prompt, stream=True, **completion_args(request)
                )
                for chunk in chunks:
                    if cancelled.is_set():
                        break
                    choice = chunk["choices"][0]
                    # One chunk per token, then a closing one that carries only finish_reason.
                    usage.completion += choice.get("finish_reason") is None
                    text = choice["text"]
                    if text:
                        emit(text)
                emit(_DONE)
            except Exception as error:  # reported to the awaiting coroutine, not lost in a thread
                emit(error)

    async def generate(self, request: GenerationRequest) -> Generation:
        """A whole answer with its token counts (llama.cpp streams one token per chunk)."""
        usage = _Usage()
        result = await self._collect(self._stream(request, usage))
        result.prompt_tokens, result.completion_tokens = usage.prompt, usage.completion
        return result

    def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Generate on the worker thread, yielding chunks as they come."""
        return self._stream(request, _Usage())

    async def _stream(self, request: GenerationRequest, usage: _Usage) -> AsyncIterator[str]:
        await self.ensure_ready()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        worker = loop.run_in_executor(None, self._run, request, emit, cancelled, usage)
        deadline = loop.time() + self.settings.generation_timeout_s
        try:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        item = await queue.get()
                except TimeoutError:
                    raise BackendStalled(
                        f"the embedded model took over {self.settings.generation_timeout_s:.0f} s"
                    ) from None
                if item is _DONE:
                    break
                if isinstance(item, PromptTooLong):
                    raise item
                if isinstance(item, Exception):
                    raise BackendUnavailable(f"the embedded model failed: {item}") from None
                assert isinstance(item, str)
                yield item
        finally:
            # Stop the thread at its next token, whether we finished, failed or were cancelled.
            cancelled.set()
            with contextlib.suppress(Exception):
                await asyncio.shield(worker)

    async def generate_many(
        self, request: GenerationRequest, n: int, *, greedy_first: bool = False
    ) -> list[Generation]:
        """`n` answers decoded together as parallel sequences of one batch (`parallel_sequences`
        at a time). A grammar-constrained request is asked n times in turn: the batch samplers
        have no lazy grammar check (`grammar_sampling`), and a full one per token costs more
        than the batch saves."""
        width = self.settings.parallel_sequences
        if n == 1 or width == 1 or request.grammar or request.json_schema:
            return await super().generate_many(request, n, greedy_first=greedy_first)
        await self.ensure_ready()
        cancelled = threading.Event()
        answers: list[Generation] = []
        try:
            for first in range(0, n, width):
                count = min(width, n - first)
                started = time.monotonic()
                async with asyncio.timeout(self.settings.generation_timeout_s):
                    samples, prompt_tokens = await asyncio.to_thread(
                        self._sample_parallel, request, count, first, greedy_first, cancelled
                    )
                total = time.monotonic() - started
                answers.extend(
                    Generation(
                        text=sample.text,
                        backend=self.name,
                        model=self.model,
                        started_at=started,
                        total_s=total,
                        prompt_tokens=prompt_tokens,
                        completion_tokens=len(sample.tokens),
                    )
                    for sample in samples
                )
        except TimeoutError:
            raise BackendStalled(
                f"the embedded model took over {self.settings.generation_timeout_s:.0f} s"
            ) from None
        except (RuntimeError, ValueError, OSError) as error:  # llama.cpp's, as `_run` reports
            raise BackendUnavailable(f"the embedded model failed: {error}") from None
        finally:
            cancelled.set()  # a worker still decoding stops at its next step
        return answers

    def _sample_parallel(
        self,
        request: GenerationRequest,
        count: int,
        first: int,
        greedy_first: bool,
        cancelled: threading.Event,
    ) -> tuple[list[Sample], int]:
        from takeaways_daemon.backends.parallel_sequences import (
            ParallelSequences,
            SequenceSampling,
        )

        assert self._llama is not None
        with self._lock:
            if self._parallel is None:
                self._parallel = ParallelSequences(
                    self._llama, self.settings.parallel_sequences, self.num_ctx
                )
            prompt_tokens = len(self.tokenize(request.prompt))
            if prompt_tokens + request.max_tokens >= self.num_ctx:
                raise prompt_too_long(prompt_tokens, self.num_ctx)
            sampling = SequenceSampling(
                temperature=request.temperature,
                top_p=request.top_p,
                repeat_penalty=request.repeat_penalty,
                seed=(request.seed if request.seed is not None else int(time.time())) + first,
                greedy_first=greedy_first and first == 0,
            )
            samples = self._parallel.sample(
                request.prompt, count, sampling, max_tokens=request.max_tokens,
                stop=request.stop, cancelled=cancelled,
            )  # fmt: skip
            return samples, prompt_tokens

    def drop_reused_prefix(self) -> None:
        """Make the next prompt prefill from its first token instead of reusing the previous
        prompt's prefix (benchmarks compare answers with and without that reuse)."""
        assert self._llama is not None
        with self._lock:
            self._llama.reset()

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text` for the loaded model (used by benchmarks)."""
        assert self._llama is not None
        return self._llama.tokenize(text.encode("utf-8"), special=True)

    def describe(self) -> dict[str, Any]:
        """Backend, model name and GGUF path."""
        return {"backend": self.name, "model": self.model, "model_path": str(self._model_path)}


def prompt_too_long(prompt_tokens: int, context: int) -> PromptTooLong:
    """The request's fault, told apart from a failing backend, with the setting that fixes it."""
    return PromptTooLong(
        f"the prompt is {prompt_tokens} tokens but the model's context holds {context} "
        "(sampling.num_ctx): shorten the prompt"
    )


def completion_args(request: GenerationRequest) -> dict[str, Any]:
    """llama-cpp-python's `create_completion` arguments for a request (benchmarks share them)."""
    from llama_cpp import LlamaGrammar

    args: dict[str, Any] = {
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "repeat_penalty": request.repeat_penalty,
        "stop": list(request.stop),
        "seed": request.seed,
    }
    if request.grammar is not None:
        args["grammar"] = LlamaGrammar.from_string(request.grammar, verbose=False)
    elif request.json_schema is not None:
        args["grammar"] = LlamaGrammar.from_json_schema(
            json.dumps(request.json_schema), verbose=False
        )
    return args
