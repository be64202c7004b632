"""The model to train: the base in 4-bit NF4 (QLoRA) or full precision, with a LoRA adapter.

QLoRA as the seed describes it: `BitsAndBytesConfig` NF4 with double quantization and bf16
compute (fp16 where bf16 is missing), `prepare_model_for_kbit_training`, LoRA through peft and
gradient checkpointing. On the CPU `quantization: auto` means plain LoRA: bitsandbytes 0.50 does
run NF4 there (`quantization: 4bit`, used by the CI test), but dequantizing every step makes it
slower than float32 for the small models a CPU can train.

Two changes to the seed's recipe make a GPU step ~1.6x faster (bench/train.py, H200):
- `prepare_model_for_kbit_training` upcasts every frozen weight that is not 4-bit (norms,
  embeddings, LM head) to float32. The residual stream then runs in float32, and so do attention
  (cutlass fp32 kernels: a quarter of the step) and every elementwise op. Those weights are
  frozen copies of bf16 checkpoints, so they go back to the compute dtype
  (`frozen_in_compute_dtype`); the LoRA weights stay float32, and RMSNorm still normalises in
  float32 inside.
- Liger-Kernel's Triton RMSNorm, RoPE and SwiGLU (`liger_kernels`), where it is installed and the
  model runs on a GPU.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from training.recipe import Recipe

if TYPE_CHECKING:
    import torch


def use_4bit(recipe: Recipe, device: torch.device) -> bool:
    """Whether this run loads the base in 4-bit: always on GPU under `auto`, never on CPU."""
    mode = recipe.train.quantization
    return mode == "4bit" or (mode == "auto" and device.type == "cuda")


def compute_dtype(device: torch.device) -> torch.dtype:
    """bf16 where the hardware has it, else fp16 (GPU); float32 on the CPU for plain LoRA."""
    import torch

    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def attention_implementation(device: torch.device) -> str:
    """flash attention 2 where installed on a GPU, else PyTorch SDPA (both handle packing)."""
    if device.type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def load_for_training(base_path: str, recipe: Recipe, device: torch.device) -> Any:
    """The base model with a trainable LoRA adapter, ready for the training loop."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    quantized = use_4bit(recipe, device)
    dtype = compute_dtype(device)
    if quantized and device.type == "cpu":
        dtype = torch.bfloat16  # bitsandbytes' CPU kernels compute in bf16
    kwargs: dict[str, Any] = {
        "dtype": dtype,
        "attn_implementation": attention_implementation(device),
        "device_map": {"": device},
    }
    if quantized:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
    model = AutoModelForCausalLM.from_pretrained(base_path, **kwargs)
    model.config.use_cache = False  # the KV cache is useless in training and costs memory
    checkpointing = recipe.train.gradient_checkpointing
    if quantized:
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
        frozen_in_compute_dtype(model, dtype)
    elif checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # the transformers ≥ 5 name
            model.activation_checkpointing_enable({"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable({"use_reentrant": False})
        model.enable_input_require_grads()
    lora = LoraConfig(
        r=recipe.lora.r,
        lora_alpha=recipe.lora.alpha,
        lora_dropout=recipe.lora.dropout,
        target_modules=list(recipe.lora.target_modules),
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, lora)
    if recipe.train.liger_kernels:
        liger_kernels(peft_model.get_base_model())
    return peft_model


def frozen_in_compute_dtype(model: Any, dtype: torch.dtype) -> int:
    """Cast frozen float32 weights back to `dtype` (undoes the k-bit preparation's upcast).

    Returns how many tensors were cast. Trainable weights keep their precision.
    """
    import torch

    cast = 0
    for param in model.parameters():
        if not param.requires_grad and param.dtype == torch.float32:
            param.data = param.data.to(dtype)
            cast += 1
    return cast


def liger_kernels(causal_lm: Any) -> bool:
    """Liger-Kernel's RMSNorm, RoPE and SwiGLU on this model, on a GPU where it is installed.

    The loss stays ours (the fused answer-only head). Returns whether the kernels were applied;
    a CPU, a missing package or an architecture Liger does not know leaves the model as it was.
    """
    if causal_lm.device.type != "cuda" or importlib.util.find_spec("liger_kernel") is None:
        return False
    from liger_kernel.transformers import _apply_liger_kernel_to_instance
    from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN

    if causal_lm.config.model_type not in MODEL_TYPE_TO_APPLY_LIGER_FN:
        return False
    # RoPE is patched in the architecture's module (process-wide); norms and MLPs per instance.
    kernels = {"rope": True, "rms_norm": True, "swiglu": True}
    _apply_liger_kernel_to_instance(model=causal_lm, cross_entropy=False,
                                    fused_linear_cross_entropy=False, **kernels)  # fmt: skip
    return True
