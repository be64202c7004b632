"""A client for a project's daemon API, used by the CLI, the TUI and scripts."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from takeaways_daemon.errors import DaemonNotRunning, TakeawaysError
from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord


class ApiError(TakeawaysError):
    """The daemon refused a request; `status_code` says why (404, 409, 503…)."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


def connection_args(record: RuntimeRecord) -> dict[str, Any]:
    """httpx client arguments (base URL, transport, auth) for a daemon's address."""
    token = Path(record.token_file).read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    if record.address.startswith("unix:"):
        return {
            "base_url": "http://localhost",
            "transport": httpx.HTTPTransport(uds=record.address.removeprefix("unix:")),
            "headers": headers,
        }
    return {"base_url": record.address, "headers": headers}


def _cut(response: httpx.Response) -> None:
    # Closing a socket does not wake a thread blocked reading it; shutting it down does.
    network_stream = response.extensions.get("network_stream")
    sock = network_stream.get_extra_info("socket") if network_stream is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class DaemonClient:
    """Synchronous calls to one daemon."""

    def __init__(self, record: RuntimeRecord, timeout: float = 30.0) -> None:
        self.record = record
        self._http = httpx.Client(timeout=timeout, **connection_args(record))
        self._open_streams: set[httpx.Response] = set()

    @classmethod
    def for_project(cls, root: Path, timeout: float = 30.0) -> DaemonClient:
        """Connect to the daemon serving `root`, or raise `DaemonNotRunning`."""
        return cls(ProjectFiles(root).read_runtime(), timeout=timeout)

    def close(self) -> None:
        """Close the connection pool; a stream being read, even on another thread, ends now."""
        for response in list(self._open_streams):
            _cut(response)
        self._http.close()

    @contextlib.contextmanager
    def _stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        with self._http.stream(method, path, **kwargs) as response:
            self._open_streams.add(response)
            try:
                yield response
            finally:
                self._open_streams.discard(response)

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise DaemonNotRunning(
                f"the daemon at {self.record.address} does not answer ({error}); "
                f"restart it with `takeaways start {self.record.root}`"
            ) from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(str(detail), response.status_code)
        return response.json()

    def health(self) -> dict[str, Any]:
        """Liveness and version."""
        return self._call("GET", "/health")

    def status(self) -> dict[str, Any]:
        """Backend, watcher, queue and metrics."""
        return self._call("GET", "/status")

    def suggestions(self, **filters: str) -> list[dict[str, Any]]:
        """Kept suggestions, newest first."""
        return self._call("GET", "/suggestions", params=filters)

    def accept(self, suggestion_id: str) -> dict[str, Any]:
        """Apply a suggestion (409 if the file changed since)."""
        return self._call("POST", f"/suggestions/{suggestion_id}/accept")

    def reject(self, suggestion_id: str) -> dict[str, Any]:
        """Dismiss a suggestion."""
        return self._call("POST", f"/suggestions/{suggestion_id}/reject")

    def rate(self, suggestion_id: str, rating: int) -> dict[str, Any]:
        """Rate a suggestion +1 or -1."""
        return self._call("POST", f"/suggestions/{suggestion_id}/rate", json={"rating": rating})

    def history(self, **filters: str | int) -> dict[str, Any]:
        """This project's history rows, newest first: `{"items": [...], "total": n}`.

        Filters: q, kind, outcome, path, limit, offset (see the API contract in the README).
        """
        return self._call("GET", "/history", params=filters)

    def history_item(self, suggestion_id: str) -> dict[str, Any]:
        """One history row with its context and prompt (ApiError 404 if unknown)."""
        return self._call("GET", f"/history/{suggestion_id}")

    def history_stats(self) -> dict[str, Any]:
        """Counts by kind and outcome, acceptance rate, ratings and latency percentiles."""
        return self._call("GET", "/history/stats")

    def generate(self, prompt: str, max_tokens: int | None = None) -> dict[str, Any]:
        """Prompt in, code out."""
        body: dict[str, Any] = {"prompt": prompt}
        if max_tokens:
            body["max_tokens"] = max_tokens
        return self._call("POST", "/generate", json=body)

    def ask(self, suggestion_id: str, question: str) -> Iterator[dict[str, Any]]:
        """A follow-up answer as it streams: `{"text": ...}` records, then `{"done": true, ...}`."""
        with self._stream(
            "POST", f"/suggestions/{suggestion_id}/ask", json={"question": question},
            timeout=httpx.Timeout(10, read=300),
        ) as response:  # fmt: skip
            if response.status_code >= 400:
                detail = response.read().decode()
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    detail = str(json.loads(detail)["detail"])
                raise ApiError(detail, response.status_code)
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)

    def events(self) -> Iterator[tuple[str, str]]:
        """(event, data) pairs from the live event stream, until the daemon goes away."""
        with self._stream("GET", "/events", timeout=httpx.Timeout(10, read=None)) as response:
            if response.status_code >= 400:
                raise ApiError(response.read().decode(), response.status_code)
            event = "message"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    yield event, line.split(":", 1)[1].strip()
                    event = "message"
