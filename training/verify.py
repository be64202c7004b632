"""The export check: greedy tokens from the merged HF model and the f16 GGUF must agree.

Both models get the very same token ids (so a tokenizer difference cannot hide a weight
difference). The HF model decodes greedily; llama.cpp then reads the same prompt and tokens and
picks its own greedy token at every one of those positions. The agreement is the share of
positions where both chose the same token, over 20 prompts in the shared prompt format; the
build fails under 95%. Comparing position by position on the same context keeps one early
near-tie from counting every later token as a miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from takeaways_daemon import prompt_format
from takeaways_daemon.errors import TakeawaysError

if TYPE_CHECKING:
    from takeaways_daemon.kinds import TaskKind

MIN_AGREEMENT = 0.95
_SNIPPETS: tuple[tuple[TaskKind, str], ...] = (
    ("fix", "def add(a, b)\n    return a + b"),
    ("complete", 'def mean(values):\n    """The arithmetic mean of values."""'),
    ("docstring", "def clamp(x, low, high):\n    return max(low, min(x, high))"),
    ("types", "def greet(name, times):\n    return ', '.join([name] * times)"),
    ("explain", "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)"),
    ("fix", "for i in range(10)\n    print(i)"),
    ("complete", 'def is_even(n):\n    """True when n is even."""'),
    ("docstring", "def slug(text):\n    return '-'.join(text.lower().split())"),
    ("types", "def scale(values, factor):\n    return [v * factor for v in values]"),
    ("explain", "import os\npaths = [p for p in os.listdir('.') if p.endswith('.py')]"),
)


class VerificationFailed(TakeawaysError):
    """The GGUF does not reproduce the merged model's greedy output closely enough."""


@dataclass(frozen=True)
class Agreement:
    """How often the GGUF and the HF model chose the same greedy token."""

    matching: int
    positions: int
    prompts: int

    @property
    def ratio(self) -> float:
        """Matching positions over all compared positions."""
        return self.matching / self.positions if self.positions else 0.0


def verification_prompts(count: int = 20) -> list[str]:
    """`count` prompts in the shared format, covering every task kind."""
    prompts = []
    for number in range(count):
        kind, code = _SNIPPETS[number % len(_SNIPPETS)]
        path = f"module_{number}.py"
        task_input = prompt_format.render_task_input(path=path, language="python", code=code)
        prompts.append(prompt_format.render_prompt(prompt_format.instruction(kind), task_input))
    return prompts


def greedy_agreement(
    merged_dir: Path, gguf_path: Path, *, prompts: list[str] | None = None, new_tokens: int = 16
) -> Agreement:
    """Compare greedy continuations of the HF model and the GGUF over the same prompt ids."""
    import torch
    from llama_cpp import Llama
    from transformers import AutoModelForCausalLM, AutoTokenizer

    prompts = prompts or verification_prompts()
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    model = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    prompt_ids = [tokenizer(p, add_special_tokens=True)["input_ids"] for p in prompts]
    longest = max(len(ids) for ids in prompt_ids) + new_tokens + 8
    llm = Llama(
        model_path=str(gguf_path),
        n_ctx=longest,
        n_batch=longest,
        logits_all=True,
        verbose=False,
        seed=0,
    )
    matching = positions = 0
    try:
        for ids in prompt_ids:
            expected = _hf_greedy(model, ids, new_tokens)
            got = _gguf_greedy_choices(llm, ids, expected)
            positions += new_tokens
            matching += sum(a == b for a, b in zip(expected, got, strict=False))
    finally:
        llm.close()
    return Agreement(matching, positions, len(prompts))


def _hf_greedy(model: Any, ids: list[int], new_tokens: int) -> list[int]:
    """Greedy decoding with transformers, ignoring EOS so both sides make `new_tokens`."""
    import torch

    with torch.no_grad():
        output = model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=model.config.eos_token_id,
        )
    return output[0, len(ids) :].tolist()


def _gguf_greedy_choices(llm: Any, prompt: list[int], continuation: list[int]) -> list[int]:
    """llama.cpp's greedy token at each position of the HF continuation, on the same context."""
    llm.reset()
    llm.eval([*prompt, *continuation])
    scores = llm.scores[len(prompt) - 1 : len(prompt) - 1 + len(continuation)]
    return [int(row.argmax()) for row in scores]


def verify_export(merged_dir: Path, gguf_path: Path) -> Agreement:
    """Run the check and raise `VerificationFailed` under `MIN_AGREEMENT`."""
    agreement = greedy_agreement(merged_dir, gguf_path)
    if agreement.ratio < MIN_AGREEMENT:
        raise VerificationFailed(
            f"the GGUF agrees with the merged model on {agreement.ratio:.1%} of greedy tokens "
            f"(needs {MIN_AGREEMENT:.0%}); the export is wrong, so it was not installed"
        )
    return agreement
