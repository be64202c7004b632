"""Create the takeaways model in a running Ollama, keeping the one it replaces.

Through the official `ollama` client, as Ollama's API documents it: the GGUF is uploaded as a
blob (`HEAD /api/blobs/sha256:…` first, `POST` only when Ollama lacks it), the current model is
copied to `NAME:previous` (`POST /api/copy`) for a rollback, then `POST /api/create` names the
blob in `files` and sends the Modelfile's template, system prompt and parameters. The same model
can be made by hand with the `ollama create` command that `equivalent_command` prints.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon import prompt_format
from takeaways_daemon.deployment_config import DeploymentConfig
from takeaways_daemon.errors import TakeawaysError
from training.modelfile import model_parameters, parse_modelfile


class RegistrationError(TakeawaysError):
    """Ollama could not create the model."""


@dataclass(frozen=True)
class Registration:
    """What registration did."""

    name: str
    digest: str
    uploaded: bool
    kept_previous: bool
    statuses: tuple[str, ...]


def file_digest(path: Path) -> str:
    """Ollama's blob name for a file: `sha256:` and its hex digest."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def equivalent_command(config: DeploymentConfig, modelfile: Path) -> str:
    """The `ollama create` command that makes the same model from the rendered Modelfile."""
    return f"ollama create {config.name} -f {shlex.quote(str(modelfile))}"


def register_model(
    gguf_path: Path,
    config: DeploymentConfig,
    *,
    host: str,
    modelfile: Path | None = None,
    on_status: Callable[[str], None] | None = None,
    timeout_s: float = 600.0,
) -> Registration:
    """Upload the GGUF and create `config.name` in the Ollama at `host`."""
    import httpx
    import ollama

    client = ollama.Client(host=host, timeout=timeout_s)
    report = on_status or (lambda status: None)
    template, system = prompt_format.ollama_template(), prompt_format.SYSTEM_PROMPT
    parameters = model_parameters(config)
    if modelfile is not None:  # the rendered file wins, so the API and `ollama create` agree
        parsed = parse_modelfile(modelfile.read_text(encoding="utf-8"))
        template, system, parameters = parsed.template, parsed.system, parsed.parameters
    try:
        digest = file_digest(gguf_path)
        report(f"checking blob {digest[:19]}…")
        present = httpx.head(f"{host.rstrip('/')}/api/blobs/{digest}", timeout=30.0)
        uploaded = present.status_code != 200
        if uploaded:
            report(f"uploading {gguf_path.name}")
            if client.create_blob(gguf_path) != digest:
                raise RegistrationError(f"Ollama stored {gguf_path.name} under another digest")
        kept_previous = _keep_previous(client, config)
        if kept_previous:
            report(f"kept the current model as {config.previous_name}")
        statuses = []
        for progress in client.create(
            model=config.name,
            files={gguf_path.name: digest},
            template=template,
            system=system,
            parameters=parameters,
            stream=True,
        ):
            if progress.status:
                statuses.append(progress.status)
                report(progress.status)
    except ollama.ResponseError as error:
        raise RegistrationError(
            f"Ollama at {host} refused to create {config.name} ({error.status_code}): {error.error}"
        ) from None
    except (httpx.ConnectError, ConnectionError):
        raise RegistrationError(
            f"no Ollama answers at {host}; start it with `ollama serve`, set "
            "TAKEAWAYS_BACKEND__OLLAMA__HOST, or build with --no-register"
        ) from None
    if not statuses or statuses[-1] != "success":
        raise RegistrationError(f"Ollama did not finish creating {config.name}: {statuses[-1:]}")
    return Registration(config.name, digest, uploaded, kept_previous, tuple(statuses))


def _keep_previous(client: object, config: DeploymentConfig) -> bool:
    """Copy the current model to `NAME:previous`; False when there is no current model."""
    import ollama

    try:
        client.show(config.name)  # type: ignore[attr-defined]
    except ollama.ResponseError as error:
        if error.status_code == 404:
            return False
        raise
    client.copy(config.name, config.previous_name)  # type: ignore[attr-defined]
    return True
