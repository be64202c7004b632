"""Specification of the local API's access rules and suggestion routes, over real HTTP.

A real uvicorn server on 127.0.0.1 serves the real app around a real `DaemonService`
(`tests/loopback_server.py`). /generate is only ever sent bodies the guard must refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.service import DaemonService
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.suggestions import Suggestion
from takeaways_daemon.tasks import Task
from tests.loopback_server import free_port, serving, unstarted_service

TOKEN = "s3cret-token-for-tests"
MAX_BODY = 4096
STUB = "def double(x):\n    pass\n"


@dataclass
class Daemon:
    service: DaemonService
    root: Path
    url: str
    port: int

    def client(self, token: str | None = TOKEN, **headers: str) -> httpx.Client:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=5)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "calc.py").write_text(STUB)
    service = unstarted_service(root)
    port = free_port()
    with serving(service, token=TOKEN, port=port, max_body_bytes=MAX_BODY) as url:
        yield Daemon(service, root, url, port)


def _suggestion(daemon: Daemon, path: str = "calc.py") -> Suggestion:
    """A real suggestion for a real file of the project, as the engine would build it."""
    text = (daemon.root / path).read_text()
    task = Task(
        kind="complete", path=path, language="python", file_text=text, shown_start=1,
        shown_end=2, target_start=2, target_end=2, indent="    ", symbol="double",
    )  # fmt: skip
    answer = Answer("complete", "Double it", "Multiplies by two.", "return x * 2")
    suggestion = build_suggestion(task, answer)
    daemon.service.store.add(suggestion)
    return suggestion


class TestAccess:
    def test_a_request_without_a_token_is_refused(self, daemon: Daemon) -> None:
        response = daemon.client(token=None).get("/health")
        assert response.status_code == 401
        assert "token" in response.json()["detail"]

    @pytest.mark.parametrize("token", ["wrong", TOKEN + "x", TOKEN[:-1], TOKEN.upper()])
    def test_a_wrong_token_is_refused(self, daemon: Daemon, token: str) -> None:
        assert daemon.client(token=token).get("/health").status_code == 401

    def test_a_bearer_scheme_without_a_token_is_refused(self, daemon: Daemon) -> None:
        assert daemon.client(token=None, Authorization="Bearer").get("/health").status_code == 401

    def test_a_token_in_another_scheme_is_refused(self, daemon: Daemon) -> None:
        client = daemon.client(token=None, Authorization=f"Basic {TOKEN}")
        assert client.get("/health").status_code == 401

    def test_a_foreign_host_is_refused_even_with_the_token(self, daemon: Daemon) -> None:
        """A DNS-rebinding page reaches 127.0.0.1 under its own name: the Host gives it away."""
        response = daemon.client(Host="evil.example").get("/health")
        assert response.status_code == 403
        assert "Host" in response.json()["detail"]

    def test_a_foreign_port_on_localhost_is_refused(self, daemon: Daemon) -> None:
        response = daemon.client(Host=f"localhost:{daemon.port + 1}").get("/health")
        assert response.status_code == 403

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST"])
    def test_local_host_names_are_allowed(self, daemon: Daemon, host: str) -> None:
        response = daemon.client(Host=f"{host}:{daemon.port}").get("/health")
        assert response.status_code == 200

    def test_health_answers_with_the_project_root(self, daemon: Daemon) -> None:
        response = daemon.client().get("/health")
        assert response.status_code == 200
        assert response.json()["ok"] is True
        assert response.json()["root"] == str(daemon.root.resolve())

    @pytest.mark.parametrize("token", [None, TOKEN])
    def test_a_cors_preflight_gets_no_cors_headers(self, daemon: Daemon, token: str | None) -> None:
        """No Access-Control-* header ever: browsers then keep other origins from reading."""
        response = daemon.client(token=token).options(
            "/suggestions",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert response.status_code >= 400
        assert not [name for name in response.headers if name.startswith("access-control-")]


class TestBodyLimit:
    def test_a_declared_oversized_body_is_refused(self, daemon: Daemon) -> None:
        body = b'{"prompt": "' + b"x" * MAX_BODY + b'"}'
        response = daemon.client().post(
            "/generate", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413

    @staticmethod
    def _post_chunked(daemon: Daemon) -> httpx.Response:
        def chunks() -> Iterator[bytes]:
            yield b'{"prompt": "'
            for _ in range(8):
                yield b"x" * 1024
            yield b'"}'

        response = daemon.client().post(
            "/generate", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert response.request.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.request.headers
        return response

    def test_an_oversized_chunked_body_never_reaches_the_route(self, daemon: Daemon) -> None:
        """Without Content-Length the guard counts the bytes as they arrive and stops reading."""
        response = self._post_chunked(daemon)
        # A body that got through would reach the (unreachable) backend and answer 503.
        assert response.status_code in (400, 413)

    def test_an_oversized_chunked_body_is_413(self, daemon: Daemon) -> None:
        assert self._post_chunked(daemon).status_code == 413

    def test_a_small_body_passes_the_guard(self, daemon: Daemon) -> None:
        """An invalid but small rating reaches the app (422), proving the limit is the cause."""
        response = daemon.client().post("/suggestions/nope/rate", json={"rating": 0})
        assert response.status_code == 422


class TestSuggestionRoutes:
    def test_the_list_starts_empty(self, daemon: Daemon) -> None:
        response = daemon.client().get("/suggestions")
        assert response.status_code == 200
        assert response.json() == []

    def test_the_list_holds_added_suggestions_newest_first(self, daemon: Daemon) -> None:
        first, second = _suggestion(daemon), _suggestion(daemon)
        listed = daemon.client().get("/suggestions").json()
        assert [item["id"] for item in listed] == [second.id, first.id]
        assert daemon.client().get("/suggestions", params={"kind": "fix"}).json() == []

    def test_an_unknown_id_is_404_with_a_json_detail(self, daemon: Daemon) -> None:
        response = daemon.client().post("/suggestions/nope/accept")
        assert response.status_code == 404
        assert "nope" in response.json()["detail"]

    def test_accepting_writes_the_patch_to_disk(self, daemon: Daemon) -> None:
        suggestion = _suggestion(daemon)
        response = daemon.client().post(f"/suggestions/{suggestion.id}/accept")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "accepted"
        assert (daemon.root / "calc.py").read_text() == "def double(x):\n    return x * 2\n"

    def test_accepting_twice_is_refused(self, daemon: Daemon) -> None:
        suggestion = _suggestion(daemon)
        client = daemon.client()
        assert client.post(f"/suggestions/{suggestion.id}/accept").status_code == 200
        second = client.post(f"/suggestions/{suggestion.id}/accept")
        assert second.status_code == 409
        assert "accepted, not open" in second.json()["detail"]

    def test_accepting_after_the_file_changed_is_409_and_leaves_it_alone(
        self, daemon: Daemon
    ) -> None:
        suggestion = _suggestion(daemon)
        edited = "def double(x):\n    pass  # the user is still typing\n"
        (daemon.root / "calc.py").write_text(edited)
        response = daemon.client().post(f"/suggestions/{suggestion.id}/accept")
        assert response.status_code == 409
        assert "changed since" in response.json()["detail"]
        assert (daemon.root / "calc.py").read_text() == edited
        assert daemon.service.get(suggestion.id).status == "stale"

    def test_rejecting_marks_it_rejected(self, daemon: Daemon) -> None:
        suggestion = _suggestion(daemon)
        response = daemon.client().post(f"/suggestions/{suggestion.id}/reject")
        assert response.status_code == 200
        assert response.json()["status"] == "rejected"
        assert (daemon.root / "calc.py").read_text() == STUB

    def test_rating_accepts_plus_or_minus_one_only(self, daemon: Daemon) -> None:
        suggestion = _suggestion(daemon)
        client = daemon.client()
        up = client.post(f"/suggestions/{suggestion.id}/rate", json={"rating": 1})
        assert up.status_code == 200
        assert up.json()["rating"] == 1
        out_of_range = client.post(f"/suggestions/{suggestion.id}/rate", json={"rating": 5})
        assert out_of_range.status_code == 422
        assert client.get(f"/suggestions/{suggestion.id}").json()["rating"] == 1
