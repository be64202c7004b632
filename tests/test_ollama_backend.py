"""The Ollama backend against local HTTP servers that speak Ollama's documented API.

Ollama itself cannot run in the test environment, so these servers stand in for it: a
pytest-httpserver instance for well-formed exchanges, and a raw socket server for what only a
misbehaving connection can show (a body cut off mid-stream, a stall, silence). All bind to
127.0.0.1 only. The live test against a real server is in `test_ollama_live.py`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from takeaways_daemon.backends.base import Generation, GenerationRequest
from takeaways_daemon.backends.ollama_backend import OllamaBackend
from takeaways_daemon.errors import BackendStalled, BackendUnavailable, ModelNotFound
from takeaways_daemon.prompt_format import (
    RESPONSE_HEADER,
    STOP_SEQUENCES,
    SYSTEM_PROMPT,
    render_answer,
    render_prompt,
)
from takeaways_daemon.settings import OllamaSettings
from takeaways_daemon.tasks import Task

T = TypeVar("T")

PROMPT = render_prompt("Fix the code.", "x = (")
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
NOT_FOUND = {"error": 'model "takeaways" not found, try pulling it first'}
NDJSON = "application/x-ndjson"


def settings_for(host: str, **overrides: Any) -> OllamaSettings:
    return OllamaSettings(host=host, **overrides)


def run(settings: OllamaSettings, action: Callable[[OllamaBackend], Awaitable[T]]) -> T:
    """Run `action` on a fresh backend in a fresh event loop, closing the backend after."""

    async def main() -> T:
        backend = OllamaBackend(settings)
        try:
            return await action(backend)
        finally:
            await backend.close()

    return asyncio.run(main())


def generate(settings: OllamaSettings, request: GenerationRequest) -> Generation:
    return run(settings, lambda backend: backend.generate(request))


def ndjson(*lines: dict[str, Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def chunk(text: str) -> dict[str, Any]:
    return {
        "model": "takeaways",
        "created_at": "2025-01-01T00:00:00Z",
        "response": text,
        "done": False,
    }


FINAL = {
    "model": "takeaways",
    "created_at": "2025-01-01T00:00:01Z",
    "response": "",
    "done": True,
    "done_reason": "stop",
    "total_duration": 1_075_509_083,
    "load_duration": 567_678_166,
    "prompt_eval_count": 28,
    "prompt_eval_duration": 236_000_000,
    "eval_count": 16,
    "eval_duration": 269_000_000,
}


SHOW_REPLY = {
    "modelfile": "FROM /models/takeaways.gguf",
    "parameters": 'stop "\\n### Instruction:"',
    "template": "{{ .Prompt }}",
    "details": {"format": "gguf", "family": "gemma3", "parameter_size": "268M"},
    "model_info": {"general.architecture": "gemma3", "general.parameter_count": 268098176},
    "capabilities": ["completion"],
}


def recording(bodies: list[Any], response: Response) -> Callable[[Request], Response]:
    """A handler that keeps each request's parsed JSON body and answers with `response`."""

    def handle(request: Request) -> Response:
        bodies.append(request.get_json())
        return response

    return handle


