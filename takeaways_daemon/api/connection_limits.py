"""Bounded connections for the API server: no local process can exhaust the daemon's descriptors.

In TCP mode any local process can connect, token or not. uvicorn keeps a connection that never
sends a request open forever, so tens of thousands of idle sockets ran the daemon out of file
descriptors and token holders got no answer. Here each connection must send its request head
within `REQUEST_HEAD_TIMEOUT_S`, and at most `MAX_CONNECTIONS` are open at once: a new one first
pushes out the oldest idle connection (none of its requests running), so a token holder's fresh
connection is served at once even while someone holds many idle ones. Refused requests (401,
403) close their connection too (see `guard`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_CONNECTIONS = 200
"""Open API connections at most (the TUI and CLIs need a handful; event streams count)."""
REQUEST_HEAD_TIMEOUT_S = 5.0
"""Seconds a new connection has to send a complete request head."""
KEEP_ALIVE_TIMEOUT_S = 5
"""Seconds an idle keep-alive connection stays open after its last answer."""
MAX_REQUEST_HEAD_BYTES = 16 * 1024
"""Largest request head (request line and headers) the server buffers."""


class BoundedHttpProtocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap and a deadline for the first request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connected_at = 0.0
        self._head_deadline: asyncio.TimerHandle | None = None
        self._tracked = False

    @property
    def is_idle(self) -> bool:
        """No request running: never sent one, or its last answer is complete."""
        return self.cycle is None or self.cycle.response_complete

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        """Make room if needed (oldest idle connection first), then start the head deadline."""
        assert isinstance(transport, asyncio.Transport)
        if len(self.connections) >= MAX_CONNECTIONS and not self._evict_oldest_idle():
            transport.abort()  # every slot runs a request: refuse this one
            return
        self._tracked = True
        super().connection_made(transport)
        self.connected_at = self.loop.time()
        self._head_deadline = self.loop.call_later(REQUEST_HEAD_TIMEOUT_S, self._drop_if_silent)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection (refused ones were never tracked)."""
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        if self._tracked:
            super().connection_lost(exc)

    def _drop_if_silent(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.transport.abort()

    def _evict_oldest_idle(self) -> bool:
        idle = [
            connection
            for connection in self.connections
            if isinstance(connection, BoundedHttpProtocol)
            and connection.is_idle
            and not connection.transport.is_closing()
        ]
        if not idle:
            return False
        # Connections that never sent a request go first, then the longest idle keep-alives.
        oldest = min(idle, key=lambda c: (c.cycle is not None, c.connected_at))
        oldest.transport.abort()
        self.connections.discard(oldest)
        return True


def server_limits() -> dict[str, Any]:
    """uvicorn.Config arguments that bound connections, idle time and request heads."""
    return {
        "http": BoundedHttpProtocol,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT_S,
        "h11_max_incomplete_event_size": MAX_REQUEST_HEAD_BYTES,
    }
