"""Point Ollama's `takeaways` at the newly served GGUF, keeping the one it replaces as a tag.

Best effort after the embedded swap: Ollama is optional, so a machine without it still learns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from takeaways_daemon.settings import Settings


def register_served(
    gguf: Path, settings: Settings, say: Callable[[str], None] = lambda line: None
) -> dict[str, object]:
    """Re-register `takeaways` from `gguf` when Ollama runs; what happened, as report data."""
    import httpx

    from takeaways_daemon.deployment_config import load_deployment_config
    from training.modelfile import write_modelfile
    from training.ollama_registration import RegistrationError, register_model

    if not settings.learning.register_ollama:
        return {"ollama": "off"}
    host = settings.backend.ollama.host
    try:
        httpx.get(f"{host.rstrip('/')}/api/version", timeout=2.0)
    except httpx.HTTPError:
        return {"ollama": f"not running at {host}"}
    config = load_deployment_config()
    modelfile = write_modelfile(gguf.parent / "Modelfile", f"./{gguf.name}", config)
    try:
        done = register_model(
            gguf, config, host=host, modelfile=modelfile, on_status=lambda s: say(f"      {s}")
        )
    except Exception as error:  # the embedded swap is done: report, do not undo it
        reason = str(error) if isinstance(error, RegistrationError) else repr(error)
        return {"ollama": f"failed: {reason}"}
    return {"ollama": "registered", "name": done.name, "previous_kept": done.kept_previous}
