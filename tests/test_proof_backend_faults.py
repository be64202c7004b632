"""Backend faults at the daemon level: Ollama stopped, stalled, cut mid-stream, 500, garbage.

A real HTTP server on 127.0.0.1 plays Ollama (`/api/show`, streaming `/api/generate`) and can be
switched between behaving and each fault; the daemon is a live one (`tests/live_daemon.py`) with
its real Ollama backend, supervisor, engine, store and history. For every fault: the daemon
stays up, `/status` shows the backend down with the reason, nothing half-parsed is stored (a
stream cut before Ollama's `done` line is dropped even when its text would parse), and it
recovers by itself once Ollama behaves again, with no restart and no user action.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from takeaways_daemon.prompt_format import render_answer
from takeaways_daemon.settings import Settings
from tests.live_daemon import LiveDaemon
from tests.loopback_server import free_port

BROKEN = "def greet(name)\n    print('hi', name)\n"
GOOD = render_answer(
    "Add the missing colon",
    "The def line lacked its colon.",
    "def greet(name):\n    print('hi', name)",
)
SHOW = {"modelfile": "FROM x.gguf", "parameters": "", "template": "{{ .Prompt }}",
        "details": {"format": "gguf"}, "capabilities": ["completion"]}  # fmt: skip
FAULTS = ("stalled", "cut", "500", "garbage")


def line(text: str, *, done: bool = False) -> bytes:
    part = {
        "model": "takeaways",
        "created_at": "2026-01-01T00:00:00Z",
        "response": text,
        "done": done,
    }
    if done:
        part.update(done_reason="stop", prompt_eval_count=40, eval_count=12)
    return (json.dumps(part) + "\n").encode()


class FakeOllama:
    """A loopback Ollama whose `mode` the test switches: ok or one of `FAULTS`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mode = "ok"
        self.release = threading.Event()  # lets stalled handlers go at the end
        self.server: ThreadingHTTPServer | None = None
        self.connections: list[socket.socket] = []

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                fake.connections.append(self.connection)

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                mode = fake.mode
                if mode == "500":
                    self._send(500, b'{"error": "llama runner process has terminated"}')
                elif mode == "garbage":
                    self._send(
                        200, b"\x00\xff<html>not ollama</html>\n{{{\n", "application/x-ndjson"
                    )
                elif self.path == "/api/show":
                    self._send(200, json.dumps(SHOW).encode())
                elif mode == "ok":
                    body = line(GOOD[:20]) + line(GOOD[20:]) + line("", done=True)
                    self._send(200, body, "application/x-ndjson")
                else:  # stalled or cut: a stream that starts and never finishes
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    first = line(GOOD)  # the whole answer: it would parse, but `done` never comes
                    self.wfile.write(f"{len(first):x}\r\n".encode() + first + b"\r\n")
                    self.wfile.flush()
                    if mode == "stalled":
                        fake.release.wait(10)
                    self.close_connection = True  # cut: the connection ends mid-stream

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop as a killed Ollama does: no listener, and open keep-alive connections cut."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.connections.clear()


@pytest.fixture
def ollama():
    fake = FakeOllama()
    fake.start()
    yield fake
    fake.release.set()
    fake.stop()


def settings_for(fake: FakeOllama) -> Settings:
    return Settings(
        backend={
            "prefer": ["ollama"], "recheck_interval_s": 0.3,
            "ollama": {"host": fake.host, "model": "takeaways", "connect_timeout_s": 1,
                       "first_token_timeout_s": 1, "stall_timeout_s": 1},
        },
        tasks={"enabled": ["fix"]}, watcher={"debounce_ms": 50},
    )  # fmt: skip


def save_and_watch_status(daemon: LiveDaemon, name: str, errors_before: int) -> list[dict]:
    """Save a broken file; poll `/status` until the engine has counted the backend's failure."""
    (daemon.root / name).write_text(BROKEN)
    seen: list[dict] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = daemon.http.get("/status").json()
        seen.append(status["backend"])
        if status["metrics"]["counters"].get("backend_errors", 0) > errors_before:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{name}: no backend error counted; statuses seen: {seen[-3:]}")


def test_each_fault_is_shown_nothing_half_parsed_is_kept_and_the_daemon_recovers(
    ollama: FakeOllama, tmp_path: Path
) -> None:
    with LiveDaemon(tmp_path / "project", settings_for(ollama)) as daemon:
        daemon.wait_for(lambda: daemon.service.supervisor.status.state == "ready")
        for errors, fault in enumerate(("stopped", *FAULTS)):
            if fault == "stopped":
                ollama.stop()
            else:
                ollama.mode = fault
            seen = save_and_watch_status(daemon, f"broken_{fault}.py", errors)
            down = [backend for backend in seen if backend["state"] == "down"]
            assert down and down[-1]["reason"], f"{fault}: the status never showed the fault"
            assert daemon.http.get("/health").status_code == 200  # the daemon stays up
            assert not [s for s in daemon.service.store if s.path == f"broken_{fault}.py"]

            if fault == "stopped":
                ollama.start()
            ollama.mode = "ok"
            daemon.wait_for(lambda: daemon.service.supervisor.status.state == "ready")
            (daemon.root / f"after_{fault}.py").write_text(BROKEN)
            daemon.wait_for(
                lambda fault=fault: any(s.path == f"after_{fault}.py" for s in daemon.service.store)
            )
        kept = daemon.call(lambda: sorted(s.path for s in daemon.service.store))
        history = daemon.http.get("/history").json()

    assert kept == sorted(f"after_{fault}.py" for fault in ("stopped", *FAULTS))
    assert sorted(item["path"] for item in history["items"]) == kept
