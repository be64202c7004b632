"""The fused LM-head + cross-entropy: the loss and gradients of the plain full-logits version.

The fused path never holds the whole logits matrix and takes its gradient in the forward pass,
chunk by chunk. These tests pin it to `F.cross_entropy(hidden @ weight.T, targets)`: value,
gradient for the hidden states and for a head that trains, with a soft cap, under bf16
autocast, and through the trainer's loss module with its cached bf16 head.
"""

from __future__ import annotations

import pytest

from training import answer_loss
from training.answer_loss import linear_cross_entropy

ROWS, WIDTH, VOCAB = 37, 16, 50


def _inputs(head_trains: bool):
    import torch

    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(ROWS, WIDTH, generator=generator, requires_grad=True)
    weight = torch.randn(VOCAB, WIDTH, generator=generator, requires_grad=head_trains)
    targets = torch.randint(0, VOCAB, (ROWS,), generator=generator)
    return hidden, weight, targets


def _reference(hidden, weight, targets, softcap: float | None):
    import torch
    import torch.nn.functional as F

    logits = F.linear(hidden, weight)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits.float(), targets)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """7 rows a chunk, so 37 rows take 6 chunks (the last one shorter)."""
    monkeypatch.setattr(answer_loss, "_CHUNK_LOGITS", 7 * VOCAB)


@pytest.mark.parametrize("softcap", [None, 2.5], ids=["plain", "softcap"])
@pytest.mark.parametrize("head_trains", [False, True], ids=["frozen-head", "trained-head"])
def test_loss_and_gradients_match_full_logits_cross_entropy(
    small_chunks: None, softcap: float | None, head_trains: bool
) -> None:
    import torch

    hidden, weight, targets = _inputs(head_trains)
    fused = linear_cross_entropy(hidden, weight, targets, softcap=softcap)
    (fused * 3).backward()  # a scaled upstream gradient must scale every gradient
    fused_grads = hidden.grad.clone(), None if weight.grad is None else weight.grad.clone()
    hidden.grad, weight.grad = None, None

    expected = _reference(hidden, weight, targets, softcap)
    (expected * 3).backward()
    torch.testing.assert_close(fused, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fused_grads[0], hidden.grad, rtol=1e-4, atol=1e-6)
    if head_trains:
        torch.testing.assert_close(fused_grads[1], weight.grad, rtol=1e-4, atol=1e-6)
    else:
        assert fused_grads[1] is None and weight.grad is None
    assert fused_grads[0].dtype == hidden.dtype


@pytest.mark.parametrize("softcap", [None, 2.5], ids=["plain", "softcap"])
def test_without_gradients_it_computes_the_same_loss(small_chunks: None, softcap) -> None:
    """Validation runs under `no_grad`: the loss alone, equal to the full-logits one."""
    import torch

    hidden, weight, targets = _inputs(head_trains=True)
    with torch.no_grad():
        fused = linear_cross_entropy(hidden, weight, targets, softcap=softcap)
        expected = _reference(hidden, weight, targets, softcap)
    assert not fused.requires_grad
    torch.testing.assert_close(fused, expected, rtol=1e-5, atol=1e-6)


def test_under_bf16_autocast_it_matches_autocast_linear(small_chunks: None) -> None:
    """The matmuls run in bf16 as `F.linear` would under autocast; the softmax in float32."""
    import torch

    hidden, weight, targets = _inputs(head_trains=False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fused = linear_cross_entropy(hidden, weight, targets)
        expected = _reference(hidden, weight, targets, None)
    fused.backward()
    fused_grad, hidden.grad = hidden.grad.clone(), None
    expected.backward()
    assert fused.dtype == torch.float32 and fused_grad.dtype == torch.float32
    torch.testing.assert_close(fused, expected, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(fused_grad, hidden.grad, rtol=2e-2, atol=2e-3)


def test_the_loss_module_refreshes_its_bf16_head_when_the_head_changes() -> None:
    """The trainer's module keeps a bf16 copy of a frozen head; a changed head is re-cast."""
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    config = MistralConfig(vocab_size=VOCAB, hidden_size=WIDTH, intermediate_size=32,
                           num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                           tie_word_embeddings=False)  # fmt: skip
    model = MistralForCausalLM(config)
    model.lm_head.weight.requires_grad_(False)
    ids = torch.randint(3, VOCAB, (2, 12))
    labels = ids.clone()
    labels[:, :5] = -100
    batch = {"input_ids": ids, "labels": labels}
    module = answer_loss.loss_module(model)

    def losses() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return module(**batch), answer_loss.answer_only_loss(model, batch)

    cached, direct = losses()
    torch.testing.assert_close(cached, direct)
    with torch.no_grad():
        model.lm_head.weight.mul_(3.0)
    changed, direct_after = losses()
    torch.testing.assert_close(changed, direct_after)
    assert not torch.isclose(changed, cached), "the loss still used the old head"
