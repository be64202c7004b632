"""Watcher faults on real folders, real inotify and a real kernel limit.

- A lowered `max_inotify_watches` inside a user namespace (the kernel's per-namespace limit, so
  the host is untouched): the watcher falls back to polling and still sees saves.
- Ignored folders (node_modules) take no inotify watches: counted from the kernel's own list
  (`/proc/self/fdinfo` of the inotify descriptor), at start and for folders made later.
- Symlink loops and links to files and folders outside the root: the watcher finishes, and the
  outside files are never opened (an inotify watch on them sees no IN_OPEN).
- 50,000 new files at once: the changes handed on reconcile to exactly what is on disk.
- Binary, huge and non-UTF-8 files are skipped, each with its reason.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from takeaways_daemon.settings import WatcherSettings
from takeaways_daemon.watcher import FileChange, ProjectWatcher

REPO = Path(__file__).resolve().parents[1]
IN_ACCESS, IN_OPEN, IN_NONBLOCK = 0x1, 0x20, 0o4000


def run_watcher(root: Path, scenario, timeout_s: float = 120, **settings):
    async def main():
        watcher = ProjectWatcher(root, WatcherSettings(**{"debounce_ms": 50, **settings}))
        await watcher.start()
        try:
            return await asyncio.wait_for(scenario(watcher), timeout=timeout_s)
        finally:
            await watcher.stop()

    return asyncio.run(main())


async def drain(watcher: ProjectWatcher, quiet_s: float = 1.0) -> list[FileChange]:
    changes = []
    while True:
        try:
            changes.append(await asyncio.wait_for(watcher.next_change(), quiet_s))
        except TimeoutError:
            return changes


def watched_inodes() -> set[int]:
    """Inodes this process's inotify descriptors watch, as the kernel lists them."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            info = Path(f"/proc/self/fdinfo/{fd}").read_text()
        except OSError:
            continue
        for line in info.splitlines():
            if line.startswith("inotify wd:"):
                fields = dict(part.split(":", 1) for part in line.split()[1:])
                inodes.add(int(fields["ino"], 16))
    return inodes


def folder_inodes(top: Path) -> set[int]:
    return {top.stat().st_ino} | {p.stat().st_ino for p in top.rglob("*") if p.is_dir()}


