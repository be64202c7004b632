"""Several samples of one prompt decoded together, as parallel sequences of one llama.cpp batch.

llama-cpp-python's `Llama` decodes one sequence at a time, so n samples cost n prompt prefills and
n token loops. llama.cpp itself can decode many sequences in one pass: the prompt is evaluated
once as sequence 0, copied to sequences 1…n-1 (the KV cells are shared, not duplicated), and each
step then feeds one token per live sequence in a single `llama_decode`. On a CPU the weights are
read once per step for all of them, which is where a small model spends its time.

Each sequence has its own sampler chain (its own seed; the first may be greedy), so the samples
differ as n separate calls with seeds `seed + i` would, though not token for token: the batch's
logits differ from a lone sequence's in the last bits.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import llama_cpp

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp._internals import LlamaContext


@dataclass(frozen=True)
class SequenceSampling:
    """How each sequence of a batch is sampled."""

    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 40
    """llama-cpp-python's default: it also spares top-p a sort of gemma's 262,144 pieces."""
    repeat_penalty: float = 1.0
    seed: int = 0
    greedy_first: bool = False
    """Sequence 0 takes the most likely token at every step (the best single guess)."""


@dataclass
class Sample:
    """One sequence's answer."""

    text: str = ""
    tokens: list[int] = field(default_factory=list)
    finished: bool = False


class ParallelSequences:
    """A llama.cpp context for up to `width` sequences, beside a loaded `Llama`'s own context.

    It shares the `Llama`'s weights; only its KV cache is new. Not thread-safe: the embedded
    backend calls it under its generation lock.
    """

    def __init__(self, llama: Llama, width: int, n_ctx: int) -> None:
        from llama_cpp._internals import LlamaContext

        self.llama = llama
        self.width = width
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = min(512, n_ctx)
        params.n_seq_max = width
        # One pool of cells for all sequences: the shared prompt is stored once, and each
        # sequence may grow as far as the pool allows.
        params.kv_unified = True
        params.n_threads = params.n_threads_batch = llama.n_threads
        self.context: LlamaContext = LlamaContext(model=llama._model, params=params, verbose=False)
        self.vocab = llama_cpp.llama_model_get_vocab(llama._model.model)
        self._batch = llama_cpp.llama_batch_init(params.n_batch, 0, width)

    def close(self) -> None:
        """Free the batch and the context (the model stays with its `Llama`)."""
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None  # type: ignore[assignment]
        self.context.close()

    def sample(
        self,
        prompt: str,
        n: int,
        sampling: SequenceSampling,
        *,
        max_tokens: int,
        stop: tuple[str, ...] = (),
        cancelled: threading.Event | None = None,
    ) -> list[Sample]:
        """`n` (≤ `width`) answers to `prompt`, each ended by a stop string, EOS or `max_tokens`.

        `cancelled` ends the loop early (what is decoded so far returns).
        """
        if not 1 <= n <= self.width:
            raise ValueError(f"n must be 1..{self.width}, not {n}")
        tokens = self.llama.tokenize(prompt.encode("utf-8"), special=True)
        if len(tokens) + max_tokens > self.context.n_ctx():
            raise ValueError(
                f"the prompt is {len(tokens)} tokens and {max_tokens} more may follow, but the "
                f"parallel context holds {self.context.n_ctx()}"
            )
        llama_cpp.llama_memory_clear(self.context.memory, True)
        last_index = self._prefill(tokens)
        for sequence in range(1, n):
            llama_cpp.llama_memory_seq_cp(self.context.memory, 0, sequence, -1, -1)
        samplers = [self._sampler(sampling, sequence) for sequence in range(n)]
        samples = [Sample() for _ in range(n)]
        pending = {sequence: last_index for sequence in range(n)}  # batch row of its logits
        position = len(tokens)
        try:
            for _ in range(max_tokens):
                if cancelled is not None and cancelled.is_set():
                    break
                chosen = {}
                for sequence, row in pending.items():
                    sampler = samplers[sequence]
                    token = llama_cpp.llama_sampler_sample(sampler, self.context.ctx, row)
                    if self._take(samples[sequence], token, stop):
                        chosen[sequence] = token
                if not chosen:
                    break
                pending = self._decode_step(chosen, position)
                position += 1
        finally:
            for sampler in samplers:
                llama_cpp.llama_sampler_free(sampler)
        return samples

    def _prefill(self, tokens: list[int]) -> int:
        """Decode the prompt as sequence 0, a batch at a time; the last token's batch row."""
        size = self.context.params.n_batch
        for start in range(0, len(tokens), size):
            chunk = tokens[start : start + size]
            self._fill([(token, start + offset, (0,)) for offset, token in enumerate(chunk)])
            self._batch.logits[len(chunk) - 1] = True
            self._decode()
        return (len(tokens) - 1) % size

    def _decode_step(self, chosen: dict[int, int], position: int) -> dict[int, int]:
        """Feed each live sequence its new token in one decode; each sequence's batch row."""
        rows = list(chosen.items())
        self._fill([(token, position, (sequence,)) for sequence, token in rows])
        for row in range(len(rows)):
            self._batch.logits[row] = True
        self._decode()
        return {sequence: row for row, (sequence, _) in enumerate(rows)}

    def _fill(self, entries: list[tuple[int, int, tuple[int, ...]]]) -> None:
        batch = self._batch
        batch.n_tokens = len(entries)
        for row, (token, position, sequences) in enumerate(entries):
            batch.token[row] = token
            batch.pos[row] = position
            batch.n_seq_id[row] = len(sequences)
            for slot, sequence in enumerate(sequences):
                batch.seq_id[row][slot] = sequence
            batch.logits[row] = False

    def _decode(self) -> None:
        status = llama_cpp.llama_decode(self.context.ctx, self._batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status} (out of KV cells?)")

    def _sampler(self, sampling: SequenceSampling, sequence: int) -> ctypes.c_void_p:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        if sampling.repeat_penalty != 1.0:
            llama_cpp.llama_sampler_chain_add(
                chain, llama_cpp.llama_sampler_init_penalties(64, sampling.repeat_penalty, 0, 0)
            )
        if (sequence == 0 and sampling.greedy_first) or sampling.temperature <= 0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
            return chain
        for link in (
            llama_cpp.llama_sampler_init_top_k(sampling.top_k),
            llama_cpp.llama_sampler_init_top_p(sampling.top_p, 1),
            llama_cpp.llama_sampler_init_temp(sampling.temperature),
        ):
            llama_cpp.llama_sampler_chain_add(chain, link)
        llama_cpp.llama_sampler_chain_add(
            chain, llama_cpp.llama_sampler_init_dist(sampling.seed + sequence)
        )
        return chain

    def _take(self, sample: Sample, token: int, stop: tuple[str, ...]) -> bool:
        """Add `token` to `sample`; False once the sample has ended (EOS or a stop string)."""
        if llama_cpp.llama_vocab_is_eog(self.vocab, token):
            sample.finished = True
            return False
        sample.tokens.append(token)
        text = self.llama.detokenize(sample.tokens).decode("utf-8", errors="ignore")
        for marker in stop:
            if marker in text:
                sample.text = text[: text.index(marker)]
                sample.finished = True
                return False
        sample.text = text
        return True
