"""`--model NAME` for `watch`, `start` and `scan`: which Ollama model answers.

It sets `backend.ollama.model` for that run, above the config file and the environment. A model
other than ours (say a coder model pulled into Ollama) is spoken to through `/api/chat`, so its
own chat template applies.
"""

from __future__ import annotations

from typing import Any

import click

MODEL_OPTION = click.option(
    "--model",
    metavar="NAME",
    default=None,
    help="Ollama model to use (sets backend.ollama.model), e.g. qwen2.5-coder:7b.",
)


def model_overrides(model: str | None) -> dict[str, Any]:
    """`load_settings` keyword overrides for `--model` (none when it was not given)."""
    return {"backend": {"ollama": {"model": model}}} if model else {}


def model_environment(model: str | None) -> dict[str, str]:
    """The same override as a variable, for a daemon started in another process."""
    from takeaways_daemon.settings import ENV_NESTED_DELIMITER, ENV_PREFIX

    name = ENV_NESTED_DELIMITER.join(("BACKEND", "OLLAMA", "MODEL"))
    return {f"{ENV_PREFIX}{name}": model} if model else {}