class TestRequestBody:
    def test_generate_sends_exactly_the_documented_fields(self, httpserver_ipv4: HTTPServer):
        bodies: list[Any] = []
        httpserver_ipv4.expect_oneshot_request("/api/generate", method="POST").respond_with_handler(
            recording(bodies, Response(ndjson(chunk("{}"), FINAL), content_type=NDJSON))
        )
        request = GenerationRequest(
            prompt=PROMPT,
            max_tokens=256,
            num_ctx=2048,
            stop=STOP_SEQUENCES,
            seed=7,
            json_schema=SCHEMA,
        )

        generate(settings_for(httpserver_ipv4.url_for("/")), request)

        assert bodies == [
            {
                "model": "takeaways",
                "prompt": PROMPT,
                "raw": True,
                "stream": True,
                "format": SCHEMA,
                "options": {
                    "temperature": 0.7,
                    "top_p": 0.9,
                    "repeat_penalty": 1.1,
                    "num_predict": 256,
                    "num_ctx": 2048,
                    "stop": list(STOP_SEQUENCES),
                    "seed": 7,
                },
                "keep_alive": "30m",
            }
        ]

    def test_n_samples_go_out_together_with_seeds_in_turn_and_the_first_greedy(
        self, httpserver_ipv4: HTTPServer
    ):
        bodies: list[Any] = []
        reply = Response(ndjson(chunk("x = 1"), FINAL), content_type=NDJSON)
        httpserver_ipv4.expect_request("/api/generate", method="POST").respond_with_handler(
            recording(bodies, reply)
        )
        request = GenerationRequest(prompt=PROMPT, max_tokens=16, stop=("\n",), seed=7)
        answers = run(
            settings_for(httpserver_ipv4.url_for("/")),
            lambda backend: backend.generate_many(request, 3, greedy_first=True),
        )
        assert [answer.text for answer in answers] == ["x = 1"] * 3
        sent = sorted((body["options"]["seed"], body["options"]["temperature"]) for body in bodies)
        assert sent == [(7, 0.0), (8, 0.7), (9, 0.7)]
        assert {body["prompt"] for body in bodies} == {PROMPT}

    def test_unset_schema_stop_and_seed_are_left_out(self, httpserver_ipv4: HTTPServer):
        """An empty `stop` would replace the Modelfile's stop list, so it is not sent at all."""
        bodies: list[Any] = []
        httpserver_ipv4.expect_oneshot_request("/api/generate", method="POST").respond_with_handler(
            recording(bodies, Response(ndjson(chunk("hi"), FINAL), content_type=NDJSON))
        )
        settings = settings_for(httpserver_ipv4.url_for("/"), model="takeaways:q4", keep_alive="5m")

        generate(settings, GenerationRequest(prompt="p"))

        assert bodies == [
            {
                "model": "takeaways:q4",
                "prompt": "p",
                "raw": True,
                "stream": True,
                "options": {
                    "temperature": 0.7,
                    "top_p": 0.9,
                    "repeat_penalty": 1.1,
                    "num_predict": 384,
                    "num_ctx": 4096,
                },
                "keep_alive": "5m",
            }
        ]

    def test_ensure_ready_asks_show_for_the_model(self, httpserver_ipv4: HTTPServer):
        httpserver_ipv4.expect_oneshot_request(
            "/api/show", method="POST", json={"model": "takeaways"}
        ).respond_with_json(SHOW_REPLY)

        run(settings_for(httpserver_ipv4.url_for("/")), lambda backend: backend.ensure_ready())

        httpserver_ipv4.check_assertions()

    def test_ensure_ready_accepts_a_show_reply_without_model_info(
        self, httpserver_ipv4: HTTPServer
    ):
        """Ollama leaves `model_info` out when empty; the client's model would reject that."""
        reply = {key: value for key, value in SHOW_REPLY.items() if key != "model_info"}
        httpserver_ipv4.expect_oneshot_request("/api/show").respond_with_json(reply)

        run(settings_for(httpserver_ipv4.url_for("/")), lambda backend: backend.ensure_ready())

        httpserver_ipv4.check_assertions()


class TestStreaming:
    def test_chunks_are_concatenated_and_final_counts_kept(self, httpserver_ipv4: HTTPServer):
        body = ndjson(chunk('{"title": '), chunk('"Close the paren"'), chunk("}"), FINAL)
        httpserver_ipv4.expect_oneshot_request("/api/generate").respond_with_data(
            body, content_type=NDJSON
        )

        result = generate(settings_for(httpserver_ipv4.url_for("/")), GenerationRequest(PROMPT))

        assert result.text == '{"title": "Close the paren"}'
        assert (result.backend, result.model) == ("ollama", "takeaways")
        assert (result.prompt_tokens, result.completion_tokens) == (28, 16)
        assert result.first_chunk_s is not None

    def test_stream_yields_each_chunk_in_order(self, httpserver_ipv4: HTTPServer):
        body = ndjson(chunk("a"), chunk(""), chunk("b"), {**FINAL, "response": "c"})
        httpserver_ipv4.expect_oneshot_request("/api/generate").respond_with_data(
            body, content_type=NDJSON
        )

        async def collect(backend: OllamaBackend) -> list[str]:
            return [text async for text in backend.stream(GenerationRequest(PROMPT))]

        assert run(settings_for(httpserver_ipv4.url_for("/")), collect) == ["a", "b", "c"]


