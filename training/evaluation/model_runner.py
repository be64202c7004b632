"""A model spec (Ollama name, GGUF path, Hugging Face folder) turned into text generation.

- `base`: the packaged base GGUF, served in-process (what the daemon falls back to);
- a path ending in `.gguf`: that file, served in-process by llama-cpp-python;
- a folder with `config.json`: a Hugging Face model through transformers (torch, loaded lazily);
- anything else: a model name on the configured Ollama server.

GGUF and Ollama go through the daemon's own backends and take the daemon's `GenerationRequest`,
so evaluation measures exactly what the daemon would serve. Which model a runner holds (its
label, and whether it is our tuned model) is the daemon's `ModelIdentity`, decided by the same
rules as the daemon's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

from takeaways_daemon.backends.base import Backend, GenerationRequest
from takeaways_daemon.errors import BackendUnavailable
from takeaways_daemon.model_identity import PACKAGED_BASE_SPEC, ModelIdentity
from training.evaluation.problems import truncate_at_stop


class ModelRunner(Protocol):
    """Anything that turns a prompt into text."""

    identity: ModelIdentity

    def generate(self, request: GenerationRequest) -> str:
        """The completion of `request.prompt` (without the prompt)."""
        ...

    def close(self) -> None:
        """Free the model."""
        ...


class BackendRunner:
    """A daemon backend (Ollama or embedded) driven synchronously from one event loop."""

    def __init__(self, backend: Backend, identity: ModelIdentity) -> None:
        self.backend = backend
        self.identity = identity
        self._loop = asyncio.Runner()
        try:
            self._loop.run(backend.ensure_ready())
        except BaseException:
            self._loop.run(backend.close())
            self._loop.close()
            raise

    def generate(self, request: GenerationRequest) -> str:
        """Generate through the backend's streaming API; only a finished answer counts."""
        return self._loop.run(self.backend.generate(request)).text

    def close(self) -> None:
        """Close the backend and the loop."""
        self._loop.run(self.backend.close())
        self._loop.close()


class TransformersRunner:
    """A Hugging Face folder through transformers: greedy or sampled, cut at stop strings.

    Grammars and JSON schemas are llama.cpp / Ollama features: this runner ignores them.
    """

    def __init__(self, folder: Path, identity: ModelIdentity) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise BackendUnavailable(
                "a Hugging Face model needs torch and transformers: "
                "pip install 'takeaways[training]'"
            ) from None
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        self.model.eval()
        self.identity = identity

    def generate(self, request: GenerationRequest) -> str:
        """Decode up to `max_tokens` new tokens, stopping once a stop string appears."""
        inputs = self.tokenizer(request.prompt, return_tensors="pt")
        options: dict[str, Any] = {"max_new_tokens": request.max_tokens}
        if request.repeat_penalty != 1.0:
            options["repetition_penalty"] = request.repeat_penalty
        if request.temperature > 0:
            if request.seed is not None:
                self._torch.manual_seed(request.seed)
            options |= {"do_sample": True, "temperature": request.temperature}
            options["top_p"] = request.top_p
        else:
            options["do_sample"] = False
        if request.stop:
            options |= {"stop_strings": list(request.stop), "tokenizer": self.tokenizer}
        with self._torch.no_grad():
            output = self.model.generate(**inputs, **options)
        new_tokens = output[0][inputs["input_ids"].shape[1] :]
        text = str(self.tokenizer.decode(new_tokens, skip_special_tokens=True))
        # transformers keeps the stop string; llama.cpp and Ollama drop it: match them.
        return truncate_at_stop(text, request.stop)

    def close(self) -> None:
        """Drop the model."""
        del self.model


def identify_model(spec: str) -> ModelIdentity:
    """Who a model spec names (label, tuned or not), by the daemon's rules, without loading it."""
    from takeaways_daemon.backends.model_files import gguf_identity

    if spec == PACKAGED_BASE_SPEC:
        return ModelIdentity.packaged_base()
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        return gguf_identity(path)
    return ModelIdentity.named(path.name if path.is_dir() else spec)


def open_model(spec: str, *, num_ctx: int = 4096) -> ModelRunner:
    """The runner for a model spec (see the module docstring for the accepted forms)."""
    from takeaways_daemon.settings import load_settings

    settings = load_settings()
    identity = identify_model(spec)
    path = Path(spec).expanduser()
    if spec == PACKAGED_BASE_SPEC or spec.endswith(".gguf"):
        from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
        from takeaways_daemon.backends.model_files import packaged_base_model

        if spec == PACKAGED_BASE_SPEC:
            path = packaged_base_model()
        elif not path.is_file():
            raise BackendUnavailable(f"no GGUF file at {path}; check the --model path")
        backend = EmbeddedBackend(settings.backend.embedded, num_ctx=num_ctx, model_path=path)
        return BackendRunner(backend, identity)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BackendUnavailable(
                f"{path} is a folder without config.json; give a Hugging Face model folder"
            )
        return TransformersRunner(path, identity)
    from takeaways_daemon.backends.ollama_backend import OllamaBackend

    ollama = settings.backend.ollama.model_copy(update={"model": spec})
    return BackendRunner(OllamaBackend(ollama), identity)
