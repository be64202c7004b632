"""`takeaways.yaml`: the one place the served model's name and sampling parameters are set.

The Modelfile is rendered from it, `takeaways model register` creates the model under its name,
and the daemon's settings take their defaults for the Ollama model name and the sampling
parameters from it. Nothing else in the repository repeats these values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from takeaways_daemon.errors import ConfigError

DEFAULT_PATH = Path(__file__).with_name("takeaways.yaml")
# Ollama PARAMETER names we accept, with the type each must have.
_PARAMETER_TYPES: dict[str, type] = {
    "temperature": float,
    "top_p": float,
    "top_k": int,
    "repeat_penalty": float,
    "repeat_last_n": int,
    "num_ctx": int,
    "num_predict": int,
    "seed": int,
    "min_p": float,
}


@dataclass(frozen=True)
class DeploymentConfig:
    """The served model: its name, the base it is tuned from, and its sampling parameters."""

    name: str = "takeaways"
    base: str = "mistralai/Mistral-7B-v0.1"
    parameters: dict[str, float | int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in " :/\\"):
            raise ConfigError(f"model name {self.name!r} must be a single word without ':' or '/'")
        for key, value in self.parameters.items():
            wanted = _PARAMETER_TYPES.get(key)
            if wanted is None:
                known = ", ".join(sorted(_PARAMETER_TYPES))
                raise ConfigError(f"unknown Ollama parameter {key!r}; use one of {known}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"parameter {key} must be a number, not {value!r}")
            if wanted is int and not float(value).is_integer():
                raise ConfigError(f"parameter {key} must be a whole number, not {value!r}")

    def parameter(self, name: str) -> float | int:
        """One sampling parameter; a clear error if the file lacks it."""
        if name not in self.parameters:
            raise ConfigError(f"takeaways.yaml has no parameters.{name}; add it ({DEFAULT_PATH})")
        return self.parameters[name]

    @property
    def previous_name(self) -> str:
        """Where the model being replaced is kept, for a rollback."""
        return f"{self.name}:previous"


def load_deployment_config(path: Path | None = None) -> DeploymentConfig:
    """Read `takeaways.yaml` (the packaged one by default)."""
    path = path or DEFAULT_PATH
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise ConfigError(f"cannot read the deployment config {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping with name, base and parameters")
    unknown = set(data) - {"name", "base", "parameters"}
    if unknown:
        raise ConfigError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    return DeploymentConfig(
        name=str(data.get("name", "takeaways")),
        base=str(data.get("base", DeploymentConfig.base)),
        parameters=dict(data.get("parameters") or {}),
    )


@functools.cache
def served_model() -> DeploymentConfig:
    """The packaged `takeaways.yaml`, read once (the daemon's defaults come from it)."""
    return load_deployment_config()