class TestServerErrors:
    def test_missing_model_on_show_names_the_fix(self, httpserver_ipv4: HTTPServer):
        httpserver_ipv4.expect_oneshot_request("/api/show").respond_with_json(
            {"error": "model 'takeaways' not found"}, status=404
        )

        with pytest.raises(ModelNotFound) as caught:
            run(settings_for(httpserver_ipv4.url_for("/")), lambda backend: backend.ensure_ready())

        message = str(caught.value)
        assert "takeaways model build" in message
        assert "ollama create takeaways -f modelfiles/Modelfile" in message
        assert "ollama pull takeaways" in message

    def test_missing_model_on_generate_names_the_fix(self, httpserver_ipv4: HTTPServer):
        httpserver_ipv4.expect_oneshot_request("/api/generate").respond_with_json(
            NOT_FOUND, status=404
        )

        with pytest.raises(ModelNotFound, match="takeaways model build") as caught:
            generate(settings_for(httpserver_ipv4.url_for("/")), GenerationRequest(PROMPT))

        assert "try pulling it first" in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__

    def test_404_without_a_model_message_is_not_a_missing_model(self, httpserver_ipv4: HTTPServer):
        """Something else on the port (not Ollama) must not send users off building a model."""
        httpserver_ipv4.expect_oneshot_request("/api/show").respond_with_data(
            "404 page not found", status=404
        )

        with pytest.raises(BackendUnavailable, match="Ollama server") as caught:
            run(settings_for(httpserver_ipv4.url_for("/")), lambda backend: backend.ensure_ready())

        assert not isinstance(caught.value, ModelNotFound)

    @pytest.mark.parametrize("path", ["/api/generate", "/api/show"])
    def test_server_error_carries_the_servers_text(self, httpserver_ipv4: HTTPServer, path: str):
        httpserver_ipv4.expect_oneshot_request(path).respond_with_json(
            {"error": "llama runner process has terminated: signal: killed"}, status=500
        )

        async def call(backend: OllamaBackend) -> None:
            if path == "/api/show":
                await backend.ensure_ready()
            else:
                await backend.generate(GenerationRequest(PROMPT))

        with pytest.raises(BackendUnavailable) as caught:
            run(settings_for(httpserver_ipv4.url_for("/")), call)

        message = str(caught.value)
        assert "llama runner process has terminated: signal: killed" in message
        assert "HTTP 500" in message
        assert not isinstance(caught.value, ModelNotFound | BackendStalled)

    def test_error_line_mid_stream_drops_the_answer(self, httpserver_ipv4: HTTPServer):
        body = ndjson(chunk('{"ti'), {"error": "out of memory"})
        httpserver_ipv4.expect_oneshot_request("/api/generate").respond_with_data(
            body, content_type=NDJSON
        )

        with pytest.raises(BackendUnavailable, match="mid-answer: out of memory"):
            generate(settings_for(httpserver_ipv4.url_for("/")), GenerationRequest(PROMPT))


CODER = "qwen2.5-coder:7b"
"""A model the user pulled into Ollama: not tuned on our format, so it is spoken to by chat."""
BROKEN = "def greet(name)\n    print('hi', name)\n"
FIX_TASK = Task(
    kind="fix", path="greet.py", language="python", file_text=BROKEN,
    shown_start=1, shown_end=2, target_start=1, target_end=2,
    symbol="greet", error="line 1, column 16: expected ':'",
)  # fmt: skip


def chat_chunk(text: str) -> dict[str, Any]:
    return {
        "model": CODER,
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": text},
        "done": False,
    }


CHAT_FINAL = {
    "model": CODER,
    "created_at": "2025-01-01T00:00:01Z",
    "message": {"role": "assistant", "content": ""},
    "done": True,
    "done_reason": "stop",
    "total_duration": 2_075_509_083,
    "prompt_eval_count": 212,
    "eval_count": 31,
}


def chat_settings(server: HTTPServer, **overrides: Any) -> OllamaSettings:
    return settings_for(server.url_for("/"), model=CODER, **overrides)


