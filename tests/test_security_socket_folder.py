"""Specification: the daemon's private folders are never reached through a planted link.

With a deep state folder the socket moves to `$TMPDIR/takeaways-<uid>`, a shared place where
another user could plant that name first. Real folders, real links, the real CLI and daemon.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from security_helpers import running_daemon, takeaways

from takeaways_daemon import locations


@pytest.fixture
def deep_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TAKEAWAYS_HOME so deep that the socket must live in the fallback folder under TMPDIR."""
    home = tmp_path / ("h" * 60) / ("o" * 60)
    monkeypatch.setenv("TAKEAWAYS_HOME", str(home))
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    monkeypatch.setenv("TMPDIR", str(shared))
    return shared


def fallback_folder(shared: Path) -> Path:
    return shared / f"takeaways-{os.getuid()}"


def test_the_socket_moves_to_a_private_fallback_folder(tmp_path: Path, deep_home: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with running_daemon(project, TMPDIR=str(deep_home)) as record:
        folder = fallback_folder(deep_home)
        assert Path(record.address.removeprefix("unix:")).parent == folder
        info = os.lstat(folder)
        assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700


def test_a_planted_link_as_the_fallback_folder_is_refused(
    tmp_path: Path, deep_home: Path
) -> None:
    """The link points at a folder of ours: the daemon must neither chmod it nor use it."""
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o755)
    victim.chmod(0o755)
    fallback_folder(deep_home).symlink_to(victim)
    project = tmp_path / "project"
    project.mkdir()
    started = takeaways("start", str(project), env={"TMPDIR": str(deep_home)})
    if started.returncode == 0:  # the bug: don't leave its daemon behind
        takeaways("stop", str(project))
    assert started.returncode != 0
    assert "symbolic link" in started.stderr and "Traceback" not in started.stderr
    assert stat.S_IMODE(victim.stat().st_mode) == 0o755
    assert list(victim.iterdir()) == []


def test_a_file_planted_as_the_fallback_folder_is_refused(tmp_path: Path) -> None:
    planted = tmp_path / "takeaways-x"
    planted.write_text("not a folder")
    with pytest.raises(locations.UnsafeStateDir, match="not a usable folder"):
        locations.ensure_private_dir(planted, in_shared_folder=True)


def test_a_link_planted_in_a_shared_folder_is_refused_even_to_our_own_folder(
    tmp_path: Path,
) -> None:
    ours = tmp_path / "ours"
    ours.mkdir(mode=0o755)
    ours.chmod(0o755)
    (tmp_path / "takeaways-x").symlink_to(ours)
    with pytest.raises(locations.UnsafeStateDir, match="symbolic link"):
        locations.ensure_private_dir(tmp_path / "takeaways-x", in_shared_folder=True)
    assert stat.S_IMODE(ours.stat().st_mode) == 0o755


def test_a_state_folder_the_user_linked_elsewhere_still_works(tmp_path: Path) -> None:
    """Outside shared folders a link of the user's own (state on another disk) is followed."""
    (tmp_path / "disk").mkdir()
    (tmp_path / "state").symlink_to(tmp_path / "disk")
    assert locations.ensure_private_dir(tmp_path / "state") == tmp_path / "state"
    assert stat.S_IMODE((tmp_path / "disk").stat().st_mode) == 0o700
