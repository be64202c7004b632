"""Access control for the local API, as plain ASGI middleware in front of the app.

Checks, in order: the Host header (blocks DNS-rebinding pages in a browser), the bearer token
(any other local user or process without the 0600 token file is refused), and the body size.
No CORS headers are ever sent, so browsers will not let other origins read answers.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # A refused client gets no idle connection to hold on to.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ApiGuard:
    """Refuses requests with a foreign Host (403), no valid token (401) or a large body (413)."""

    def __init__(
        self, app: ASGIApp, *, token: str, allowed_hosts: Iterable[str], max_body_bytes: int
    ) -> None:
        self.app = app
        self.token = token.encode()
        self.allowed_hosts = {host.lower() for host in allowed_hosts}
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.lower(): value for key, value in scope["headers"]}
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if host not in self.allowed_hosts:
            await _reply(send, 403, "foreign Host header: the API only answers local clients")
            return
        authorization = headers.get(b"authorization", b"")
        scheme, _, presented = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(presented.strip(), self.token):
            await _reply(send, 401, "missing or wrong bearer token: read it from the token file")
            return
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _reply(send, 413, f"request body over {self.max_body_bytes} bytes")
            return
        await self._forward_counting(scope, receive, send)

    async def _forward_counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A chunked body has no Content-Length: count it as it arrives.
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # FastAPI turns other errors while reading a body into 400; this passes.
                    raise HTTPException(413, f"request body over {self.max_body_bytes} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except HTTPException as error:
            # Raised outside a route (a body read by middleware or a plain endpoint).
            if error.status_code != 413 or started:
                raise
            await _reply(send, 413, f"request body over {self.max_body_bytes} bytes")


def allowed_hosts_for(transport: str, port: int | None) -> list[str]:
    """Host header values a legitimate local client sends."""
    if transport == "unix":
        return ["localhost", "takeaways"]
    names = ["127.0.0.1", "localhost"]
    return names + [f"{name}:{port}" for name in names]
