"""The backends that ship with takeaways, registered like plugins."""

from __future__ import annotations

from takeaways_daemon.backends.base import Backend
from takeaways_daemon.backends.registry import BackendRegistry
from takeaways_daemon.settings import Settings


def _ollama(settings: Settings) -> Backend:
    from takeaways_daemon.backends.ollama_backend import OllamaBackend

    return OllamaBackend(settings.backend.ollama)


def _embedded(settings: Settings) -> Backend:
    from takeaways_daemon.backends.embedded_backend import EmbeddedBackend

    return EmbeddedBackend(settings.backend.embedded, num_ctx=settings.sampling.num_ctx)


def register(registry: BackendRegistry) -> None:
    """Add `ollama` and `embedded`."""
    registry.register("ollama", _ollama)
    registry.register("embedded", _embedded)
