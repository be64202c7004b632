"""Specification: the API stays available and answers bad input with a 4xx, never a 5xx.

Connection limits run against a real daemon process in TCP mode, with a bounded number of
loopback sockets; request validation against the real app on a loopback uvicorn; the prompt
length check against the real packaged GGUF.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from security_helpers import running_daemon

from takeaways_daemon.api.connection_limits import MAX_CONNECTIONS, REQUEST_HEAD_TIMEOUT_S
from takeaways_daemon.api_client import DaemonClient
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.runtime_files import RuntimeRecord
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.tasks import Task
from tests.loopback_server import free_port, serving, unstarted_service

TOKEN = "token-for-api-security-tests"
IDLE_SOCKETS = 300
STUB = "def double(x):\n    pass\n"


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def port_of(record: RuntimeRecord) -> int:
    return int(record.address.rsplit(":", 1)[1])


@contextlib.contextmanager
def idle_sockets(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that never send a byte, closed at the end."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        yield sockets
    finally:
        for held in sockets:
            held.close()


def closed_by_server(held: socket.socket) -> bool:
    held.settimeout(2)
    try:
        return held.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.fixture
def tcp_daemon(tmp_path: Path) -> Iterator[tuple[Path, RuntimeRecord]]:
    project = tmp_path / "project"
    project.mkdir()
    with running_daemon(project, TAKEAWAYS_API__TRANSPORT="tcp") as record:
        yield project, record


class TestConnectionLimits:
    def test_idle_connections_neither_exhaust_descriptors_nor_lock_out_a_token_holder(
        self, tcp_daemon: tuple[Path, RuntimeRecord]
    ) -> None:
        project, record = tcp_daemon
        baseline = open_descriptors(record.pid)
        with idle_sockets(port_of(record), IDLE_SOCKETS):
            time.sleep(0.5)  # let the daemon accept them all
            held = open_descriptors(record.pid)
            started = time.monotonic()
            with DaemonClient.for_project(project, timeout=5) as client:
                assert client.health().ok is True
            assert time.monotonic() - started < 1.0
        assert held <= baseline + MAX_CONNECTIONS + 5, f"{held} descriptors ({baseline} at rest)"

    def test_connections_that_send_no_request_are_closed_quickly(
        self, tcp_daemon: tuple[Path, RuntimeRecord]
    ) -> None:
        _, record = tcp_daemon
        baseline = open_descriptors(record.pid)
        with idle_sockets(port_of(record), 20) as sockets:
            time.sleep(REQUEST_HEAD_TIMEOUT_S + 1)
            assert all(closed_by_server(held) for held in sockets)
            assert open_descriptors(record.pid) <= baseline + 2

    def test_a_request_without_a_token_gets_its_connection_closed(
        self, tcp_daemon: tuple[Path, RuntimeRecord]
    ) -> None:
        _, record = tcp_daemon
        port = port_of(record)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            client.settimeout(2)
            answer = b""
            while chunk := client.recv(4096):  # ends only when the server closes
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 401")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    """The real app on loopback with one open suggestion; yields a token holder and its id."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "calc.py").write_text(STUB)
    service = unstarted_service(root)
    task = Task(
        kind="complete", path="calc.py", language="python", file_text=STUB, shown_start=1,
        shown_end=2, target_start=2, target_end=2, indent="    ", symbol="double",
    )  # fmt: skip
    suggestion = build_suggestion(task, Answer("complete", "Double", "Times two.", "return x * 2"))
    service.store.add(suggestion)
    port = free_port()
    with (
        serving(service, token=TOKEN, port=port) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client,
    ):
        yield client, suggestion.id


class TestNonFiniteNumbers:
    @pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
    def test_a_rating_that_is_not_finite_is_a_422(
        self, api: tuple[httpx.Client, str], number: str
    ) -> None:
        client, suggestion_id = api
        response = client.post(
            f"/suggestions/{suggestion_id}/rate",
            content=f'{{"rating": {number}}}',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422
        (error,) = response.json()["detail"]
        assert error["loc"] == ["body", "rating"]
        assert "not a finite number" in error["input"]
        assert client.get(f"/suggestions/{suggestion_id}").json()["rating"] is None

    def test_a_non_finite_max_tokens_is_a_422(self, api: tuple[httpx.Client, str]) -> None:
        client, _ = api
        response = client.post(
            "/generate",
            content='{"prompt": "add two numbers", "max_tokens": 1e400}',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "max_tokens"]


@pytest.mark.model
class TestPromptTooLong:
    def test_a_prompt_over_the_context_is_a_413_and_the_backend_stays_up(
        self, tmp_path: Path, base_gguf: Path
    ) -> None:
        """19,999 CJK characters: under the API's length limit, over the model's context."""
        root = tmp_path / "project"
        root.mkdir()
        settings = Settings(
            backend={"prefer": "embedded", "embedded": {"model_path": str(base_gguf)}},
            sampling={"num_ctx": 2048},
        )
        service = DaemonService(root, settings)
        port = free_port()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with (
            serving(service, token=TOKEN, port=port) as url,
            httpx.Client(base_url=url, headers=headers, timeout=120) as client,
        ):
            response = client.post("/generate", json={"prompt": "写" * 19_999, "max_tokens": 8})
            assert response.status_code == 413
            assert "2048" in response.json()["detail"]
            assert client.get("/status").json()["backend"]["state"] == "ready"
            short = client.post("/generate", json={"prompt": "add two numbers", "max_tokens": 8})
            assert short.status_code == 200