class TestChat:
    """A model other than ours gets `/api/chat`, so its own chat template wraps our turns."""

    def test_chat_sends_system_worked_example_and_task_as_turns(self, httpserver_ipv4: HTTPServer):
        bodies: list[Any] = []
        httpserver_ipv4.expect_oneshot_request("/api/chat", method="POST").respond_with_handler(
            recording(bodies, Response(ndjson(chat_chunk("Ti"), CHAT_FINAL), content_type=NDJSON))
        )
        request = GenerationRequest(
            prompt=FIX_TASK.prompt(few_shot=True),
            messages=FIX_TASK.messages(few_shot=True),
            max_tokens=256,
            num_ctx=2048,
            stop=STOP_SEQUENCES,
            seed=7,
        )

        generate(chat_settings(httpserver_ipv4), request)

        [body] = bodies
        example_answer = render_answer(
            "Add the missing colon",
            "The def line lacked its closing colon.",
            "def greet(name):\n    print('hi', name)",
        )
        assert [turn["role"] for turn in body["messages"]] == [
            "system", "user", "assistant", "user",
        ]  # fmt: skip
        system, example, answer, task = (turn["content"] for turn in body["messages"])
        assert system == SYSTEM_PROMPT
        assert example.startswith("### Instruction:\nThe code below has an error.")
        assert "File: example.py (python)" in example and "### Response:" not in example
        assert answer == example_answer
        assert task.startswith("### Instruction:\nThe code below has an error.")
        assert task.endswith("Code:\n```python\ndef greet(name)\n    print('hi', name)\n```")
        assert "Error: line 1, column 16: expected ':'" in task
        # The official client always sends `tools`; empty, it asks for none.
        assert {key: value for key, value in body.items() if key != "messages"} == {
            "model": CODER,
            "tools": [],
            "stream": True,
            "options": {
                "temperature": 0.7,
                "top_p": 0.9,
                "repeat_penalty": 1.1,
                "num_predict": 256,
                "num_ctx": 2048,
                "stop": list(STOP_SEQUENCES),
                "seed": 7,
            },
            "keep_alive": "30m",
        }

    def test_the_turns_hold_exactly_the_raw_prompts_text(self):
        """One prompt format: the raw prompt is the turns joined by the response header."""
        system, example, answer, task = (m.content for m in FIX_TASK.messages(few_shot=True))

        assert FIX_TASK.prompt(few_shot=True) == (
            f"{system}\n\n{example}\n\n{RESPONSE_HEADER}{answer}\n\n{task}\n\n{RESPONSE_HEADER}"
        )
        assert [(m.role, m.content) for m in FIX_TASK.messages()] == [
            ("system", SYSTEM_PROMPT),
            ("user", task),
        ]

    def test_schema_goes_out_as_format_and_a_bare_prompt_as_one_user_turn(
        self, httpserver_ipv4: HTTPServer
    ):
        bodies: list[Any] = []
        httpserver_ipv4.expect_oneshot_request("/api/chat", method="POST").respond_with_handler(
            recording(bodies, Response(ndjson(CHAT_FINAL), content_type=NDJSON))
        )

        generate(chat_settings(httpserver_ipv4), GenerationRequest(prompt="p", json_schema=SCHEMA))

        assert bodies[0]["messages"] == [{"role": "user", "content": "p"}]
        assert bodies[0]["format"] == SCHEMA

    def test_message_chunks_are_concatenated_and_final_counts_kept(
        self, httpserver_ipv4: HTTPServer
    ):
        body = ndjson(
            chat_chunk("Title: Add"), chat_chunk(""), chat_chunk(" the colon"), CHAT_FINAL
        )
        httpserver_ipv4.expect_oneshot_request("/api/chat").respond_with_data(
            body, content_type=NDJSON
        )

        result = generate(chat_settings(httpserver_ipv4), GenerationRequest(PROMPT))

        assert result.text == "Title: Add the colon"
        assert (result.backend, result.model) == ("ollama", CODER)
        assert (result.prompt_tokens, result.completion_tokens) == (212, 31)
        assert result.first_chunk_s is not None

    def test_stream_yields_each_message_chunk_in_order(self, httpserver_ipv4: HTTPServer):
        last = {**CHAT_FINAL, "message": {"role": "assistant", "content": "c"}}
        body = ndjson(chat_chunk("a"), chat_chunk("b"), last)
        httpserver_ipv4.expect_oneshot_request("/api/chat").respond_with_data(
            body, content_type=NDJSON
        )

        async def collect(backend: OllamaBackend) -> list[str]:
            return [text async for text in backend.stream(GenerationRequest(PROMPT))]

        assert run(chat_settings(httpserver_ipv4), collect) == ["a", "b", "c"]

    def test_error_line_mid_chat_drops_the_answer(self, httpserver_ipv4: HTTPServer):
        body = ndjson(chat_chunk("Title"), {"error": "model runner crashed"})
        httpserver_ipv4.expect_oneshot_request("/api/chat").respond_with_data(
            body, content_type=NDJSON
        )

        with pytest.raises(BackendUnavailable, match="mid-answer: model runner crashed"):
            generate(chat_settings(httpserver_ipv4), GenerationRequest(PROMPT))

    def test_a_chat_ending_without_done_is_incomplete(self, httpserver_ipv4: HTTPServer):
        httpserver_ipv4.expect_oneshot_request("/api/chat").respond_with_data(
            ndjson(chat_chunk("Title: a"), chat_chunk("b")), content_type=NDJSON
        )

        with pytest.raises(BackendUnavailable, match="without its final `done` line"):
            generate(chat_settings(httpserver_ipv4), GenerationRequest(PROMPT))

    def test_a_line_without_a_message_is_not_an_answer(self, httpserver_ipv4: HTTPServer):
        httpserver_ipv4.expect_oneshot_request("/api/chat").respond_with_data(
            ndjson(chat_chunk("Ti"), {"model": CODER, "done": False}), content_type=NDJSON
        )

        with pytest.raises(BackendUnavailable, match="not part of an answer"):
            generate(chat_settings(httpserver_ipv4), GenerationRequest(PROMPT))

    def test_a_model_ollama_lacks_names_the_pull(self, httpserver_ipv4: HTTPServer):
        httpserver_ipv4.expect_oneshot_request("/api/chat").respond_with_json(
            {"error": f'model "{CODER}" not found, try pulling it first'}, status=404
        )

        with pytest.raises(ModelNotFound, match=f"ollama pull {CODER}"):
            generate(chat_settings(httpserver_ipv4), GenerationRequest(PROMPT))


