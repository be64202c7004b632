"""A client for a project's daemon API, used by the CLI, the TUI and scripts.

Answers come back as the API's own wire models (`takeaways_daemon/wire.py`), never as dicts.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from takeaways_daemon.errors import DaemonNotRunning, TakeawaysError
from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord
from takeaways_daemon.wire import (
    AnswerChunk,
    AnswerDone,
    AnswerRecord,
    CancelResult,
    DaemonStatus,
    GenerateDone,
    GenerateResult,
    Health,
    HistoryItemDetail,
    HistoryPage,
    HistoryStats,
    ProgressView,
    StatsReport,
    StreamEvent,
    Suggestion,
    SuggestionEvent,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
_SUGGESTIONS = TypeAdapter(list[Suggestion])


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

    def _call(self, method: str, path: str, **kwargs: Any) -> bytes:
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
        return response.content

    def _model(self, model: type[ModelT], method: str, path: str, **kwargs: Any) -> ModelT:
        return model.model_validate_json(self._call(method, path, **kwargs))

    def health(self) -> Health:
        """Liveness and version."""
        return self._model(Health, "GET", "/health")

    def status(self) -> DaemonStatus:
        """Backend, watcher, queue and metrics."""
        return self._model(DaemonStatus, "GET", "/status")

    def suggestions(self, **filters: str) -> list[Suggestion]:
        """Kept suggestions, newest first (filters: status, path, kind)."""
        return _SUGGESTIONS.validate_json(self._call("GET", "/suggestions", params=filters))

    def suggestion(self, suggestion_id: str) -> Suggestion:
        """One kept suggestion (ApiError 404 if the daemon does not keep it)."""
        return self._model(Suggestion, "GET", f"/suggestions/{suggestion_id}")

    def accept(self, suggestion_id: str) -> Suggestion:
        """Apply a suggestion (409 if the file changed since)."""
        return self._model(Suggestion, "POST", f"/suggestions/{suggestion_id}/accept")

    def reject(self, suggestion_id: str) -> Suggestion:
        """Dismiss a suggestion."""
        return self._model(Suggestion, "POST", f"/suggestions/{suggestion_id}/reject")

    def rate(self, suggestion_id: str, rating: int) -> Suggestion:
        """Rate a suggestion +1 or -1."""
        return self._model(
            Suggestion, "POST", f"/suggestions/{suggestion_id}/rate", json={"rating": rating}
        )

    def history(self, **filters: str | int) -> HistoryPage:
        """This project's history rows, newest first, and how many match.

        Filters: q, kind, outcome, path, limit, offset (see the API contract in the README).
        """
        return self._model(HistoryPage, "GET", "/history", params=filters)

    def history_item(self, suggestion_id: str) -> HistoryItemDetail:
        """One history row with its context and prompt (ApiError 404 if unknown)."""
        return self._model(HistoryItemDetail, "GET", f"/history/{suggestion_id}")

    def history_stats(self) -> HistoryStats:
        """Counts by kind and outcome, acceptance rate, ratings and latency percentiles."""
        return self._model(HistoryStats, "GET", "/history/stats")

    def stats(self) -> StatsReport:
        """Last hour, day and all time: latency by stage, accuracy per kind and model, memory."""
        return self._model(StatsReport, "GET", "/stats")

    def metrics_text(self) -> str:
        """`GET /metrics`: the Prometheus text format."""
        return self._call("GET", "/metrics").decode()

    def generate(self, prompt: str, max_tokens: int | None = None) -> GenerateResult:
        """Prompt in, code out."""
        body: dict[str, Any] = {"prompt": prompt}
        if max_tokens:
            body["max_tokens"] = max_tokens
        return self._model(GenerateResult, "POST", "/generate", json=body)

    def generate_stream(
        self, prompt: str, max_tokens: int | None = None
    ) -> Iterator[AnswerChunk | GenerateDone]:
        """`generate` as the model writes it: `AnswerChunk`s, then one `GenerateDone`."""
        body: dict[str, Any] = {"prompt": prompt, "stream": True}
        if max_tokens:
            body["max_tokens"] = max_tokens
        for record in self._ndjson("/generate", body):
            if record.get("done"):
                yield GenerateDone.model_validate(record)
            else:
                yield AnswerChunk.model_validate(record)

    def progress(self) -> ProgressView:
        """What the model works on now, the work waiting, and tasks that found nothing."""
        return self._model(ProgressView, "GET", "/progress")

    def cancel(self) -> CancelResult:
        """Cancel the background task in flight."""
        return self._model(CancelResult, "POST", "/progress/cancel")

    def _ndjson(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """POST `body` and yield each NDJSON line of the streamed answer as it arrives."""
        with self._stream("POST", path, json=body, timeout=httpx.Timeout(10, read=300)) as response:
            if response.status_code >= 400:
                detail = response.read().decode()
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    detail = str(json.loads(detail)["detail"])
                raise ApiError(detail, response.status_code)
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)

    def ask(self, suggestion_id: str, question: str) -> Iterator[AnswerRecord]:
        """A follow-up answer as it streams: `AnswerChunk`s, then one `AnswerDone`."""
        for record in self._ndjson(f"/suggestions/{suggestion_id}/ask", {"question": question}):
            if record.get("done"):
                yield AnswerDone.model_validate(record)
            else:
                yield AnswerChunk.model_validate(record)

    def events(self) -> Iterator[StreamEvent]:
        """The live event stream, until the daemon goes away: its status (`hello`), then every
        suggestion event and progress update."""
        with self._stream("GET", "/events", timeout=httpx.Timeout(10, read=None)) as response:
            if response.status_code >= 400:
                raise ApiError(response.read().decode(), response.status_code)
            event = "message"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    data = line.split(":", 1)[1].strip()
                    if event == "hello":
                        yield DaemonStatus.model_validate_json(data)
                    elif event == "progress":
                        yield ProgressView.model_validate_json(data)
                    elif event in ("added", "updated", "removed"):
                        yield SuggestionEvent.model_validate(
                            {"type": event, "suggestion": json.loads(data)}
                        )
                    event = "message"
