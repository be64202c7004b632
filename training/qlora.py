"""The model to train: the base in 4-bit NF4 (QLoRA) or full precision, with a LoRA adapter.

QLoRA as the seed describes it: `BitsAndBytesConfig` NF4 with double quantization and bf16
compute (fp16 where bf16 is missing), `prepare_model_for_kbit_training`, LoRA through peft and
gradient checkpointing. On the CPU `quantization: auto` means plain LoRA: bitsandbytes 0.50 does
run NF4 there (`quantization: 4bit`, used by the CI test), but dequantizing every step makes it
slower than float32 for the small models a CPU can train.
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
    return get_peft_model(model, lora)
