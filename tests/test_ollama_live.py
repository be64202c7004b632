"""The Ollama backend against a real server: opt-in, as no Ollama runs in CI.

Run with `TAKEAWAYS_TEST_OLLAMA_HOST=http://127.0.0.1:11434 pytest -m ollama`; the model is
`TAKEAWAYS_TEST_OLLAMA_MODEL` (default: takeaways), which must already be created or pulled.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from takeaways_daemon.backends.base import Generation, GenerationRequest
from takeaways_daemon.backends.ollama_backend import OllamaBackend
from takeaways_daemon.prompt_format import render_prompt
from takeaways_daemon.settings import OllamaSettings

HOST = os.environ.get("TAKEAWAYS_TEST_OLLAMA_HOST", "")
MODEL = os.environ.get("TAKEAWAYS_TEST_OLLAMA_MODEL", "takeaways")

pytestmark = [
    pytest.mark.ollama,
    pytest.mark.skipif(not HOST, reason="set TAKEAWAYS_TEST_OLLAMA_HOST to a running Ollama"),
]

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
}


def test_answers_in_the_requested_json_schema():
    async def main() -> Generation:
        backend = OllamaBackend(OllamaSettings(host=HOST, model=MODEL, keep_alive="1m"))
        try:
            await backend.ensure_ready()
            prompt = render_prompt('Put 2 + 3 in "answer".', "")
            request = GenerationRequest(prompt, temperature=0.0, max_tokens=64, json_schema=SCHEMA)
            return await backend.generate(request)
        finally:
            await backend.close()

    result = asyncio.run(main())

    assert isinstance(json.loads(result.text)["answer"], int)
    assert result.completion_tokens
