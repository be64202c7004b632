"""The training loss: next-token cross-entropy on answer tokens only, fused with the LM head.

The LM head runs only where labels exist, and never materializes the whole logits matrix. For
gemma-3's 262k-token vocabulary that matrix is most of a CPU step: the classic path writes it
in fp32, runs log-softmax over it, fills a zero gradient of the same size and runs the
log-softmax backward, five passes over ~100M floats. Here each chunk of answer positions goes
through one softmax, and its gradient with respect to the hidden states is taken at once in the
forward pass (the same matmul the backward would run), so the chunk's logits are dropped before
the next one is made. The result is the same loss and gradient, within float rounding.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from training.tokenize_examples import IGNORE_INDEX

if TYPE_CHECKING:
    import torch

# Logits made at a time (rows x vocabulary): the head's matmuls want a few hundred rows (on a CPU,
# 256 rows of a 262k vocabulary run ~1.3x faster than 64), and the chunk stays a few 100 MB.
_CHUNK_LOGITS = 1 << 26


def answer_only_loss(
    causal_lm: Any, batch: dict[str, torch.Tensor], head: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean next-token cross-entropy over labelled positions, the LM head run only there.

    `head` is the output embedding to use (e.g. a cached bf16 copy of a frozen one); the
    model's own by default.
    """
    decoder = getattr(causal_lm, causal_lm.base_model_prefix)
    hidden = decoder(
        input_ids=batch["input_ids"],
        position_ids=batch.get("position_ids"),
        attention_mask=batch.get("attention_mask"),
        use_cache=False,
    ).last_hidden_state
    # Position i predicts token i + 1: shift the labels left by one.
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE_INDEX
    if not keep.any():
        return hidden.sum() * 0.0
    weight = head if head is not None else causal_lm.get_output_embeddings().weight
    cap = getattr(causal_lm.config, "final_logit_softcapping", None)
    return linear_cross_entropy(hidden[:, :-1][keep], weight, targets[keep], softcap=cap)


def linear_cross_entropy(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, softcap: float | None = None
) -> torch.Tensor:
    """`cross_entropy(hidden @ weight.T, targets)` (mean), without keeping the logits.

    Matmuls run in the autocast dtype when autocast is on (as `F.linear` would), softmax in
    fp32. An optional Gemma-style soft cap, `cap * tanh(logits / cap)`, is applied first.
    With no gradient wanted (validation, `torch.no_grad()`), only the loss is computed.
    """
    import torch

    if not torch.is_grad_enabled() or not (hidden.requires_grad or weight.requires_grad):
        loss, _, _ = _chunk_gradients(hidden, weight, targets, softcap, gradients=False)
        return loss / targets.numel()
    return _linear_cross_entropy_function().apply(hidden, weight, targets, softcap)


def _matmul_dtype(device_type: str, weight: torch.Tensor) -> torch.dtype:
    import torch

    if torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return weight.dtype


def _chunk_gradients(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    targets: torch.Tensor,
    softcap: float | None,
    gradients: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Summed loss, d(sum)/d(hidden) and, if the head trains, d(sum)/d(weight), chunk by chunk.

    With `gradients` False, the loss alone (both gradients None).
    """
    import torch

    dtype = _matmul_dtype(hidden.device.type, weight)
    head = weight.to(dtype)
    # Equal chunks: a short last one would run the head's matmul at a poor rate.
    chunks = -(-hidden.shape[0] * weight.shape[0] // _CHUNK_LOGITS)
    rows = max(1, -(-hidden.shape[0] // max(1, chunks)))
    loss = torch.zeros((), dtype=torch.float32, device=hidden.device)
    grad_hidden = (
        torch.empty(hidden.shape, dtype=dtype, device=hidden.device) if gradients else None
    )
    grad_weight = None
    if gradients and weight.requires_grad:
        grad_weight = torch.zeros_like(weight, dtype=torch.float32)
    with torch.autocast(hidden.device.type, enabled=False):
        for start in range(0, hidden.shape[0], rows):
            part = hidden[start : start + rows].to(dtype)
            wanted = targets[start : start + rows]
            logits = (part @ head.T).float()
            if softcap:
                capped = torch.tanh(logits / softcap)
                logits = capped * softcap
            probs = torch.softmax(logits, dim=-1)
            picked = probs.gather(1, wanted[:, None]).squeeze(1)
            loss += -torch.log(picked.clamp_min(torch.finfo(torch.float32).tiny)).sum()
            if grad_hidden is None:
                continue
            # d(-log softmax[target]) / d(logits) = softmax - one_hot(target)
            probs.scatter_(1, wanted[:, None], (picked - 1)[:, None])
            if softcap:
                probs *= 1 - capped * capped
            grad_logits = probs.to(dtype)
            del logits, probs
            grad_hidden[start : start + rows] = grad_logits @ head
            if grad_weight is not None:
                grad_weight += (grad_logits.T @ part).float()
    return loss, grad_hidden, grad_weight


@functools.cache
def _linear_cross_entropy_function() -> Any:
    """The autograd Function, built on first use: importing this module needs no torch."""
    import torch

    class LinearCrossEntropy(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, hidden: Any, weight: Any, targets: Any, softcap: Any) -> Any:
            count = targets.numel()
            loss, grad_hidden, grad_weight = _chunk_gradients(hidden, weight, targets, softcap)
            ctx.save_for_backward(grad_hidden / count)
            ctx.grad_weight = None if grad_weight is None else grad_weight / count
            ctx.dtypes = (hidden.dtype, weight.dtype)
            return loss / count

        @staticmethod
        def backward(ctx: Any, grad_loss: Any) -> Any:
            (grad_hidden,) = ctx.saved_tensors
            grad_h = (grad_hidden * grad_loss).to(ctx.dtypes[0])
            grad_w = None
            if ctx.grad_weight is not None:
                grad_w = (ctx.grad_weight * grad_loss).to(ctx.dtypes[1])
            return grad_h, grad_w, None, None

    return LinearCrossEntropy


def loss_module(causal_lm: Any) -> torch.nn.Module:
    """An `nn.Module` whose forward returns the answer-only loss: DDP can wrap it whole."""
    import torch

    class AnswerOnlyLoss(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model
            self._head_copy: tuple[tuple[int, int, torch.dtype], torch.Tensor] | None = None

        def forward(self, **batch: torch.Tensor) -> torch.Tensor:
            inner = self.model
            if hasattr(inner, "get_base_model"):  # a peft model: reach the CausalLM itself
                inner = inner.get_base_model()
            return answer_only_loss(inner, batch, head=self._frozen_head(inner))

        def _frozen_head(self, inner: Any) -> torch.Tensor | None:
            """The frozen head cast to the autocast dtype once, not again every step."""
            weight = inner.get_output_embeddings().weight
            dtype = _matmul_dtype(weight.device.type, weight)
            if weight.requires_grad or weight.dtype == dtype:
                return None
            key = (weight.data_ptr(), weight._version, dtype)
            if self._head_copy is None or self._head_copy[0] != key:
                self._head_copy = (key, weight.detach().to(dtype))
            return self._head_copy[1]

    return AnswerOnlyLoss(causal_lm)
