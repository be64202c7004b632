"""Backends register here by name; the built-in ones use the same hook as a plugin would.

A third-party package adds a backend with an entry point in the `takeaways.backends` group that
points to a `register(registry)` function, exactly like `takeaways_daemon.backends.builtin`:

    [project.entry-points."takeaways.backends"]
    mine = "takeaways_mine:register"

`register` calls `registry.register(MineBackend)`. Users then list `"mine"` in
`backend.prefer` and configure it in `[backend.mine]`, which `MineBackend.Options` validates.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points

from pydantic import BaseModel, ValidationError

from takeaways_daemon.backends.base import Backend
from takeaways_daemon.errors import ConfigError
from takeaways_daemon.settings import BackendSettings, Settings, invalid_settings

ENTRY_POINT_GROUP = "takeaways.backends"
# Keys of the `backend` section that are settings of the choice itself, not a backend's options.
_RESERVED = frozenset(BackendSettings.model_fields) - {"ollama", "embedded"}


class BackendRegistry:
    """Backend classes, by name."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Backend]] = {}

    def register(self, backend: type[Backend]) -> None:
        """Make `backend` available as `backend.name`; a later one of the same name replaces it."""
        if not backend.name.isidentifier() or backend.name in _RESERVED:
            raise ValueError(
                f"{backend.__qualname__}.name {backend.name!r} cannot name a settings section"
            )
        self._classes[backend.name] = backend

    def names(self) -> list[str]:
        """Registered backend names."""
        return sorted(self._classes)

    def get(self, name: str) -> type[Backend]:
        """The class registered as `name`, or a `ConfigError` naming the available ones."""
        try:
            return self._classes[name]
        except KeyError:
            raise ConfigError(self._unknown(name, f"unknown backend {name!r}")) from None

    def check(self, settings: BackendSettings) -> None:
        """Every name in `backend.prefer` and every `[backend.NAME]` section names a backend."""
        for name in settings.prefer:
            if name not in self._classes:
                raise ConfigError(self._unknown(name, f"backend.prefer lists {name!r}"))
        for name in settings.plugin_sections():
            if name not in self._classes:
                raise ConfigError(self._unknown(name, f"[backend.{name}] configures {name!r}"))

    def create(self, name: str, settings: Settings) -> Backend:
        """A new backend instance (not yet checked or loaded), given its validated options."""
        backend = self.get(name)
        given = settings.backend.section(name)
        if isinstance(given, backend.Options):
            return backend.create(given, settings)
        if isinstance(given, BaseModel):
            # A plugin took over a built-in name: its own Options read what the user wrote.
            given = given.model_dump(exclude_unset=True)
        try:
            options = backend.Options.model_validate(given)
        except ValidationError as error:
            raise invalid_settings(error, section=f"backend.{name}") from None
        return backend.create(options, settings)

    def _unknown(self, name: str, what: str) -> str:
        available = self.names()
        close = difflib.get_close_matches(name, available, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{what}, but no such backend is installed (available: {', '.join(available)}){hint}"


def default_registry() -> BackendRegistry:
    """A registry holding the built-in backends and any installed plugins."""
    from takeaways_daemon.backends import builtin

    registry = BackendRegistry()
    builtin.register(registry)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()(registry)
    return registry
