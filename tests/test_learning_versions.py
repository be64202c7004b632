"""Kept versions and rollback: the served version is found by content, a rollback serves an
earlier GGUF byte for byte (atomically) and re-registers Ollama's `takeaways` from it, keeping the
one it replaces as `takeaways:previous`, against a real HTTP server on loopback that checks the
requests Ollama documents. Every rollback is in the audit log."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Response

from takeaways_daemon import locations
from takeaways_daemon.settings import load_settings
from tests.history_helpers import make_record
from tests.learning_helpers import audit_actions, record_in_history
from training.commands.model_commands import model_group
from training.learning.commands import learn_group
from training.learning.versions import (
    VersionError,
    file_sha256,
    keep_served_if_unknown,
    keep_version,
    list_versions,
    previous_of,
    prune_versions,
    serve_version,
    served_version,
)


def _gguf(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"GGUF" + os.urandom(2048))
    return path


def test_the_served_version_is_found_by_content_and_pruning_spares_it(tmp_path: Path) -> None:
    kept = [
        keep_version(_gguf(tmp_path, f"m{n}.gguf"), {"base": "tiny", "examples": n})
        for n in range(4)
    ]
    assert served_version() is None
    serve_version(kept[1])
    assert locations.built_model_path().read_bytes() == kept[1].gguf.read_bytes()
    assert served_version() == kept[1]
    assert previous_of(kept[1], list_versions()) == kept[0]
    with pytest.raises(VersionError, match="oldest"):
        previous_of(kept[0], list_versions())

    removed = prune_versions(2, protect=lambda v: v.id == kept[1].id)

    assert removed == [kept[0].id, kept[2].id]
    assert [v.id for v in list_versions()] == [kept[1].id, kept[3].id]
    assert served_version() == kept[1]


def test_a_half_written_version_is_never_listed(tmp_path: Path) -> None:
    version = keep_version(_gguf(tmp_path, "a.gguf"), {"base": "tiny"})
    partial = version.folder.with_name("v-half.partial")
    partial.mkdir()
    (partial / "model.gguf").write_bytes(b"GGUF")
    assert [v.id for v in list_versions()] == [version.id]


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _ollama_expects_takeaways_from(httpserver: HTTPServer, gguf: Path) -> None:
    httpserver.expect_ordered_request("/api/version", method="GET").respond_with_json(
        {"version": "0.5.0"}
    )
    blob = f"/api/blobs/{_digest(gguf)}"
    httpserver.expect_ordered_request(blob, method="HEAD").respond_with_data("", status=404)
    httpserver.expect_ordered_request(blob, method="POST").respond_with_data("", status=201)
    httpserver.expect_ordered_request("/api/show", method="POST").respond_with_json(
        {"modelfile": "FROM x", "template": "", "details": {}, "model_info": {}}
    )
    httpserver.expect_ordered_request(
        "/api/copy", method="POST",
        json={"source": "takeaways", "destination": "takeaways:previous"},
    ).respond_with_data("")  # fmt: skip
    httpserver.expect_ordered_request("/api/create", method="POST").respond_with_response(
        Response(json.dumps({"status": "success"}) + "\n", content_type="application/x-ndjson")
    )


def test_rollback_serves_the_earlier_gguf_in_ollama_and_embedded_alike(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAKEAWAYS_BACKEND__OLLAMA__HOST", httpserver.url_for("").rstrip("/"))
    record_in_history(make_record(1))  # a history to audit in
    served = locations.built_model_path()
    before_learning = _gguf(served.parent, served.name)
    original = file_sha256(before_learning)
    # What a round's swap does: keep the model served before learning, keep and serve its own.
    installed = keep_served_if_unknown("tiny")
    assert installed is not None and installed.sha256 == original
    learned = keep_version(_gguf(tmp_path, "learned.gguf"), {"base": "tiny", "source": "round"})
    serve_version(learned)
    assert keep_served_if_unknown("tiny") == learned
    _ollama_expects_takeaways_from(httpserver, installed.gguf)

    result = CliRunner().invoke(learn_group, ["rollback"])

    assert result.exit_code == 0, result.output
    assert file_sha256(served) == original
    httpserver.check_assertions()
    create = next(req for req, _ in httpserver.log if req.path == "/api/create")
    assert create.get_json()["files"] == {"model.gguf": _digest(installed.gguf)}
    assert audit_actions()[-1] == "model_rollback"
    listing = json.loads(CliRunner().invoke(learn_group, ["list", "--json"]).output)
    assert [row["served"] for row in listing] == [True, False]
    # `takeaways model list` is the same listing, under the model group the issue names.
    same = CliRunner().invoke(model_group, ["list", "--json"]).output
    assert json.loads(same) == listing
    assert load_settings().learning.enabled is False, "rollback works with learning off too"


def test_the_model_served_before_any_install_is_kept_for_rollback(tmp_path: Path) -> None:
    packaged = _gguf(tmp_path / "cache", "base.gguf")
    assert not locations.built_model_path().exists()

    kept = keep_served_if_unknown("embedded", fallback=packaged)

    assert kept is not None and kept.meta["source"] == "base"
    assert kept.sha256 == file_sha256(packaged)
    serve_version(kept)
    assert locations.built_model_path().read_bytes() == packaged.read_bytes()
