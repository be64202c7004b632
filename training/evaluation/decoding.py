"""How evaluation decodes: the daemon's own requests, changed only by overrides a report shows.

By default every request is the daemon's (`GenerationRequest.from_settings` with `[sampling]`),
so a score measures what the daemon serves. Benchmarks have conventions of their own (greedy
decoding, no repetition penalty, a longer answer); a run may adopt them only through a
`DecodingOverride`, which the run's settings and report record beside the daemon's values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.settings import SamplingSettings

SAMPLE_SEED = 1234
"""With no `sampling.seed`, sample i is decoded with seed SAMPLE_SEED + i, so runs repeat."""


@dataclass(frozen=True)
class DecodingOverride:
    """Values that replace the daemon's sampling for one run; None keeps the daemon's."""

    temperature: float | None = None
    top_p: float | None = None
    repeat_penalty: float | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.temperature is not None and self.temperature < 0:
            raise ValueError(f"temperature must be 0 or more, not {self.temperature}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], not {self.top_p}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, not {self.max_tokens}")

    @classmethod
    def greedy(cls, max_tokens: int | None = None) -> DecodingOverride:
        """HumanEval's conventions: greedy decoding and no repetition penalty."""
        return cls(temperature=0.0, repeat_penalty=1.0, max_tokens=max_tokens)

    def values(self) -> dict[str, Any]:
        """The overridden fields and their values (empty: the daemon's decoding as is)."""
        values = {field.name: getattr(self, field.name) for field in fields(self)}
        return {name: value for name, value in values.items() if value is not None}

    def merged_with(self, other: DecodingOverride) -> DecodingOverride:
        """This override with `other`'s values on top."""
        return DecodingOverride(**{**self.values(), **other.values()})


NO_OVERRIDE = DecodingOverride()
"""The daemon's decoding, unchanged."""


def eval_request(
    prompt: str,
    sampling: SamplingSettings,
    override: DecodingOverride = NO_OVERRIDE,
    **fixed: Any,
) -> GenerationRequest:
    """The daemon's request for `prompt`, with `fixed` run mechanics (stop, seed) and `override`."""
    return GenerationRequest.from_settings(prompt, sampling, **{**fixed, **override.values()})


def sample_seed(sampling: SamplingSettings, index: int) -> int:
    """Sample `index`'s seed: the daemon's `seed + attempt` rule, from SAMPLE_SEED when unset."""
    return (SAMPLE_SEED if sampling.seed is None else sampling.seed) + index


def decoding_settings(sampling: SamplingSettings, override: DecodingOverride) -> dict[str, Any]:
    """What a run's settings record: the values used, and each override beside the daemon's."""
    used = eval_request("", sampling, override)
    daemon = eval_request("", sampling)
    return {
        "temperature": used.temperature,
        "top_p": used.top_p,
        "repeat_penalty": used.repeat_penalty,
        "max_tokens": used.max_tokens,
        "decoding_overrides": {
            name: {"used": value, "daemon": getattr(daemon, name)}
            for name, value in override.values().items()
            if value != getattr(daemon, name)
        },
    }


def describe_overrides(overrides: dict[str, dict[str, Any]]) -> str:
    """One report line about decoding.

    >>> describe_overrides({})
    "the daemon's sampling"
    >>> describe_overrides({"temperature": {"used": 0.0, "daemon": 0.7}})
    "OVERRIDDEN: temperature 0.0 (daemon 0.7); otherwise the daemon's sampling"
    """
    if not overrides:
        return "the daemon's sampling"
    changed = ", ".join(
        f"{name} {values['used']} (daemon {values['daemon']})" for name, values in overrides.items()
    )
    return f"OVERRIDDEN: {changed}; otherwise the daemon's sampling"
