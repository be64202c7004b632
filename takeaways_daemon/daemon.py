"""Run one daemon: hold the project lock, serve the API, watch, suggest; stop on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import os
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import uvicorn

from takeaways_daemon.api.app import create_app
from takeaways_daemon.api.connection_limits import server_limits
from takeaways_daemon.api.guard import allowed_hosts_for
from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord
from takeaways_daemon.sanitize import strip_control
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings

log = logging.getLogger("takeaways_daemon")

# Called with the service once it runs: `takeaways watch` prints suggestions through this.
OnStarted = Callable[[DaemonService, RuntimeRecord], Coroutine[Any, Any, None]]


class SanitizingFormatter(logging.Formatter):
    """Formats a record, then strips terminal escape codes (file names and model text carry them).

    Someone reading the log with `cat` or `tail -f` would otherwise have their terminal retitled
    or recoloured by a file name.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, safe to print."""
        return strip_control(super().format(record))


def configure_logging(log_file: Path, *, console: bool = False) -> None:
    """Log to the project's state folder (rotated), and to stderr when in the foreground."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    file_handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=2 << 20, backupCount=2)
    file_handler.setFormatter(
        SanitizingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler()
        stream.setLevel(logging.WARNING)
        stream.setFormatter(SanitizingFormatter("takeaways: %(message)s"))
        root.addHandler(stream)


def _listen(files: ProjectFiles, settings: Settings) -> tuple[socket.socket, str, int | None]:
    if settings.api.transport == "unix":
        files.socket.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # The umask makes the socket 0600 from birth: no window where others can connect.
        previous = os.umask(0o177)
        try:
            listener.bind(str(files.socket))
        finally:
            os.umask(previous)
        return listener, f"unix:{files.socket}", None
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", settings.api.port))
    port = listener.getsockname()[1]
    return listener, f"http://127.0.0.1:{port}", port


async def run_daemon(
    root: Path, settings: Settings, *, on_started: OnStarted | None = None
) -> None:
    """Serve `root` until SIGTERM or SIGINT."""
    files = ProjectFiles(root)
    lock = files.acquire_lock()
    try:
        service = DaemonService(root, settings)
        listener, address, port = _listen(files, settings)
        token = files.new_token()
        app = create_app(
            service,
            token=token,
            allowed_hosts=allowed_hosts_for(settings.api.transport, port),
            max_body_bytes=settings.api.max_body_bytes,
        )
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", **server_limits()
        )
        server = uvicorn.Server(config)
        await service.start()
        # uvicorn turns SIGTERM/SIGINT into a graceful exit, then re-raises the signal once it
        # restores the previous handlers. Ours only asks the server to exit, so a signal before,
        # during or after serving ends in the cleanup below rather than killing the process.
        previous_handlers = {
            sig: signal.signal(sig, lambda *_: setattr(server, "should_exit", True))
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        record = RuntimeRecord(
            pid=os.getpid(), root=str(files.root), transport=settings.api.transport,
            address=address, token_file=str(files.token), log_file=str(files.log),
            started_at=time.time(),
        )  # fmt: skip
        files.write_runtime(record)
        log.info("daemon %d serving %s at %s", os.getpid(), files.root, address)
        printer = asyncio.create_task(on_started(service, record)) if on_started else None
        try:
            await serving  # uvicorn handles SIGTERM/SIGINT by finishing this
        finally:
            if printer:
                printer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await printer
            await service.stop()
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
            log.info("daemon %d stopped", os.getpid())
    finally:
        files.clear()
        lock.close()
