"""Admission control: a bounded number of requests in flight per lane; the rest are told to retry.

One local model answers one prompt at a time, so `/generate` and follow-up questions queue
behind it; event streams each hold a connection open for as long as the client wants. Without a
bound, a burst of clients makes every request wait (and hang, from the client's side). With one,
a request over the bound gets an immediate 503 (the model is busy) or 429 (too many requests)
with `Retry-After`, and everything admitted is answered.

It sits behind the access guard, so requests without the token never take a slot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from takeaways_daemon.telemetry.instruments import Instruments


@dataclass(frozen=True)
class Lane:
    """A class of routes sharing one bound."""

    name: str
    slots: int
    """Requests of this lane in flight at once (running or waiting for the model)."""
    status: int
    retry_after_s: int
    reason: str


MODEL_LANE = Lane("model", 4, 503, 2, "the model is busy with other requests")
STREAM_LANE = Lane("stream", 32, 503, 5, "too many open event streams")
API_LANE = Lane("api", 64, 429, 1, "too many requests in flight")


def lane_of(path: str, method: str) -> Lane:
    """Which lane a request is counted in."""
    if method == "POST" and (path == "/generate" or path.endswith("/ask")):
        return MODEL_LANE
    if path == "/events":
        return STREAM_LANE
    return API_LANE


class AdmissionGate:
    """ASGI middleware: admits a request if its lane has a free slot, else refuses at once."""

    def __init__(
        self, app: ASGIApp, instruments: Instruments, lanes: tuple[Lane, ...] | None = None
    ) -> None:
        self.app = app
        self.instruments = instruments
        self.in_flight: dict[str, int] = {}
        self.lanes = {lane.name: lane for lane in lanes or (MODEL_LANE, STREAM_LANE, API_LANE)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = lane_of(scope["path"], scope["method"])
        lane = self.lanes.get(chosen.name, chosen)
        if self.in_flight.get(lane.name, 0) >= lane.slots:
            self.instruments.refused.labels(route=lane.name, status=str(lane.status)).inc()
            await _refuse(send, lane)
            return
        # The event loop runs one coroutine at a time: check and increment cannot interleave.
        self.in_flight[lane.name] = self.in_flight.get(lane.name, 0) + 1
        gauge = self.instruments.in_flight.labels(route=lane.name)
        gauge.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[lane.name] -= 1
            gauge.dec()


async def _refuse(send: Send, lane: Lane) -> None:
    body = json.dumps({"detail": f"{lane.reason}; retry in {lane.retry_after_s} s"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": lane.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(lane.retry_after_s).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
