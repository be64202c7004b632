"""schemathesis against the daemon's own OpenAPI schema: no 5xx, and every answer matches it.

The daemon is a live one on loopback (`tests/live_daemon.py`): watcher, engine, history and the
real guard, with the `scripted` model answering every prompt, so `/generate` and follow-up
questions reach a model rather than a 503. Cases are generated from the schema the daemon
serves, valid ones and invalid ones, a bounded number per operation. The event stream never
ends by design, so it is left to the load test (tests/test_proof_load.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from takeaways_daemon.prompt_format import render_answer
from takeaways_daemon.settings import Settings
from tests.live_daemon import LiveDaemon
from tests.plugins.install import install_plugin

if TYPE_CHECKING:
    from takeaways_scripted import ScriptedBackend

EXAMPLES_PER_OPERATION = 15
UNBOUNDED_STREAMS = {"/events"}
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
ANSWER = render_answer("Add the colon", "The def line lacked it.", "def f(x):\n    return x")


@pytest.fixture
def daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    install_plugin(
        tmp_path / "site", monkeypatch, "takeaways-scripted",
        {"scripted": "takeaways_scripted:register"},
    )  # fmt: skip
    settings = Settings(backend={"prefer": ["scripted"]}, tasks={"enabled": ["fix"]})
    with LiveDaemon(tmp_path / "project", settings) as live:
        live.wait_for(lambda: live.service.supervisor.status.state == "ready")
        backend = cast("ScriptedBackend", live.service.supervisor.backend)
        for _ in range(5000):
            backend.enqueue(ANSWER)
        yield live


def test_every_operation_answers_within_its_schema_and_never_with_a_5xx(daemon: LiveDaemon):
    auth = {"Authorization": f"Bearer {daemon.token}"}
    schema = schemathesis.openapi.from_url(f"{daemon.base_url}/openapi.json", headers=auth)
    tested: list[str] = []
    statuses: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in UNBOUNDED_STREAMS:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                phases=[Phase.generate], suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                response = case.call_and_validate(
                    base_url=daemon.base_url, headers=auth, checks=CHECKS, timeout=30
                )
                statuses.append(response.status_code)

            try:
                check()
            except Unsatisfiable:
                # An operation with no parameters and no body has no invalid input to send.
                assert mode is GenerationMode.NEGATIVE, operation.label
        tested.append(f"{operation.method.upper()} {operation.path}")
    # The routes that matter are all in the schema (and so were fuzzed).
    for route in ("POST /generate", "GET /metrics", "GET /stats", "GET /history",
                  "POST /suggestions/{suggestion_id}/accept", "GET /status"):  # fmt: skip
        assert route in tested, tested
    assert len(statuses) >= 10 * len(tested)  # cases really ran, valid and invalid ones
    assert 200 in statuses and 422 in statuses
    assert daemon.call(lambda: daemon.service.supervisor.status.state) == "ready"