class TestInotifyWatches:
    def test_ignored_folders_take_no_watches_now_or_later(self, tmp_path: Path) -> None:
        for index in range(30):
            (tmp_path / "node_modules" / f"pkg{index}" / "lib" / "sub").mkdir(parents=True)
        (tmp_path / "src" / "app").mkdir(parents=True)
        (tmp_path / ".venv" / "lib").mkdir(parents=True)
        (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")

        async def scenario(watcher: ProjectWatcher):
            assert watcher.mode == "inotify"
            at_start = watched_inodes()
            (tmp_path / "node_modules" / "late" / "deep").mkdir(parents=True)
            (tmp_path / "src" / "late").mkdir()
            await drain(watcher, 0.5)
            return at_start, watched_inodes()

        at_start, later = run_watcher(tmp_path, scenario)
        ignored = folder_inodes(tmp_path / "node_modules") | folder_inodes(tmp_path / ".venv")
        assert not ignored & at_start and not ignored & later
        assert folder_inodes(tmp_path / "src") <= later  # including the folder made later
        assert tmp_path.stat().st_ino in at_start

    def test_a_real_watch_limit_in_a_user_namespace_falls_back_to_polling(self, tmp_path: Path):
        unshare = shutil.which("unshare")
        probe = subprocess.run(
            [unshare or "unshare", "--user", "--map-root-user", "sh", "-c",
             "echo 5 > /proc/sys/user/max_inotify_watches"],
            capture_output=True, text=True, check=False,
        ) if unshare else None  # fmt: skip
        if probe is None or probe.returncode != 0:
            pytest.skip(
                "this kernel refuses unprivileged user namespaces, so no watch limit can be "
                "lowered without root; the fallback itself is proven with inotify's ENOSPC in "
                "tests/test_watcher.py::TestInotifyLimit "
                f"({probe.stderr.strip() if probe else 'no unshare'})"
            )
        for index in range(20):
            (tmp_path / f"pkg{index}").mkdir()
        script = textwrap.dedent(f"""
            import asyncio, json
            from pathlib import Path
            from takeaways_daemon.settings import WatcherSettings
            from takeaways_daemon.watcher import ProjectWatcher

            async def main():
                root = Path({str(tmp_path)!r})
                settings = WatcherSettings(debounce_ms=50, polling_interval_s=0.1)
                watcher = ProjectWatcher(root, settings)
                await watcher.start()
                (root / "pkg7" / "saved.py").write_text("seen = True\\n")
                change = await asyncio.wait_for(watcher.next_change(), 10)
                await watcher.stop()
                print(json.dumps([watcher.mode, change.relative, change.text]))

            asyncio.run(main())
        """)
        limit = 'echo 5 > /proc/sys/user/max_inotify_watches && exec "$0" -c "$1"'
        result = subprocess.run(
            [unshare, "--user", "--map-root-user", "sh", "-c", limit, sys.executable, script],
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        mode, relative, text = json.loads(result.stdout.strip().splitlines()[-1])
        assert (mode, relative, text) == ("polling", "pkg7/saved.py", "seen = True\n")
        assert "polling every 0.1s" in result.stderr  # the log says why, and what to raise


class OpenWatch:
    """A raw inotify watch reporting any open or read of files in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(IN_NONBLOCK)
        assert self.fd >= 0
        assert self.libc.inotify_add_watch(self.fd, os.fsencode(folder), IN_OPEN | IN_ACCESS) >= 0

    def events(self) -> bytes:
        try:
            return os.read(self.fd, 65536)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        os.close(self.fd)


def test_symlink_loops_and_links_out_are_never_followed_nor_read(tmp_path: Path) -> None:
    root, outside = tmp_path / "project", tmp_path / "outside"
    (root / "a" / "b").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.py").write_text("TOKEN = 'do-not-read'\n")
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "a" / "b" / "up").symlink_to("../..", target_is_directory=True)
    (root / "leakdir").symlink_to(outside, target_is_directory=True)
    opens = OpenWatch(outside)
    try:

        async def scenario(watcher: ProjectWatcher):
            (root / "leak.py").symlink_to(outside / "secret.py")  # made while watched
            (root / "a" / "real.py").write_text("x = 1\n")
            (root / ".gitignore").write_text("*.log\n")  # new rules: a full rescan walk
            return await drain(watcher)

        changes = run_watcher(root, scenario, timeout_s=30)
        assert opens.events() == b""  # nothing outside the root was opened or read
        (outside / "secret.py").read_text()
        assert opens.events() != b""  # the control: an open there is seen
    finally:
        opens.close()
    assert sorted(c.relative for c in changes if c.text) == [".gitignore", "a/real.py"]
    assert not any("do-not-read" in (c.text or "") for c in changes)


def test_fifty_thousand_new_files_at_once_reconcile_to_the_disk(tmp_path: Path) -> None:
    async def scenario(watcher: ProjectWatcher):
        for index in range(50_000):
            folder = tmp_path / f"d{index % 100:02d}"
            folder.mkdir(exist_ok=True)
            (folder / f"f{index}.py").write_text(f"n = {index}\n")
        final: dict[str, str | None] = {}
        for change in await drain(watcher, quiet_s=3.0):
            final[change.relative] = change.text
        return final, watcher.stats

    final, stats = run_watcher(tmp_path, scenario, timeout_s=400)
    on_disk = {str(path.relative_to(tmp_path)): path.read_text() for path in tmp_path.rglob("*.py")}
    assert len(on_disk) == 50_000
    assert final == on_disk
    assert stats.rescans >= 1  # the burst was reconciled by a walk, not 50,000 single reads


def test_binary_huge_and_non_utf8_files_are_skipped_each_with_its_reason(tmp_path: Path) -> None:
    async def scenario(watcher: ProjectWatcher):
        (tmp_path / "image.py").write_bytes(b"PNG\x00\x01\x02")
        (tmp_path / "huge.py").write_text("x = 1\n" * 400)
        (tmp_path / "latin1.py").write_bytes("name = 'café'\n".encode("latin-1"))
        (tmp_path / "fine.py").write_text("ok = True\n")
        return await drain(watcher), dict(watcher.stats.skipped)

    changes, skipped = run_watcher(tmp_path, scenario, max_file_bytes=1000)
    assert [(c.relative, c.text) for c in changes] == [("fine.py", "ok = True\n")]
    assert skipped["image.py"] == "binary (a NUL byte)"
    assert skipped["huge.py"].startswith("too large (2400 bytes")
    assert skipped["latin1.py"].startswith("not UTF-8")
