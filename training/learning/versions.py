"""Kept model versions, and serving one of them by an atomic rename.

Each version is a folder under `learning_paths.versions_dir()`: `model.gguf`, the LoRA adapter it
was merged from (when a round made it), a Modelfile and `meta.json` (date, base, examples, gate
numbers). Which version is served is not stored anywhere that could go stale: it is the version
whose GGUF has the same sha256 as the file the embedded backend serves
(`locations.built_model_path()`). A version folder is written whole under a temporary name and
then renamed, and the served file is replaced with `os.replace`, so a process killed at any
moment leaves either the old model or the new one, never a partial file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takeaways_daemon import locations
from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.learning_paths import versions_dir

MODEL_FILE = "model.gguf"
META_FILE = "meta.json"
ADAPTER_DIR = "adapter"
REJECTED_DIR = "rejected"
_PARTIAL = ".partial"


class VersionError(TakeawaysError):
    """A model version is missing or cannot be served."""


@dataclass(frozen=True)
class ModelVersion:
    """One kept model: its folder and what `meta.json` says about it."""

    folder: Path
    meta: dict[str, Any]

    @property
    def id(self) -> str:
        """The version's name (its folder name)."""
        return self.folder.name

    @property
    def gguf(self) -> Path:
        """The version's GGUF file."""
        return self.folder / MODEL_FILE

    @property
    def adapter(self) -> Path | None:
        """The LoRA adapter the GGUF was merged from, when a round made this version."""
        folder = self.folder / ADAPTER_DIR
        return folder if (folder / "adapter_config.json").is_file() else None

    @property
    def sha256(self) -> str:
        """The GGUF's sha256 (recorded when the version was kept)."""
        return str(self.meta["sha256"])

    @property
    def created_at(self) -> float:
        """When the version was kept (seconds since the epoch)."""
        return float(self.meta["created_at"])


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def new_version_id(prefix: str = "v") -> str:
    """A sortable, unique version name: `v-20261130-152233-1a2b`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{prefix}-{stamp}-{os.urandom(2).hex()}"


def list_versions(root: Path | None = None) -> list[ModelVersion]:
    """Every complete version, oldest first (half-written folders are ignored)."""
    root = root or versions_dir()
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if folder.name.endswith(_PARTIAL) or not (folder / META_FILE).is_file():
            continue
        if not (folder / MODEL_FILE).is_file():
            continue
        found.append(ModelVersion(folder, json.loads((folder / META_FILE).read_text())))
    return sorted(found, key=lambda version: (version.created_at, version.id))


def served_version(versions: list[ModelVersion] | None = None) -> ModelVersion | None:
    """The kept version whose GGUF is the one being served, if any."""
    served = locations.built_model_path()
    if not served.is_file():
        return None
    digest = file_sha256(served)
    versions = list_versions() if versions is None else versions
    return next((v for v in reversed(versions) if v.sha256 == digest), None)


def find_version(version_id: str) -> ModelVersion:
    """The version named `version_id` (a unique prefix is enough)."""
    versions = list_versions()
    matches = [v for v in versions if v.id == version_id] or [
        v for v in versions if v.id.startswith(version_id)
    ]
    if len(matches) != 1:
        known = ", ".join(v.id for v in versions) or "none yet"
        raise VersionError(f"no single version matches {version_id!r}; kept: {known}")
    return matches[0]


def keep_version(
    gguf: Path,
    meta: dict[str, Any],
    *,
    adapter: Path | None = None,
    version_id: str | None = None,
    root: Path | None = None,
) -> ModelVersion:
    """Copy a GGUF (and its adapter) into a new version folder, whole or not at all."""
    root = root or versions_dir()
    version_id = version_id or new_version_id()
    target = root / version_id
    staging = root / (version_id + _PARTIAL)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copyfile(gguf, staging / MODEL_FILE)
    if adapter is not None:
        shutil.copytree(adapter, staging / ADAPTER_DIR)
    full_meta = {
        "id": version_id,
        "created_at": time.time(),
        **meta,
        "sha256": file_sha256(staging / MODEL_FILE),
        "bytes": (staging / MODEL_FILE).stat().st_size,
    }
    (staging / META_FILE).write_text(json.dumps(full_meta, indent=2))
    _fsync_tree(staging)
    staging.rename(target)
    return ModelVersion(target, full_meta)


def keep_served_if_unknown(base: str, fallback: Path | None = None) -> ModelVersion | None:
    """Keep the served GGUF as a version first when no version holds it (so rollback can reach
    the model served before learning began); returns the version holding it, if any.

    `fallback` is what the backend serves while no GGUF is installed (the packaged base)."""
    served = locations.built_model_path()
    if not served.is_file():
        if fallback is None or not fallback.is_file():
            return None
        meta = {"base": base, "source": "base", "examples": None, "gate": None}
        return keep_version(fallback, meta, version_id=new_version_id("base"))
    versions = list_versions()
    current = served_version(versions)
    if current is not None:
        return current
    meta = {"base": base, "source": "installed", "examples": None, "gate": None}
    return keep_version(served, meta, version_id=new_version_id("installed"))


def serve_version(version: ModelVersion) -> Path:
    """Make `version` the served GGUF: copied beside the target, checked, then renamed over it."""
    target = locations.built_model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + _PARTIAL)
    shutil.copyfile(version.gguf, partial)
    if file_sha256(partial) != version.sha256:
        partial.unlink(missing_ok=True)
        raise VersionError(f"{version.gguf} no longer matches its recorded sha256; not served")
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    return target


def prune_versions(keep: int, *, protect: Callable[[ModelVersion], bool]) -> list[str]:
    """Delete the oldest versions past `keep` (never a protected one); returns their ids."""
    versions = list_versions()
    removed = []
    surplus = len(versions) - keep
    for version in versions:
        if surplus <= 0:
            break
        if protect(version):
            continue
        shutil.rmtree(version.folder, ignore_errors=True)
        removed.append(version.id)
        surplus -= 1
    rejected = list_versions(versions_dir() / REJECTED_DIR)
    for version in rejected[: max(0, len(rejected) - keep)]:
        shutil.rmtree(version.folder, ignore_errors=True)
    return removed


def previous_of(current: ModelVersion | None, versions: list[ModelVersion]) -> ModelVersion:
    """The version kept just before `current` (the rollback target when none is named)."""
    if current is None:
        if not versions:
            raise VersionError("no model versions are kept yet; nothing to roll back to")
        return versions[-1]
    earlier = [v for v in versions if (v.created_at, v.id) < (current.created_at, current.id)]
    if not earlier:
        raise VersionError(f"{current.id} is the oldest kept version; nothing earlier to serve")
    return earlier[-1]


def _fsync_tree(folder: Path) -> None:
    """Flush a new folder's files to disk before it is renamed into place."""
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def versions_summary() -> list[dict[str, Any]]:
    """Every kept version with the facts `takeaways learn list` shows, oldest first."""
    versions = list_versions()
    current = served_version(versions)
    rows = []
    for version in versions:
        gate = version.meta.get("gate") or {}
        candidate = gate.get("candidate") or {}
        rows.append({
            "id": version.id,
            "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(version.created_at)),
            "base": version.meta.get("base"),
            "source": version.meta.get("source"),
            "examples": version.meta.get("examples"),
            "held_out_loss": candidate.get("held_out_loss"),
            "humaneval_pass1": candidate.get("humaneval_pass1"),
            "fix_success": candidate.get("fix_success"),
            "format_valid": candidate.get("format_valid"),
            "served": current is not None and version.id == current.id,
        })  # fmt: skip
    return rows
