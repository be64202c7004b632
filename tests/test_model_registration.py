"""`takeaways model register` against a local HTTP server that checks the exact requests Ollama
documents (docs/api.md): HEAD/POST /api/blobs/sha256:…, POST /api/show, POST /api/copy and a
streamed POST /api/create. The server is pytest-httpserver, a real HTTP server on loopback:
no Ollama runs in CI. `test_registers_in_a_real_ollama` runs against a real one when
TAKEAWAYS_TEST_OLLAMA_HOST is set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from takeaways_daemon import prompt_format
from takeaways_daemon.deployment_config import DeploymentConfig, load_deployment_config
from training.modelfile import stop_sequences, write_modelfile
from training.ollama_registration import RegistrationError, equivalent_command, register_model

CONFIG = load_deployment_config()


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "takeaways-270m.q4_K_M.gguf"
    path.write_bytes(b"GGUF" + os.urandom(4096))
    return path


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _stream(*statuses: str) -> Response:
    body = "".join(json.dumps({"status": s}) + "\n" for s in statuses)
    return Response(body, status=200, content_type="application/x-ndjson")


def _expected_create(gguf: Path) -> dict:
    return {
        "model": "takeaways",
        "files": {gguf.name: _digest(gguf)},
        "template": prompt_format.ollama_template(),
        "system": prompt_format.SYSTEM_PROMPT,
        "parameters": {**CONFIG.parameters, "stop": stop_sequences()},
        "stream": True,
    }


def test_uploads_the_blob_keeps_the_previous_model_and_creates(httpserver: HTTPServer, gguf: Path):
    blob = f"/api/blobs/{_digest(gguf)}"
    uploaded: list[bytes] = []

    def store(request: Request) -> Response:
        uploaded.append(request.get_data())
        return Response(status=201)

    httpserver.expect_ordered_request(blob, method="HEAD").respond_with_data("", status=404)
    httpserver.expect_ordered_request(blob, method="POST").respond_with_handler(store)
    httpserver.expect_ordered_request(
        "/api/show", method="POST", json={"model": "takeaways"}
    ).respond_with_json({"modelfile": "FROM x", "template": "", "details": {}, "model_info": {}})
    httpserver.expect_ordered_request(
        "/api/copy", method="POST",
        json={"source": "takeaways", "destination": "takeaways:previous"},
    ).respond_with_data("", status=200)  # fmt: skip
    httpserver.expect_ordered_request(
        "/api/create", method="POST", json=_expected_create(gguf)
    ).respond_with_response(_stream("parsing GGUF", "writing manifest", "success"))
    seen: list[str] = []

    result = register_model(gguf, CONFIG, host=httpserver.url_for(""), on_status=seen.append)

    httpserver.check_assertions()
    assert uploaded == [gguf.read_bytes()]
    assert result.uploaded and result.kept_previous
    assert result.statuses == ("parsing GGUF", "writing manifest", "success")
    assert "success" in seen and any("uploading" in s for s in seen)


def test_a_blob_ollama_has_is_not_uploaded_and_a_first_model_keeps_nothing(
    httpserver: HTTPServer, gguf: Path
):
    blob = f"/api/blobs/{_digest(gguf)}"
    httpserver.expect_ordered_request(blob, method="HEAD").respond_with_data("", status=200)
    httpserver.expect_ordered_request("/api/show", method="POST").respond_with_json(
        {"error": "model 'takeaways' not found"}, status=404
    )
    httpserver.expect_ordered_request("/api/create", method="POST").respond_with_response(
        _stream("success")
    )

    result = register_model(gguf, CONFIG, host=httpserver.url_for(""))

    httpserver.check_assertions()
    assert not result.uploaded and not result.kept_previous
    assert all(req.method != "POST" or "blobs" not in req.path for req, _ in httpserver.log)
    assert not any(req.path == "/api/copy" for req, _ in httpserver.log)


def test_the_rendered_modelfile_is_what_ollama_receives(
    httpserver: HTTPServer, gguf: Path, tmp_path: Path
):
    config = DeploymentConfig(name="takeaways", parameters={"temperature": 0.2})
    modelfile = write_modelfile(tmp_path / "Modelfile", f"./{gguf.name}", config)
    httpserver.expect_request(f"/api/blobs/{_digest(gguf)}", method="HEAD").respond_with_data("")
    httpserver.expect_request("/api/show", method="POST").respond_with_json({}, status=404)
    httpserver.expect_request("/api/create", method="POST").respond_with_response(
        _stream("success")
    )

    register_model(gguf, config, host=httpserver.url_for(""), modelfile=modelfile)

    create = next(req for req, _ in httpserver.log if req.path == "/api/create")
    assert create.get_json()["parameters"] == {"temperature": 0.2, "stop": stop_sequences()}
    assert equivalent_command(config, modelfile) == f"ollama create takeaways -f {modelfile}"


def test_a_refused_create_names_the_status_and_the_reason(httpserver: HTTPServer, gguf: Path):
    httpserver.expect_request(f"/api/blobs/{_digest(gguf)}", method="HEAD").respond_with_data("")
    httpserver.expect_request("/api/show", method="POST").respond_with_json({}, status=404)
    httpserver.expect_request("/api/create", method="POST").respond_with_json(
        {"error": "invalid model file"}, status=400
    )
    with pytest.raises(RegistrationError, match=r"refused to create takeaways \(400\).*invalid"):
        register_model(gguf, CONFIG, host=httpserver.url_for(""))


def test_a_create_that_never_says_success_is_an_error(httpserver: HTTPServer, gguf: Path):
    httpserver.expect_request(f"/api/blobs/{_digest(gguf)}", method="HEAD").respond_with_data("")
    httpserver.expect_request("/api/show", method="POST").respond_with_json({}, status=404)
    httpserver.expect_request("/api/create", method="POST").respond_with_response(
        _stream("parsing GGUF")
    )
    with pytest.raises(RegistrationError, match="did not finish"):
        register_model(gguf, CONFIG, host=httpserver.url_for(""))


def test_no_ollama_at_the_host_says_how_to_fix_it(gguf: Path):
    with pytest.raises(RegistrationError, match=r"ollama serve.*--no-register"):
        register_model(gguf, CONFIG, host="http://127.0.0.1:9")


LIVE_HOST = os.environ.get("TAKEAWAYS_TEST_OLLAMA_HOST", "")


@pytest.mark.ollama
@pytest.mark.model
@pytest.mark.skipif(not LIVE_HOST, reason="set TAKEAWAYS_TEST_OLLAMA_HOST to a running Ollama")
def test_registers_in_a_real_ollama(base_gguf: Path, tmp_path: Path):
    """Registers the packaged GGUF under a throwaway name, twice (so :previous is made)."""
    import ollama

    config = DeploymentConfig(name="takeaways-registration-test", parameters={"temperature": 0.7})
    modelfile = write_modelfile(tmp_path / "Modelfile", f"./{base_gguf.name}", config)
    client = ollama.Client(host=LIVE_HOST)
    try:
        register_model(base_gguf, config, host=LIVE_HOST, modelfile=modelfile)
        second = register_model(base_gguf, config, host=LIVE_HOST, modelfile=modelfile)
        shown = client.show(config.name)
        assert second.kept_previous and not second.uploaded
        assert "### Instruction:" in (shown.template or "")
        client.show(config.previous_name)
    finally:
        for name in (config.name, config.previous_name):
            with contextlib.suppress(ollama.ResponseError):
                client.delete(name)
