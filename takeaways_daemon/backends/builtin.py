"""The backends that ship with takeaways, registered like plugins."""

from __future__ import annotations

from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
from takeaways_daemon.backends.ollama_backend import OllamaBackend
from takeaways_daemon.backends.registry import BackendRegistry


def register(registry: BackendRegistry) -> None:
    """Add `ollama` and `embedded`."""
    registry.register(OllamaBackend)
    registry.register(EmbeddedBackend)