class ScriptedServer:
    """One-connection HTTP server on 127.0.0.1 that replies with raw bytes, step by step.

    It reads the whole request, sends `head` and `lines`, then waits for `release` before it
    ends the connection the way `ending` says: "fin" (orderly close), or "reset" (RST).
    """

    def __init__(self, head: bytes, lines: list[bytes], ending: str = "fin") -> None:
        self.head, self.lines, self.ending = head, lines, ending
        self.release = threading.Event()
        self.request_body = b""
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self._listener.settimeout(10)  # a test that never connects must not hang the thread
        self.host = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                received = connection.recv(65536)
                if not received:
                    return
                data += received
            headers, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in headers.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(body) < length:
                body += connection.recv(65536)
            self.request_body = body
            connection.sendall(self.head)
            for line in self.lines:
                connection.sendall(line)
            self.release.wait(timeout=10)
            if self.ending == "reset":
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    @contextmanager
    def running(self) -> Iterator[ScriptedServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self._thread.join(timeout=10)
            self._listener.close()


CHUNKED_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
)
CLOSE_DELIMITED_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n"
)


def http_chunk(payload: dict[str, Any]) -> bytes:
    line = (json.dumps(payload) + "\n").encode()
    return b"%x\r\n%s\r\n" % (len(line), line)


def plain_line(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload) + "\n").encode()


CUT_OFFS: dict[str, tuple[bytes, Callable[[dict[str, Any]], bytes], str, type | None]] = {
    # (response head, line framing, how the server ends, what httpx reports underneath)
    "unterminated chunked body": (CHUNKED_HEAD, http_chunk, "fin", httpx.RemoteProtocolError),
    "connection reset": (CHUNKED_HEAD, http_chunk, "reset", httpx.ReadError),
    # A body delimited by the close is complete as far as HTTP goes; only `done` is missing.
    "close-delimited body without done": (CLOSE_DELIMITED_HEAD, plain_line, "fin", None),
}


