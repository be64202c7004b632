"""Backend choice and recovery: the order users are promised, and no restart after an outage."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.errors import BackendUnavailable
from takeaways_daemon.settings import Settings

SHOW = {"modelfile": "FROM x", "parameters": "", "template": "{{ .Prompt }}", "details": {}}


def ollama_settings(server: HTTPServer, **backend: object) -> Settings:
    return Settings(
        backend={
            "prefer": "ollama",
            "recheck_interval_s": 0.2,
            "ollama": {"host": server.url_for("/").rstrip("/"), "stall_timeout_s": 2},
            **backend,
        }
    )


class FlakyOllama:
    """A stand-in Ollama whose health we switch: Ollama itself cannot be installed here."""

    def __init__(self) -> None:
        self.healthy = True

    def show(self, request: Request) -> Response:
        if not self.healthy:
            return Response(json.dumps({"error": "loading failed"}), status=500)
        return Response(json.dumps(SHOW), content_type="application/json")

    def generate(self, request: Request) -> Response:
        if not self.healthy:
            return Response(json.dumps({"error": "out of memory"}), status=500)
        lines = [
            {"model": "takeaways", "response": "Title: ok", "done": False},
            {"model": "takeaways", "response": "", "done": True, "done_reason": "stop"},
        ]
        return Response(
            "".join(json.dumps(line) + "\n" for line in lines), content_type="application/x-ndjson"
        )


@pytest.fixture
def flaky(httpserver_ipv4: HTTPServer) -> FlakyOllama:
    fake = FlakyOllama()
    httpserver_ipv4.expect_request("/api/show").respond_with_handler(fake.show)
    httpserver_ipv4.expect_request("/api/generate").respond_with_handler(fake.generate)
    return fake


def test_ollama_with_the_model_comes_first(httpserver_ipv4: HTTPServer, flaky: FlakyOllama) -> None:
    async def scenario() -> None:
        supervisor = BackendSupervisor(ollama_settings(httpserver_ipv4, prefer="auto"))
        backend = await supervisor.select()
        assert backend.name == "ollama"
        assert supervisor.status.state == "ready" and supervisor.status.model == "takeaways"
        await supervisor.close()

    asyncio.run(scenario())


def test_a_failing_backend_is_marked_down_then_recovers_by_itself(
    httpserver_ipv4: HTTPServer, flaky: FlakyOllama
) -> None:
    """A 5xx marks the backend down with the server's reason; the re-check brings it back."""

    async def scenario() -> None:
        supervisor = BackendSupervisor(ollama_settings(httpserver_ipv4))
        await supervisor.start()
        request = GenerationRequest(prompt="x", max_tokens=5)
        assert (await supervisor.generate(request)).text == "Title: ok"
        flaky.healthy = False
        with pytest.raises(BackendUnavailable):
            await supervisor.generate(request)
        assert supervisor.status.state == "down"
        assert "out of memory" in supervisor.status.reason
        await asyncio.sleep(0.5)
        assert supervisor.status.state == "down"  # still failing: re-checks keep it down
        flaky.healthy = True
        for _ in range(50):
            if supervisor.status.state == "ready":
                break
            await asyncio.sleep(0.05)
        assert supervisor.status.state == "ready"
        assert (await supervisor.generate(request)).text == "Title: ok"
        await supervisor.close()

    asyncio.run(scenario())


@pytest.mark.model
def test_without_ollama_the_embedded_model_serves_and_says_why(use_base_model: Path) -> None:
    async def scenario() -> None:
        supervisor = BackendSupervisor(Settings())
        backend = await supervisor.select()
        assert backend.name == "embedded"
        assert "Ollama is not reachable" in supervisor.status.reason
        await supervisor.close()

    asyncio.run(scenario())


def test_nothing_available_is_a_clear_error(httpserver_ipv4: HTTPServer) -> None:
    async def scenario() -> None:
        supervisor = BackendSupervisor(
            Settings(backend={"prefer": "ollama", "ollama": {"host": "http://127.0.0.1:9"}})
        )
        with pytest.raises(BackendUnavailable, match="no backend is available"):
            await supervisor.select()
        assert supervisor.status.state == "down"

    asyncio.run(scenario())
