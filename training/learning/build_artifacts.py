"""What a round takes from the last `takeaways model build`: its adapter and its training data.

The build's adapter is the one to continue from only while the build's GGUF is what is served
(checked by content); its training data is the default replay set.
"""

from __future__ import annotations

import json
from pathlib import Path

from takeaways_daemon import locations
from training.learning.versions import ModelVersion, file_sha256


def adapter_to_continue(current: ModelVersion | None, base: str) -> Path | None:
    """The served model's adapter when a round made it on this base, else the adapter of the
    last `takeaways model build` when that build is what is served; None: a new adapter."""
    if current is not None and current.adapter is not None and current.meta.get("base") == base:
        return current.adapter
    build = _build_folder(base)
    served = locations.built_model_path()
    summary = build / "summary.json"
    if not (summary.is_file() and served.is_file() and (build / "adapter").is_dir()):
        return None
    ggufs = [Path(p) for p in json.loads(summary.read_text()).get("gguf", {}).values()]
    digest = file_sha256(served)
    if any(p.is_file() and file_sha256(p) == digest for p in ggufs):
        return build / "adapter"
    return None


def _build_folder(base: str) -> Path:
    """Where `takeaways model build` leaves its stages for this base."""
    from takeaways_daemon.deployment_config import load_deployment_config
    from training.base_model import base_short_name

    name = load_deployment_config().name
    return locations.state_dir() / "builds" / f"{name}-{base_short_name(base)}"


def build_data_file(base: str) -> Path | None:
    """The training data of the last `takeaways model build` on this base, if kept."""
    path = _build_folder(base) / "data" / "train.jsonl"
    return path if path.is_file() else None
