"""A real uvicorn on 127.0.0.1 around a real, never-started `DaemonService`, for API tests.

Never started means no watcher runs and no model loads: suggestions enter the store the way the
engine adds them. The only backend allowed is an Ollama at a closed port, so a request that
reached the model by mistake fails with 503 instead of loading the real GGUF.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from takeaways_daemon.api.app import create_app
from takeaways_daemon.api.guard import allowed_hosts_for
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unstarted_service(root: Path) -> DaemonService:
    """The daemon's service for `root`, with only an unreachable Ollama as backend."""
    closed = {"prefer": "ollama", "ollama": {"host": f"http://127.0.0.1:{free_port()}"}}
    return DaemonService(root, Settings(backend=closed))


@contextmanager
def serving(
    service: DaemonService, *, token: str, port: int, max_body_bytes: int = 1 << 20
) -> Iterator[str]:
    """Serve the real API app for `service` on `port`; yields its base URL."""
    app = create_app(
        service,
        token=token,
        allowed_hosts=allowed_hosts_for("tcp", port),
        max_body_bytes=max_body_bytes,
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn failed to start"
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        # Open event streams end at their next keep-alive; don't wait for them.
        server.force_exit = True
        thread.join(timeout=10)
