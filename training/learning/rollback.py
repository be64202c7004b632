"""Serve an earlier kept version again: byte for byte, by the same atomic rename as a swap."""

from __future__ import annotations

from collections.abc import Callable

from takeaways_daemon.settings import Settings
from training.learning import audit as learning_audit
from training.learning.ollama_swap import register_served
from training.learning.versions import (
    ModelVersion,
    find_version,
    keep_served_if_unknown,
    list_versions,
    previous_of,
    serve_version,
)


def rollback(
    settings: Settings, version_id: str | None = None, say: Callable[[str], None] = print
) -> ModelVersion:
    """Serve `version_id` (default: the version kept before the served one); audited."""
    current = keep_served_if_unknown(settings.learning.base)
    versions = list_versions()
    target = find_version(version_id) if version_id else previous_of(current, versions)
    serve_version(target)
    say(f"serving {target.id}")
    registration = register_served(target.gguf, settings, say)
    say(f"ollama: {registration['ollama']}")
    learning_audit.audit(
        settings.history, learning_audit.ROLLBACK,
        {"to": target.id, "from": current.id if current else None, "sha256": target.sha256,
         **registration},
    )  # fmt: skip
    return target
