"""The answer-only loss of a GGUF on held-out examples, computed by llama.cpp itself.

The gate measures the served model and the candidate the same way: both are GGUF files, read
by the same llama.cpp the daemon serves them with. Each example is laid out exactly as in
training (the shared prompt format, loss on the answer and its end-of-text token only).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from takeaways_daemon import prompt_format
from training.data.alpaca_record import AlpacaRecord

MAX_TOKENS = 1024


def held_out_loss(gguf: Path, records: Sequence[AlpacaRecord]) -> float | None:
    """Mean cross-entropy (nats per answer token) of `gguf` on the answers of `records`."""
    if not records:
        return None
    import numpy as np
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(gguf), n_ctx=MAX_TOKENS, n_batch=MAX_TOKENS, logits_all=True,
        verbose=False, seed=0,
    )  # fmt: skip
    total, counted = 0.0, 0
    try:
        for record in records:
            prompt, completion = prompt_format.format_training_example(
                record.instruction, record.input, record.output
            )
            prompt_ids = llm.tokenize(prompt.encode(), add_bos=True)
            answer_ids = [*llm.tokenize(completion.encode(), add_bos=False), llm.token_eos()]
            ids = [*prompt_ids, *answer_ids][:MAX_TOKENS]
            if len(ids) <= len(prompt_ids):
                continue
            llm.reset()
            llm.eval(ids)
            logits = np.asarray(llm.scores[len(prompt_ids) - 1 : len(ids) - 1], dtype=np.float64)
            targets = np.asarray(ids[len(prompt_ids) :])
            peak = logits.max(axis=1, keepdims=True)
            log_norm = peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=1))
            total += float((log_norm - logits[np.arange(len(targets)), targets]).sum())
            counted += len(targets)
    finally:
        llm.close()
    return total / counted if counted else None
