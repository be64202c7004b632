"""`takeaways model build | register | modelfile`: the fine-tuned takeaways model.

Heavy imports (torch, transformers, llama_cpp) happen inside the commands: `--help` stays instant.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from takeaways_daemon.kinds import GGUF_QUANTS
from takeaways_daemon.model_identity import PACKAGED_BASE_ID
from takeaways_daemon.sanitize import strip_control
from training.base_model import EMBEDDED
from training.learning.commands import learn_list, learn_rollback

_QUANTS = GGUF_QUANTS


@click.group("model")
def model_group() -> None:
    """Fine-tune, export and register the takeaways model (QLoRA → GGUF → Ollama)."""


def _ollama_host(host: str | None) -> str:
    """The Ollama URL: --host, else the daemon's setting."""
    if host:
        return host
    from takeaways_daemon.settings import load_settings

    return load_settings().backend.ollama.host


@model_group.command("build")
@click.option(
    "--base", default=None, metavar=f"ID|DIR|{EMBEDDED}",
    help=f"Base model: a hub id, a local HF folder, or `{EMBEDDED}` (the packaged "
    f"{PACKAGED_BASE_ID}). Default: `base` in takeaways.yaml.",
)  # fmt: skip
@click.option(
    "--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="An Alpaca JSON/JSONL/Parquet file. Default: examples mined from local Python source.",
)  # fmt: skip
@click.option("--recipe", default=None, help="A recipe name (training/recipes) or YAML path.")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after N steps.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the epochs.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Build folder (default: under the takeaways state folder).",
)  # fmt: skip
@click.option(
    "--quant", "quants", multiple=True, type=click.Choice(_QUANTS), default=_QUANTS,
    show_default=True, help="GGUF types to export (repeatable); f16 is always made.",
)  # fmt: skip
@click.option("--no-register", is_flag=True, help="Do not create the model in Ollama.")
@click.option("--resume", is_flag=True, help="Continue an interrupted training run.")
@click.option("--host", default=None, help="Ollama URL (default: the daemon's setting).")
def build(
    base: str | None,
    data: Path | None,
    recipe: str | None,
    max_steps: int | None,
    epochs: int | None,
    out: Path | None,
    quants: tuple[str, ...],
    no_register: bool,
    resume: bool,
    host: str | None,
) -> None:
    """Run data → train → merge → GGUF → verify → Modelfile → register, skipping done stages."""
    from takeaways_daemon import locations
    from takeaways_daemon.deployment_config import load_deployment_config
    from training.base_model import base_short_name
    from training.build import BuildOptions, default_recipe_for, run_build
    from training.recipe import load_recipe

    config = load_deployment_config()
    chosen = load_recipe(recipe) if recipe else default_recipe_for(base, config)
    chosen = chosen.with_overrides(base=base, max_steps=max_steps, epochs=epochs)
    out = out or locations.state_dir() / "builds" / f"{config.name}-{base_short_name(chosen.base)}"
    options = BuildOptions(
        recipe=chosen,
        out_dir=out,
        data=data,
        quants=quants,
        serve_quant="q4_K_M" if "q4_K_M" in quants else quants[-1],
        register=not no_register,
        resume=resume,
        ollama_host=_ollama_host(host) if not no_register else "",
    )
    summary = run_build(options, config, say=lambda line: click.echo(strip_control(line)))
    click.echo(f"summary: {out / 'summary.json'}")
    click.echo(json.dumps({k: summary[k] for k in ("gguf", "verify", "build_seconds")}))


@model_group.command("register")
@click.option(
    "--gguf", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="The GGUF to register (default: the installed takeaways GGUF).",
)  # fmt: skip
@click.option("--host", default=None, help="Ollama URL (default: the daemon's setting).")
def register(gguf: Path | None, host: str | None) -> None:
    """Create `takeaways` in a running Ollama, keeping the current one as `takeaways:previous`."""
    from takeaways_daemon import locations
    from takeaways_daemon.deployment_config import load_deployment_config
    from takeaways_daemon.errors import TakeawaysError
    from training.modelfile import write_modelfile
    from training.ollama_registration import equivalent_command, register_model

    config = load_deployment_config()
    gguf = gguf or locations.built_model_path()
    if not gguf.is_file():
        raise TakeawaysError(f"no GGUF at {gguf}; run `takeaways model build` or pass --gguf")
    modelfile = write_modelfile(gguf.parent / "Modelfile", f"./{gguf.name}", config)
    result = register_model(
        gguf, config, host=_ollama_host(host), modelfile=modelfile,
        on_status=lambda status: click.echo(f"  {strip_control(status)}"),
    )  # fmt: skip
    kept = f", previous kept as {config.previous_name}" if result.kept_previous else ""
    click.echo(f"created {result.name} ({result.digest[:19]}…){kept}")
    click.echo(f"equivalent: cd {gguf.parent} && {equivalent_command(config, modelfile)}")


@model_group.command("modelfile")
@click.option("--gguf", default="./takeaways.gguf", show_default=True, help="The FROM path.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write here instead of printing.",
)  # fmt: skip
def modelfile(gguf: str, out: Path | None) -> None:
    """Render the Modelfile from takeaways.yaml and the shared prompt format."""
    from takeaways_daemon.deployment_config import load_deployment_config
    from training.modelfile import render_modelfile, write_modelfile

    config = load_deployment_config()
    if out is None:
        click.echo(render_modelfile(gguf, config), nl=False)
    else:
        click.echo(f"wrote {write_modelfile(out, gguf, config)}")


# The model versions the learning loop keeps: `takeaways model list|rollback` are the same
# commands as `takeaways learn list|rollback`, where they were born.
model_group.add_command(learn_list, name="list")
model_group.add_command(learn_rollback, name="rollback")
