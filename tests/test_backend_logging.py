"""The backend supervisor logs each change of state once, not every re-check.

Two scripted backends (tests/plugins) stand for Ollama, unreachable, and the embedded model,
ready: the real supervisor serves the fallback and re-checks every 50 ms whether the preferred
one is back. It used to log "ready; ollama: Ollama is not reachable" at every re-check.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from takeaways_daemon.backends.registry import BackendRegistry
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.settings import Settings
from tests.plugins.install import PLUGINS
from tests.plugins.stand_in import StandIn


def test_serving_a_fallback_logs_the_unreachable_preferred_backend_once_per_change(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.syspath_prepend(str(PLUGINS))
    from takeaways_scripted import ScriptedBackend, ScriptedOptions

    ollama = ScriptedBackend(ScriptedOptions(unavailable="Ollama is not reachable"))
    embedded = ScriptedBackend(ScriptedOptions(model="base"))
    registry = BackendRegistry()
    for name, instance in (("ollama", ollama), ("embedded", embedded)):
        attributes: dict[str, Any] = {"name": name, "instance": instance}
        registry.register(type(f"StandIn_{name}", (StandIn,), attributes))
    settings = Settings(backend={"prefer": ["ollama", "embedded"], "recheck_interval_s": 0.05})

    async def scenario() -> tuple[str | None, str | None]:
        """The models served: while Ollama is away, then once it is back."""
        supervisor = BackendSupervisor(settings, registry)
        await supervisor.start()
        await asyncio.sleep(0.5)  # about ten re-checks, each finding the same
        fallback = supervisor.status.model
        ollama.options.unavailable = ""  # Ollama comes back
        await asyncio.sleep(0.3)
        await supervisor.close()
        return fallback, supervisor.status.model

    with caplog.at_level(logging.INFO, logger="takeaways_daemon.backends.supervisor"):
        assert asyncio.run(scenario()) == ("base", "scripted")
    messages = [record.getMessage() for record in caplog.records]
    assert sum("not reachable" in message for message in messages) == 1, messages
    assert sum("first choice" in message for message in messages) == 1, messages
