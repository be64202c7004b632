"""Backends register here by name; the built-in ones use the same hook as a plugin would.

A third-party package adds a backend with an entry point in the `takeaways.backends` group that
points to a `register(registry)` function, exactly like `takeaways_daemon.backends.builtin`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from takeaways_daemon.backends.base import Backend
from takeaways_daemon.errors import ConfigError
from takeaways_daemon.settings import Settings

BackendFactory = Callable[[Settings], Backend]
ENTRY_POINT_GROUP = "takeaways.backends"


class BackendRegistry:
    """Factories for backends, by name."""

    def __init__(self) -> None:
        self._factories: dict[str, BackendFactory] = {}

    def register(self, name: str, factory: BackendFactory) -> None:
        """Make `name` available; a later registration of the same name replaces it."""
        self._factories[name] = factory

    def names(self) -> list[str]:
        """Registered backend names."""
        return sorted(self._factories)

    def create(self, name: str, settings: Settings) -> Backend:
        """A new backend instance (not yet checked or loaded)."""
        try:
            factory = self._factories[name]
        except KeyError:
            raise ConfigError(
                f"unknown backend {name!r}; available: {', '.join(self.names())}"
            ) from None
        return factory(settings)


def default_registry() -> BackendRegistry:
    """A registry holding the built-in backends and any installed plugins."""
    from takeaways_daemon.backends import builtin

    registry = BackendRegistry()
    builtin.register(registry)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()(registry)
    return registry