class TestCutOff:
    @pytest.mark.parametrize("case", CUT_OFFS)
    def test_cut_off_after_two_chunks_raises_after_yielding_them(self, case: str):
        head, frame, ending, underlying = CUT_OFFS[case]
        server = ScriptedServer(head, [frame(chunk('{"title": ')), frame(chunk('"Clo'))], ending)

        async def consume(backend: OllamaBackend) -> tuple[list[str], BaseException]:
            received: list[str] = []
            with pytest.raises(BackendUnavailable) as caught:
                async for text in backend.stream(GenerationRequest(PROMPT)):
                    received.append(text)
                    if len(received) == 2:  # both lines arrived: now cut the connection
                        server.release.set()
            return received, caught.value

        with server.running():
            received, error = run(settings_for(server.host), consume)

        assert received == ['{"title": ', '"Clo']
        assert type(error) is BackendUnavailable
        assert "incomplete" in str(error)
        # Raised `from None`; the hidden context still shows which failure this case produced.
        if underlying is None:
            assert error.__context__ is None
        else:
            assert error.__suppress_context__
            assert type(error.__context__) is underlying
        assert json.loads(server.request_body)["raw"] is True

    def test_generate_returns_nothing_for_a_cut_off_answer(self):
        server = ScriptedServer(CHUNKED_HEAD, [http_chunk(chunk("{")), http_chunk(chunk("}"))])
        server.release.set()  # close as soon as both lines are sent

        with server.running(), pytest.raises(BackendUnavailable, match="incomplete"):
            generate(settings_for(server.host), GenerationRequest(PROMPT))


class TestTimeouts:
    def test_stall_between_chunks_raises_backend_stalled_quickly(self):
        server = ScriptedServer(CHUNKED_HEAD, [http_chunk(chunk("{"))])
        settings = settings_for(server.host, stall_timeout_s=0.3)

        async def consume(backend: OllamaBackend) -> list[str]:
            received: list[str] = []
            with pytest.raises(BackendStalled, match=r"silent for 0\.3 s"):
                async for text in backend.stream(GenerationRequest(PROMPT)):
                    received.append(text)
            return received

        started = time.monotonic()
        with server.running():
            received = run(settings, consume)
            elapsed = time.monotonic() - started

        assert received == ["{"]
        assert elapsed < 3

    def test_silence_before_the_first_chunk_raises_backend_stalled(self):
        server = ScriptedServer(b"", [])
        settings = settings_for(server.host, first_token_timeout_s=0.3)

        started = time.monotonic()
        with server.running(), pytest.raises(BackendStalled, match=r"produced nothing for 0\.3 s"):
            generate(settings, GenerationRequest(PROMPT))

        assert time.monotonic() - started < 3


class TestUnreachable:
    @pytest.fixture
    def closed_port_host(self) -> str:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def test_ensure_ready_says_to_start_ollama(self, closed_port_host: str):
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="ollama serve") as caught:
            run(settings_for(closed_port_host), lambda backend: backend.ensure_ready())

        assert closed_port_host in str(caught.value)
        assert not isinstance(caught.value, ModelNotFound)
        assert time.monotonic() - started < 3

    def test_generate_says_to_start_ollama(self, closed_port_host: str):
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="not reachable"):
            generate(settings_for(closed_port_host), GenerationRequest(PROMPT))

        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("model", "endpoint"),
    [("takeaways:q8", "/api/generate"), ("qwen2.5-coder:7b", "/api/chat")],
)
def test_describe_names_host_model_and_endpoint(model: str, endpoint: str):
    backend = OllamaBackend(settings_for("http://127.0.0.1:11500", model=model))

    assert backend.describe() == {
        "backend": "ollama",
        "model": model,
        "host": "http://127.0.0.1:11500",
        "endpoint": endpoint,
        "keep_alive": "30m",
    }
    asyncio.run(backend.close())
