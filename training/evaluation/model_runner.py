"""A model spec (Ollama name, GGUF path, Hugging Face folder) turned into text generation.

- `base`: the packaged gemma-3-270m GGUF, served in-process (what the daemon falls back to);
- a path ending in `.gguf`: that file, served in-process by llama-cpp-python;
- a folder with `config.json`: a Hugging Face model through transformers (torch, loaded lazily);
- anything else: a model name on the configured Ollama server.

GGUF and Ollama go through the daemon's own backends, so evaluation measures exactly what the
daemon would serve.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from takeaways_daemon.errors import BackendUnavailable
from training.evaluation.problems import truncate_at_stop


@dataclass(frozen=True)
class Decoding:
    """How one completion is decoded."""

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_schema: dict[str, Any] | None = field(default=None, hash=False)
    grammar: str | None = None


class ModelRunner(Protocol):
    """Anything that turns a prompt into text."""

    label: str

    def generate(self, prompt: str, decoding: Decoding) -> str:
        """The completion of `prompt` (without the prompt)."""
        ...

    def close(self) -> None:
        """Free the model."""
        ...


class BackendRunner:
    """A daemon backend (Ollama or embedded) driven synchronously from one event loop."""

    def __init__(self, backend: Any, label: str) -> None:
        self.backend = backend
        self.label = label
        self._loop = asyncio.Runner()
        try:
            self._loop.run(backend.ensure_ready())
        except BaseException:
            self._loop.run(backend.close())
            self._loop.close()
            raise

    def generate(self, prompt: str, decoding: Decoding) -> str:
        """Generate through the backend's streaming API; only a finished answer counts."""
        from takeaways_daemon.backends.base import GenerationRequest

        request = GenerationRequest(
            prompt=prompt,
            temperature=decoding.temperature,
            top_p=decoding.top_p,
            repeat_penalty=1.0,  # HumanEval's conventions use no repetition penalty
            max_tokens=decoding.max_tokens,
            stop=decoding.stop,
            seed=decoding.seed,
            json_schema=decoding.json_schema,
            grammar=decoding.grammar,
        )
        return self._loop.run(self.backend.generate(request)).text

    def close(self) -> None:
        """Close the backend and the loop."""
        self._loop.run(self.backend.close())
        self._loop.close()


class TransformersRunner:
    """A Hugging Face folder through transformers: greedy or sampled, cut at stop strings."""

    def __init__(self, folder: Path) -> None:
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
        self.label = folder.name

    def generate(self, prompt: str, decoding: Decoding) -> str:
        """Decode up to `max_tokens` new tokens, stopping once a stop string appears."""
        inputs = self.tokenizer(prompt, return_tensors="pt")
        options: dict[str, Any] = {"max_new_tokens": decoding.max_tokens}
        if decoding.temperature > 0:
            if decoding.seed is not None:
                self._torch.manual_seed(decoding.seed)
            options |= {"do_sample": True, "temperature": decoding.temperature}
            options["top_p"] = decoding.top_p
        else:
            options["do_sample"] = False
        if decoding.stop:
            options |= {"stop_strings": list(decoding.stop), "tokenizer": self.tokenizer}
        with self._torch.no_grad():
            output = self.model.generate(**inputs, **options)
        new_tokens = output[0][inputs["input_ids"].shape[1] :]
        text = str(self.tokenizer.decode(new_tokens, skip_special_tokens=True))
        # transformers keeps the stop string; llama.cpp and Ollama drop it: match them.
        return truncate_at_stop(text, decoding.stop)

    def close(self) -> None:
        """Drop the model."""
        del self.model


def open_model(spec: str, *, num_ctx: int = 4096) -> ModelRunner:
    """The runner for a model spec (see the module docstring for the accepted forms)."""
    from takeaways_daemon.settings import load_settings

    settings = load_settings()
    path = Path(spec).expanduser()
    if spec == "base" or spec.endswith(".gguf"):
        from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
        from takeaways_daemon.backends.model_files import packaged_base_model

        if spec == "base":
            path = packaged_base_model()
        elif not path.is_file():
            raise BackendUnavailable(f"no GGUF file at {path}; check the --model path")
        label = "gemma-3-270m (base)" if spec == "base" else path.stem
        backend = EmbeddedBackend(settings.backend.embedded, num_ctx=num_ctx, model_path=path)
        return BackendRunner(backend, label)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BackendUnavailable(
                f"{path} is a folder without config.json; give a Hugging Face model folder"
            )
        return TransformersRunner(path)
    from takeaways_daemon.backends.ollama_backend import OllamaBackend

    ollama = settings.backend.ollama.model_copy(update={"model": spec})
    return BackendRunner(OllamaBackend(ollama), f"{spec} (ollama)")
