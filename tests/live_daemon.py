"""A whole daemon in this process for monitoring and proof tests: service started, API on loopback.

Unlike `loopback_server.unstarted_service`, the watcher, engine, backend supervisor, memory
sampler and (unless turned off) history all run, exactly as `run_daemon` wires them; the API is
the real app behind the real guard, served by uvicorn on 127.0.0.1, and the project's runtime
files are written so `DaemonClient.for_project` and the CLI find it with no test hook. The event
loop runs on a thread of its own, so a test can drive it with plain blocking HTTP calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import uvicorn

from takeaways_daemon.api.app import create_app
from takeaways_daemon.api.guard import allowed_hosts_for
from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings
from tests.loopback_server import free_port

T = TypeVar("T")


class LiveDaemon:
    """`with LiveDaemon(root, settings) as daemon:` a running daemon; `daemon.http` is a client."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.files = ProjectFiles(self.root)
        self.loop = asyncio.new_event_loop()
        self.service: DaemonService
        self.base_url = ""
        self.token = ""
        self._lock: IO[str] | None = None
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None]
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = 30) -> T:
        """Run `coroutine` on the daemon's loop and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=timeout_s)

    def call(self, function: Callable[[], T]) -> T:
        """Call `function` on the daemon's loop (the store and engine belong to it)."""

        async def wrapped() -> T:
            return function()

        return self.run(wrapped())

    def __enter__(self) -> LiveDaemon:
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = self.files.acquire_lock()
        self._thread.start()
        port = free_port()
        self.token = self.files.new_token()

        async def start() -> None:
            self.service = DaemonService(self.root, self.settings)
            app = create_app(
                self.service, token=self.token, allowed_hosts=allowed_hosts_for("tcp", port),
                max_body_bytes=self.settings.api.max_body_bytes,
            )  # fmt: skip
            config = uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="critical", lifespan="off"
            )
            self._server = uvicorn.Server(config)
            await self.service.start()
            self._serving = self.loop.create_task(self._server.serve())
            while not self._server.started:
                await asyncio.sleep(0.01)

        self.run(start())
        self.base_url = f"http://127.0.0.1:{port}"
        record = RuntimeRecord(
            pid=0, root=str(self.root), transport="tcp", address=self.base_url,
            token_file=str(self.files.token), log_file=str(self.files.log), started_at=time.time(),
        )  # fmt: skip
        self.files.write_runtime(record)
        self.http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.http.close()

        async def stop() -> None:
            if self._server is not None:
                self._server.should_exit = True
                self._server.force_exit = True  # open event streams end without waiting
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._serving, 15)
            await self.service.stop()

        try:
            self.run(stop(), timeout_s=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.files.clear()
            if self._lock is not None:
                self._lock.close()

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 20) -> None:
        """Poll `condition` (on the daemon's loop) until true, or fail."""
        deadline = time.monotonic() + timeout_s
        while not self.call(condition):
            assert time.monotonic() < deadline, f"not true within {timeout_s} s: {condition}"
            time.sleep(0.02)
