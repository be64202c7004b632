"""The GPU speed-ups of `training.qlora` against the seed's reference path: loss and gradients.

- Frozen weights back in the compute dtype (bf16 residual stream) instead of the k-bit
  preparation's float32: runs on the CPU (bitsandbytes' CPU NF4), a tiny 4-bit Mistral.
- Liger-Kernel's RMSNorm, RoPE and SwiGLU: Triton kernels, so this one needs a GPU with
  liger-kernel installed (it runs on the lent H200; CI has neither).
Both compare with bf16's tolerance: ‖a − b‖ / ‖b‖ under 3e-2 for every LoRA gradient.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.training_helpers import build_tiny_mistral, tiny_recipe, write_alpaca_jsonl


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    from training.base_model import load_tokenizer
    from training.packing import collate_packed, pack_examples
    from training.tokenize_examples import tokenize_rows

    base = build_tiny_mistral(tmp_path_factory.mktemp("tiny") / "base")
    tokenizer = load_tokenizer(str(base))
    data = write_alpaca_jsonl(tmp_path_factory.mktemp("data") / "d.jsonl", count=6)
    examples, _ = tokenize_rows(tokenizer, [json.loads(x) for x in data.open()], 256)
    batch = collate_packed(pack_examples(examples, 256), tokenizer.pad_token_id)
    return base, batch


def _loss_and_lora_grads(model, batch):
    from training.answer_loss import loss_module

    model.train()
    loss = loss_module(model)(**{k: v.to(model.device) for k, v in batch.items()})
    loss.backward()
    grads = {n: p.grad.float().cpu() for n, p in model.named_parameters() if "lora_" in n}
    return float(loss.detach()), grads


def _assert_close_in_bf16(loss, grads, ref_loss, ref_grads) -> None:
    assert loss == pytest.approx(ref_loss, rel=2e-2)
    assert grads.keys() == ref_grads.keys() and len(grads) > 10
    for name, ref in ref_grads.items():
        error = float((grads[name] - ref).norm() / ref.norm().clamp_min(1e-12))
        assert error < 3e-2, f"{name}: relative error {error:.3g}"


def test_frozen_weights_in_bf16_match_the_float32_reference(tiny, monkeypatch) -> None:
    import torch

    from training import qlora

    base, batch = tiny
    recipe = tiny_recipe(Path(base), quantization="4bit", dropout=0.0)
    torch.manual_seed(0)
    fast = qlora.load_for_training(str(base), recipe, torch.device("cpu"))
    frozen = {p.dtype for p in fast.parameters() if not p.requires_grad and p.is_floating_point()}
    assert frozen == {torch.bfloat16}, "norms, embeddings and head back in bf16"
    assert {p.dtype for p in fast.parameters() if p.requires_grad} == {torch.float32}
    result = _loss_and_lora_grads(fast, batch)

    monkeypatch.setattr(qlora, "frozen_in_compute_dtype", lambda model, dtype: 0)
    torch.manual_seed(0)
    reference = qlora.load_for_training(str(base), recipe, torch.device("cpu"))
    frozen = {p.dtype for p in reference.parameters() if not p.requires_grad}
    assert torch.float32 in frozen, "the seed's path upcasts them"
    _assert_close_in_bf16(*result, *_loss_and_lora_grads(reference, batch))


@pytest.mark.skipif(
    not importlib.util.find_spec("liger_kernel") or not importlib.util.find_spec("triton"),
    reason="Liger-Kernel's Triton kernels need liger-kernel and a GPU",
)
def test_liger_kernels_match_the_reference_on_a_gpu(tiny) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("Liger-Kernel's Triton kernels need a GPU")
    from training import qlora

    base, batch = tiny
    device = torch.device("cuda")
    recipe = tiny_recipe(Path(base), quantization="4bit", dropout=0.0, liger_kernels=False)
    torch.manual_seed(0)
    reference = _loss_and_lora_grads(qlora.load_for_training(str(base), recipe, device), batch)
    torch.manual_seed(0)
    model = qlora.load_for_training(str(base), recipe, device)
    assert qlora.liger_kernels(model.get_base_model())
    assert "Liger" in type(model.get_base_model().model.norm).__name__ or hasattr(
        model.get_base_model().model.norm, "casting_mode"
    )
    _assert_close_in_bf16(*_loss_and_lora_grads(model, batch), *reference)


def test_bf16_autocast_over_the_lora_path_matches_the_float32_reference(tiny, monkeypatch) -> None:
    """What `trainer.autocast_for` gives a GPU step, run on the CPU (bitsandbytes' CPU NF4).

    Under autocast peft skips its float32 casts and runs each adapter in bf16 with float32
    weights. peft asks `torch.is_autocast_enabled()`, which without an argument looks at CUDA
    only, so here it is pointed at the CPU's autocast to take the GPU's branch.
    """
    import torch

    from training import qlora

    base, batch = tiny
    recipe = tiny_recipe(Path(base), quantization="4bit", dropout=0.0)
    torch.manual_seed(0)
    reference = _loss_and_lora_grads(
        qlora.load_for_training(str(base), recipe, torch.device("cpu")), batch
    )
    torch.manual_seed(0)
    model = qlora.load_for_training(str(base), recipe, torch.device("cpu"))
    real = torch.is_autocast_enabled
    monkeypatch.setattr(torch, "is_autocast_enabled", lambda *a: real(*a) if a else real("cpu"))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = _loss_and_lora_grads(model, batch)
    lora = [p for n, p in model.named_parameters() if "lora_" in n]
    assert {p.dtype for p in lora} == {torch.float32}, "master weights stay float32"
    assert {p.grad.dtype for p in lora} == {torch.float32}
    _assert_close_in_bf16(*result, *reference)


def test_a_gpu_with_bf16_trains_under_bf16_autocast(monkeypatch) -> None:
    import contextlib

    import torch

    from training.trainer import autocast_for

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    chosen = autocast_for(torch.device("cuda"), cpu_bf16=False)
    assert isinstance(chosen, torch.autocast)
    assert (chosen.device, chosen.fast_dtype) == ("cuda", torch.bfloat16)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert isinstance(autocast_for(torch.device("cuda"), cpu_bf16=True), contextlib.nullcontext)
    assert isinstance(autocast_for(torch.device("cpu"), cpu_bf16=False), contextlib.nullcontext)
