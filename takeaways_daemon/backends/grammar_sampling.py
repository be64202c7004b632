"""Grammar-constrained sampling that checks the grammar only when it has to.

llama-cpp-python 0.3.36 puts the grammar sampler first in its chain, so every token runs the
grammar over the whole vocabulary: gemma's 262,144 pieces made a constrained answer about ten
times slower than a free one. llama.cpp's own `common_sampler` samples without the grammar first
and asks the grammar about that one token; only a rejected pick pays for the full pass, after which
it samples again from what the grammar allows. Greedy decoding picks the same token either way
(the argmax, if allowed, is also the argmax of the allowed set), and sampled decoding stays within
the grammar; only the rare rejected step costs what every step used to.
"""

from __future__ import annotations

import ctypes
import math
from typing import TYPE_CHECKING, Any

import llama_cpp
import numpy as np
from llama_cpp import Llama

if TYPE_CHECKING:
    from llama_cpp._internals import LlamaContext, LlamaModel, LlamaSampler
    from llama_cpp.llama_grammar import LlamaGrammar

# llama_token_data as numpy sees it: the samplers read and reorder this memory in place.
_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)
assert _TOKEN_DATA.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)


class _Candidates:
    """A reusable llama_token_data_array over numpy memory, refilled for each pick."""

    def __init__(self, size: int) -> None:
        self.rows = np.zeros(size, dtype=_TOKEN_DATA)
        self.ids = np.arange(size, dtype=np.int32)
        self.array = llama_cpp.llama_token_data_array()
        self.pointer = ctypes.pointer(self.array)

    def fill(self, logits: np.ndarray) -> None:
        """Every token with its logit, unsorted and unselected (samplers sort the rows in place)."""
        self.rows["id"] = self.ids
        self.rows["logit"] = logits
        self.rows["p"] = 0.0
        self.point()

    def point(self) -> None:
        """Hand llama.cpp the rows as they are now, unsorted and unselected."""
        self.array.data = self.rows.ctypes.data_as(llama_cpp.llama_token_data_p)  # type: ignore[assignment]
        self.array.size = len(self.rows)
        self.array.selected = -1
        self.array.sorted = False

    def selected_token(self) -> int:
        """The token the chain picked (samplers may move `data`, so read through it)."""
        return int(self.array.data[self.array.selected].id)


class LazyGrammarSampler:
    """Stands in for llama-cpp-python's `LlamaSampler`: a free chain, checked against a grammar."""

    def __init__(self, chain: LlamaSampler, grammar: LlamaGrammar, model: LlamaModel) -> None:
        self._chain = chain
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._grammar:
            chain.close()
            raise ValueError("llama.cpp rejected the grammar")
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(model.vocab)
        self._candidates = _Candidates(self._n_vocab)
        self._probe = _Candidates(1)
        self.rejected_picks = 0  # how often the full grammar pass was needed (for benchmarks)
        self.picks = 0

    def sample(self, ctx: LlamaContext, idx: int = -1) -> int:
        """Pick the next token as llama.cpp's chain would, then record it in every sampler."""
        pointer = llama_cpp.llama_get_logits_ith(ctx.ctx, idx)
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
        token = self._pick(logits, constrained=False)
        if not self._allows(token):
            self.rejected_picks += 1
            token = self._pick(logits, constrained=True)
        self.picks += 1
        self.accept(token)
        return token

    def _pick(self, logits: np.ndarray, *, constrained: bool) -> int:
        self._candidates.fill(logits)
        if constrained:
            llama_cpp.llama_sampler_apply(self._grammar, self._candidates.pointer)
        llama_cpp.llama_sampler_apply(self._chain.sampler, self._candidates.pointer)
        return self._candidates.selected_token()

    def _allows(self, token: int) -> bool:
        probe = self._probe
        probe.rows[0] = (token, 0.0, 0.0)
        probe.point()
        llama_cpp.llama_sampler_apply(self._grammar, probe.pointer)
        return not math.isinf(float(probe.rows["logit"][0]))

    def accept(self, token: int) -> None:
        """Advance the grammar and the chain's penalties past `token`."""
        llama_cpp.llama_sampler_accept(self._grammar, token)
        self._chain.accept(token)

    def reset(self) -> None:
        """Back to the grammar's start and an empty penalty history."""
        llama_cpp.llama_sampler_reset(self._grammar)
        self._chain.reset()

    def close(self) -> None:
        """Free llama.cpp's samplers (idempotent)."""
        if self._grammar:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None
        self._chain.close()

    def __del__(self) -> None:
        self.close()


class LazyGrammarLlama(Llama):
    """`Llama` whose grammar-constrained generations use `LazyGrammarSampler`."""

    def _init_sampler(  # type: ignore[override]
        self, grammar: LlamaGrammar | None = None, **kwargs: Any
    ) -> Any:
        # llama-cpp-python passes every argument by keyword.
        chain = super()._init_sampler(grammar=None, **kwargs)
        if grammar is None:
            return chain
        return LazyGrammarSampler(chain, grammar, self._model)
