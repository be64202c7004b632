"""A registry that hands out one ready-made backend under built-in names (test helper).

For tests that build a backend instance themselves (to record its requests) and want the real
supervisor to pick it wherever `backend.prefer` looks first.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from takeaways_daemon.backends.base import Backend
from takeaways_daemon.backends.registry import BackendRegistry
from takeaways_daemon.settings import Settings


class AnyOptions(BaseModel):
    """Takes whatever section the built-in it stands in for has."""

    model_config = ConfigDict(extra="allow")


class StandIn(Backend):
    """Registered under a built-in's name; `create` hands out the one instance."""

    Options: ClassVar[type[BaseModel]] = AnyOptions
    instance: ClassVar[Backend]

    @classmethod
    def create(cls, options: Any, settings: Settings) -> Any:
        return cls.instance


def registry_serving(backend: Backend, *names: str) -> BackendRegistry:
    """A registry in which every one of `names` creates `backend`."""
    registry = BackendRegistry()
    for name in names:
        registry.register(type(f"StandIn_{name}", (StandIn,), {"name": name, "instance": backend}))
    return registry
