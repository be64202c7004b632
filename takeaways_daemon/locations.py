"""Where takeaways keeps its files.

`TAKEAWAYS_HOME` moves everything (config, state, cache) under one folder, so tests and users can
keep separate worlds. Without it, the platform's usual folders are used (XDG on Linux).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import platformdirs

from takeaways_daemon.errors import TakeawaysError

APP_NAME = "takeaways"


def home_override() -> Path | None:
    """The folder named by `TAKEAWAYS_HOME`, if set."""
    value = os.environ.get("TAKEAWAYS_HOME")
    return Path(value).expanduser().resolve() if value else None


def config_dir() -> Path:
    """Folder holding `config.toml`."""
    home = home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


def config_file() -> Path:
    """The TOML settings file read after the defaults and before `TAKEAWAYS_*` variables."""
    return config_dir() / "config.toml"


def state_dir() -> Path:
    """Folder for daemons' runtime state, logs, and history."""
    home = home_override()
    return home / "state" if home else Path(platformdirs.user_state_dir(APP_NAME))


def cache_dir() -> Path:
    """Folder for re-creatable files, such as the assembled base GGUF."""
    home = home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME))


def models_dir() -> Path:
    """Folder where `takeaways model build` leaves the takeaways GGUF for the embedded backend."""
    home = home_override()
    return home / "models" if home else Path(platformdirs.user_data_dir(APP_NAME)) / "models"


def built_model_path() -> Path:
    """The GGUF that the training pipeline installs; the embedded backend prefers it."""
    return models_dir() / "takeaways.gguf"


def project_state_dir(project_root: Path) -> Path:
    """Per-project daemon folder: a short hash keeps unix-socket paths under the 108-byte limit."""
    digest = hashlib.sha256(str(project_root.resolve()).encode()).hexdigest()[:12]
    return state_dir() / "projects" / digest


class UnsafeStateDir(TakeawaysError, PermissionError):
    """A private folder that is a link, not a folder, or someone else's: refused, never used."""


def ensure_private_dir(path: Path, *, in_shared_folder: bool = False) -> Path:
    """Create `path` (mode 0700) if needed: it holds tokens, sockets and private code.

    A folder owned by someone else is refused, and so, `in_shared_folder` (such as /tmp), is a
    link: there another user could plant `takeaways-<uid>` as a link to a folder of ours, to
    have us chmod it and put our socket there. The mode is checked and set on the opened folder,
    never through a path that could be swapped meanwhile.
    """
    with contextlib.suppress(FileExistsError):  # a file or dangling link: refused just below
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags | (os.O_NOFOLLOW if in_shared_folder else 0))
    except OSError as error:
        kind = "a symbolic link" if path.is_symlink() else f"not a usable folder ({error.strerror})"
        raise UnsafeStateDir(
            f"{path} is {kind}; takeaways will not use it. Remove it, or set TAKEAWAYS_HOME "
            "to a private folder"
        ) from None
    try:
        info = os.fstat(descriptor)
        if info.st_uid != os.getuid():
            # A folder someone else made (in /tmp, say) could let them reach our socket or token.
            raise UnsafeStateDir(
                f"{path} belongs to another user; remove it or move TAKEAWAYS_HOME"
            )
        if info.st_mode & 0o077:
            os.fchmod(descriptor, 0o700)
    finally:
        os.close(descriptor)
    return path


def history_db_path() -> Path:
    """The encrypted history database (one for all projects; rows name their project)."""
    return state_dir() / "history.sqlite3"


def history_key_file() -> Path:
    """The opt-in passphrase-protected key file (`history.key_source = "passphrase-file"`)."""
    return state_dir() / "history.keyfile"
