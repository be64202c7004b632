"""`--model NAME` on `scan`, `start` and `watch`: another Ollama model answers, through its chat.

Ollama cannot run here, so a pytest-httpserver on 127.0.0.1 stands in for it, speaking the
documented `/api/show` and streaming `/api/chat`; the CLI runs as a real subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from takeaways_daemon.prompt_format import SYSTEM_PROMPT, render_answer

CODER = "qwen2.5-coder:7b"
BROKEN = "def add(a, b)\n    return a + b\n"
FIXED = "def add(a, b):\n    return a + b"
ANSWER = render_answer("Add the missing colon", "The def lacked its colon.", FIXED)
SHOW = {"modelfile": "FROM x", "parameters": "", "template": "{{ .Prompt }}", "details": {}}


class CoderOllama:
    """An Ollama stand-in that has only `CODER` and answers every chat with `ANSWER`."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict[str, Any]]] = {"/api/show": [], "/api/chat": []}

    def show(self, request: Request) -> Response:
        body = request.get_json()
        self.bodies["/api/show"].append(body)
        if body["model"] != CODER:
            return Response(json.dumps({"error": f"model '{body['model']}' not found"}), 404)
        return Response(json.dumps(SHOW), content_type="application/json")

    def chat(self, request: Request) -> Response:
        self.bodies["/api/chat"].append(request.get_json())
        half = len(ANSWER) // 2
        lines = [
            {"model": CODER, "message": {"role": "assistant", "content": ANSWER[:half]}},
            {"model": CODER, "message": {"role": "assistant", "content": ANSWER[half:]}},
            {"model": CODER, "message": {"role": "assistant", "content": ""}, "done": True},
        ]
        for line in lines:
            line.setdefault("done", False)
        ndjson = "".join(json.dumps(line) + "\n" for line in lines)
        return Response(ndjson, content_type="application/x-ndjson")


@pytest.fixture
def coder(httpserver_ipv4: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> CoderOllama:
    """The stand-in, as the only backend the CLI may use."""
    fake = CoderOllama()
    httpserver_ipv4.expect_request("/api/show").respond_with_handler(fake.show)
    httpserver_ipv4.expect_request("/api/chat").respond_with_handler(fake.chat)
    monkeypatch.setenv("TAKEAWAYS_BACKEND__OLLAMA__HOST", httpserver_ipv4.url_for("/").rstrip("/"))
    monkeypatch.setenv("TAKEAWAYS_BACKEND__PREFER", "ollama")
    monkeypatch.setenv("TAKEAWAYS_HISTORY__ENABLED", "false")
    return fake


def takeaways(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_scan_with_model_asks_that_model_through_chat(tmp_path: Path, coder: CoderOllama) -> None:
    (tmp_path / "calc.py").write_text(BROKEN)

    result = takeaways("scan", str(tmp_path), "--json", "--kind", "fix", "--model", CODER)

    assert result.returncode == 0, result.stderr
    [fix] = json.loads(result.stdout)["suggestions"]
    assert fix["replacement"] == FIXED + "\n"
    assert [body["model"] for body in coder.bodies["/api/show"]] == [CODER]
    [chat] = coder.bodies["/api/chat"]
    assert chat["model"] == CODER
    roles = [message["role"] for message in chat["messages"]]
    assert roles == ["system", "user", "assistant", "user"]  # a worked example: untuned model
    assert chat["messages"][0]["content"] == SYSTEM_PROMPT
    assert "File: calc.py (python)" in chat["messages"][-1]["content"]


def test_scan_without_model_asks_the_configured_one(tmp_path: Path, coder: CoderOllama) -> None:
    """The flag is what changed the model above: without it the default (ours) is asked for."""
    (tmp_path / "calc.py").write_text(BROKEN)

    result = takeaways("scan", str(tmp_path), "--json", "--kind", "fix")

    assert result.returncode != 0
    assert "has no model 'takeaways'" in result.stderr
    assert [body["model"] for body in coder.bodies["/api/show"]] == ["takeaways"]
    assert coder.bodies["/api/chat"] == []


def test_start_with_model_serves_that_model(tmp_path: Path, coder: CoderOllama) -> None:
    started = takeaways("start", str(tmp_path), "--model", CODER)
    assert started.returncode == 0, started.stderr
    try:
        deadline, backend = time.monotonic() + 30, {}
        while time.monotonic() < deadline and backend.get("state") != "ready":
            shown = takeaways("status", str(tmp_path), "--json")
            backend = json.loads(shown.stdout)["backend"]
            time.sleep(0.1)
    finally:
        assert takeaways("stop", str(tmp_path)).returncode == 0

    assert (backend["state"], backend["name"], backend["model"]) == ("ready", "ollama", CODER)
    assert backend["details"]["endpoint"] == "/api/chat"


def test_watch_with_model_announces_that_model(tmp_path: Path, coder: CoderOllama) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "takeaways_daemon", "watch", str(tmp_path), "--model", CODER],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "(ready)" in line or "(down)" in line or len(lines) > 50:
                break
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0

    assert f"backend: ollama {CODER} (ready)\n" in lines, "".join(lines)
