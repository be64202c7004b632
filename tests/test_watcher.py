"""The project watcher on real folders with real watchdog observers (debounce cut to 50 ms)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from watchdog.observers.inotify import InotifyObserver
from watchdog.observers.polling import PollingObserver

from takeaways_daemon.settings import WatcherSettings
from takeaways_daemon.watcher import FileChange, ProjectWatcher

DEBOUNCE_MS = 50


def run_watcher(
    root: Path,
    scenario: Callable[[ProjectWatcher], Awaitable[Any]],
    *,
    observer_factory: Any = None,
    **settings: Any,
) -> Any:
    """Start a watcher on `root`, run `scenario` against it inside a fresh loop, then stop it."""

    async def main() -> Any:
        watcher = ProjectWatcher(
            root,
            WatcherSettings(**{"debounce_ms": DEBOUNCE_MS, **settings}),
            observer_factory=observer_factory,
        )
        await watcher.start()
        try:
            return await asyncio.wait_for(scenario(watcher), timeout=30)
        finally:
            await watcher.stop()

    return asyncio.run(main())


async def collect(watcher: ProjectWatcher, quiet_s: float = 0.4) -> list[FileChange]:
    """Take changes until none arrives for `quiet_s`."""
    changes = []
    while True:
        try:
            changes.append(await asyncio.wait_for(watcher.next_change(), quiet_s))
        except TimeoutError:
            return changes


async def settle(watcher: ProjectWatcher, quiet_s: float = 0.3) -> None:
    """Wait until the watcher has been idle, with an unchanged queue, for `quiet_s`."""
    loop = asyncio.get_running_loop()
    calm_since, last = loop.time(), None
    while True:
        await asyncio.sleep(0.02)
        state = (watcher.is_idle, watcher.queue_depth, watcher.stats.events)
        if state != last or not watcher.is_idle:
            calm_since, last = loop.time(), state
        elif loop.time() - calm_since >= quiet_s:
            return


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


def summary(changes: list[FileChange]) -> list[tuple[str, str, str | None]]:
    return [(change.relative, change.reason, change.text) for change in changes]


class TestSaves:
    @pytest.mark.parametrize("temp_name", [".foo.py.tmp", "foo.py.save-12345"])
    def test_atomic_save_is_one_change_of_the_target(self, tmp_path: Path, temp_name: str) -> None:
        write(tmp_path / "foo.py", "old = 1\n")

        async def scenario(watcher: ProjectWatcher) -> list[FileChange]:
            temp = tmp_path / temp_name
            temp.write_text("new = 2\n")
            os.replace(temp, tmp_path / "foo.py")
            return await collect(watcher)

        changes = run_watcher(tmp_path, scenario)
        assert summary(changes) == [("foo.py", "modified", "new = 2\n")]
        assert changes[0].path == tmp_path.resolve() / "foo.py"

    def test_delete_is_a_deleted_change(self, tmp_path: Path) -> None:
        write(tmp_path / "gone.py", "x = 1\n")

        async def scenario(watcher: ProjectWatcher) -> list[FileChange]:
            (tmp_path / "gone.py").unlink()
            return await collect(watcher)

        assert summary(run_watcher(tmp_path, scenario)) == [("gone.py", "deleted", None)]

    def test_rename_is_delete_of_source_and_change_of_destination(self, tmp_path: Path) -> None:
        write(tmp_path / "a.py", "value = 'a'\n")

        async def scenario(watcher: ProjectWatcher) -> list[FileChange]:
            (tmp_path / "a.py").rename(tmp_path / "b.py")
            return await collect(watcher)

        changes = sorted(summary(run_watcher(tmp_path, scenario)))
        assert changes == [("a.py", "deleted", None), ("b.py", "modified", "value = 'a'\n")]

    def test_folder_moved_out_deletes_its_files(self, tmp_path: Path) -> None:
        write(tmp_path / "project" / "pkg" / "m.py", "m = 1\n")
        root = tmp_path / "project"

        async def scenario(watcher: ProjectWatcher) -> list[FileChange]:
            (root / "pkg").rename(tmp_path / "elsewhere")
            # watchdog holds an unpaired move for 0.5 s, waiting for its other half.
            return await collect(watcher, quiet_s=1.0)

        assert summary(run_watcher(root, scenario)) == [("pkg/m.py", "deleted", None)]


class TestLatestWins:
    def test_rapid_saves_coalesce_and_supersede_work_in_flight(self, tmp_path: Path) -> None:
        target = tmp_path / "x.py"
        write(target, "v = 0\n")
        superseded: list[str] = []

        async def scenario(watcher: ProjectWatcher) -> tuple[FileChange, list[FileChange]]:
            watcher.add_superseded_listener(superseded.append)
            target.write_text("v = 'first'\n")
            in_flight = await watcher.next_change()  # the engine is now working on this text
            for version in range(1, 21):
                target.write_text(f"v = {version}\n")
            return in_flight, await collect(watcher)

        in_flight, later = run_watcher(tmp_path, scenario)
        assert in_flight.text == "v = 'first'\n"
        assert summary(later) == [("x.py", "modified", "v = 20\n")]
        assert superseded == ["x.py"]

    def test_a_newer_save_replaces_queued_work(self, tmp_path: Path) -> None:
        target = tmp_path / "y.py"
        write(target, "y = 0\n")
        superseded: list[str] = []

        async def scenario(watcher: ProjectWatcher) -> dict[str, FileChange]:
            watcher.add_superseded_listener(superseded.append)
            target.write_text("y = 1\n")
            await settle(watcher)
            assert watcher.pending()["y.py"].text == "y = 1\n"
            target.write_text("y = 2\n")
            await settle(watcher)
            return watcher.pending()

        pending = run_watcher(tmp_path, scenario)
        assert [(c.relative, c.text) for c in pending.values()] == [("y.py", "y = 2\n")]
        assert superseded == ["y.py"]


class TestIgnored:
    # watchdog warns when `mkdir -p` races its own recursive watch setup; harmless here.
    @pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")
    def test_ignored_paths_produce_no_changes(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside.py"
        outside_dir = tmp_path / "outside_dir"
        root = tmp_path / "project"
        write(outside, "secret = 1\n")
        write(outside_dir / "lib.py", "lib = 1\n")
        write(root / ".gitignore", "secret.py\n")
        write(root / "sub" / ".gitignore", "/generated.py\n")
        write(root / "myenv" / "pyvenv.cfg", "home = /usr\n")
        write(root / ".git" / "HEAD", "ref: refs/heads/main\n")
        (root / "link.py").symlink_to(outside)
        (root / "linked_dir").symlink_to(outside_dir, target_is_directory=True)

        async def scenario(watcher: ProjectWatcher) -> list[FileChange]:
            write(root / "secret.py", "token = 'x'\n")
            write(root / "sub" / "generated.py", "g = 1\n")
            write(root / "node_modules" / "left-pad" / "index.js", "module.exports = 1\n")
            write(root / ".venv" / "lib" / "site.py", "import os\n")
            write(root / "myenv" / "lib" / "site.py", "import os\n")
            write(root / ".git" / "HEAD", "ref: refs/heads/other\n")
            write(root / "build" / "out.py", "built = 1\n")
            write(root / "pkg.egg-info" / "PKG-INFO", "Name: pkg\n")
            write(root / "notes.log", "log line\n")
            write(root / "blob.py", b"\x00\x01binary")
            write(root / "latin1.py", "caf\xe9\n".encode("latin-1"))
            write(root / "big.py", "x = 1\n" * 400)
            (root / "new_link.py").symlink_to(outside)
            write(outside, "secret = 2\n")
            write(outside_dir / "lib.py", "lib = 2\n")
            write(outside_dir / "new.py", "new = 1\n")
            write(root / "ok.py", "fine = True\n")  # the control: this one must arrive
            return await collect(watcher)

        changes = run_watcher(root, scenario, max_file_bytes=1000, extra_ignores=["*.log"])
        assert summary(changes) == [("ok.py", "modified", "fine = True\n")]

    def test_editing_gitignore_applies_new_rules_without_flooding(self, tmp_path: Path) -> None:
        write(tmp_path / "keep.py", "k = 1\n")
        write(tmp_path / "data.py", "d = 1\n")
        write(tmp_path / "hidden" / "h.py", "h = 1\n")
        write(tmp_path / ".gitignore", "hidden/\n")

        async def scenario(watcher: ProjectWatcher) -> list[FileChange]:
            write(tmp_path / ".gitignore", "data.py\n")
            await settle(watcher)
            changes = await collect(watcher)
            write(tmp_path / "data.py", "d = 2\n")  # now ignored
            write(tmp_path / "hidden" / "h.py", "h = 2\n")  # now visible
            return changes + await collect(watcher)

        changes = run_watcher(tmp_path, scenario)
        assert summary(changes) == [
            (".gitignore", "modified", "data.py\n"),
            ("hidden/h.py", "modified", "h = 2\n"),
        ]


class TestBursts:
    def test_burst_of_2000_files_ends_with_exactly_their_final_state(self, tmp_path: Path) -> None:
        async def scenario(watcher: ProjectWatcher) -> dict[str, FileChange]:
            for index in range(2000):
                write(tmp_path / f"d{index % 20}" / f"f{index}.py", f"first = {index}\n")
            for index in range(0, 2000, 7):  # some files are saved twice
                write(tmp_path / f"d{index % 20}" / f"f{index}.py", f"second = {index}\n")
            await settle(watcher)
            return watcher.pending()

        settings = {"burst_events": 500}
        pending, stats = run_watcher(tmp_path, _with_stats(scenario), **settings)
        expected = {
            f"d{index % 20}/f{index}.py": f"{'second' if index % 7 == 0 else 'first'} = {index}\n"
            for index in range(2000)
        }
        assert {relative: change.text for relative, change in pending.items()} == expected
        assert stats.rescans >= 1

    def test_a_small_batch_is_not_a_burst(self, tmp_path: Path) -> None:
        async def scenario(watcher: ProjectWatcher) -> dict[str, FileChange]:
            for index in range(50):
                write(tmp_path / f"f{index}.py", f"n = {index}\n")
            await settle(watcher)
            return watcher.pending()

        pending, stats = run_watcher(tmp_path, _with_stats(scenario))
        assert {r: c.text for r, c in pending.items()} == {
            f"f{index}.py": f"n = {index}\n" for index in range(50)
        }
        assert {c.reason for c in pending.values()} == {"modified"}
        assert stats.rescans == 0

    def test_full_queue_drops_work_then_rescans_until_all_is_delivered(
        self, tmp_path: Path
    ) -> None:
        for index in range(50):
            write(tmp_path / f"f{index}.py", "old\n")

        async def scenario(watcher: ProjectWatcher) -> tuple[dict[str, str | None], int]:
            deepest = 0

            async def sample() -> None:
                nonlocal deepest
                while True:
                    deepest = max(deepest, watcher.queue_depth)
                    await asyncio.sleep(0)

            sampler = asyncio.create_task(sample())
            for index in range(50):
                write(tmp_path / f"f{index}.py", f"new = {index}\n")
            await settle(watcher)
            delivered = {}
            for change in await collect(watcher, quiet_s=1.0):
                delivered[change.relative] = change.text
            sampler.cancel()
            return delivered, deepest

        (delivered, deepest), stats = run_watcher(
            tmp_path, _with_stats(scenario), queue_max_files=10
        )
        assert deepest <= 10
        assert delivered == {f"f{index}.py": f"new = {index}\n" for index in range(50)}
        assert stats.dropped > 0
        assert stats.rescans >= 1

    def test_kernel_overflow_triggers_a_reconciling_rescan(self, tmp_path: Path) -> None:
        """A real inotify overflow needs >16k queued events or a lowered system-wide
        `max_queued_events`, neither safe nor reliable in CI. So the observer here never reports
        anything (it polls once an hour), a file changes behind its back, and watchdog's own
        overflow warning is logged by hand: the rescan alone must find the change."""
        write(tmp_path / "quiet.py", "before\n")
        write(tmp_path / "same.py", "unchanged\n")

        async def scenario(watcher: ProjectWatcher) -> list[FileChange]:
            write(tmp_path / "quiet.py", "after\n")
            write(tmp_path / "added.py", "added\n")
            logging.getLogger("watchdog.observers.inotify_c").warning(
                "Inotify queue overflowed; filesystem events were lost"
            )
            return await collect(watcher)

        changes, stats = run_watcher(
            tmp_path,
            _with_stats(scenario),
            observer_factory=lambda: PollingObserver(timeout=3600),
        )
        assert sorted(summary(changes)) == [
            ("added.py", "rescan", "added\n"),
            ("quiet.py", "rescan", "after\n"),
        ]
        assert (stats.overflows, stats.rescans) == (1, 1)


class TestInotifyLimit:
    @pytest.mark.parametrize("where", ["constructor", "start"])
    def test_falls_back_to_polling_and_still_sees_changes(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, where: str
    ) -> None:
        """The kernel's watch limit can't be lowered safely in CI (it is system-wide), so the
        observer factory raises inotify's ENOSPC / EMFILE the way watchdog does."""

        class LimitedObserver(InotifyObserver):
            def start(self) -> None:
                raise OSError(errno.EMFILE, "inotify instance limit reached")

        def factory() -> InotifyObserver:
            if where == "constructor":
                raise OSError(errno.ENOSPC, "inotify watch limit reached")
            return LimitedObserver()

        threads_before = threading.active_count()

        async def scenario(watcher: ProjectWatcher) -> tuple[str, list[FileChange]]:
            write(tmp_path / "polled.py", "seen = True\n")
            return watcher.mode, await collect(watcher, quiet_s=0.8)

        with caplog.at_level(logging.WARNING):
            mode, changes = run_watcher(
                tmp_path, scenario, observer_factory=factory, polling_interval_s=0.1
            )
        assert mode == "polling"
        assert summary(changes) == [("polled.py", "modified", "seen = True\n")]
        assert "polling every 0.1s" in caplog.text
        assert threading.active_count() <= threads_before + 1  # the failed observer was cleaned up

    def test_force_polling(self, tmp_path: Path) -> None:
        async def scenario(watcher: ProjectWatcher) -> tuple[str, list[FileChange]]:
            write(tmp_path / "p.py", "p = 1\n")
            write(tmp_path / "node_modules" / "x.js", "x\n")
            return watcher.mode, await collect(watcher, quiet_s=0.8)

        mode, changes = run_watcher(tmp_path, scenario, force_polling=True, polling_interval_s=0.1)
        assert (mode, summary(changes)) == ("polling", [("p.py", "modified", "p = 1\n")])


def _with_stats(
    scenario: Callable[[ProjectWatcher], Awaitable[Any]],
) -> Callable[[ProjectWatcher], Awaitable[Any]]:
    async def wrapped(watcher: ProjectWatcher) -> Any:
        return await scenario(watcher), watcher.stats

    return wrapped


class TestPytestLastFailed:
    """pytest's `lastfailed` is how the daemon learns the user ran the tests, though it sits in
    `.pytest_cache`, which the built-in rules (and most .gitignore files) skip."""

    LAST_FAILED = ".pytest_cache/v/cache/lastfailed"
    RECORD = '{"tests/test_calc.py::test_total": true}'

    def scenario(self, root: Path) -> Callable[[ProjectWatcher], Awaitable[list[FileChange]]]:
        async def run(watcher: ProjectWatcher) -> list[FileChange]:
            # What a pytest run leaves behind: the record, and other cache files beside it.
            write(root / ".pytest_cache" / "README.md", "pytest cache\n")
            write(root / ".pytest_cache" / "v" / "cache" / "nodeids", "[]\n")
            write(root / self.LAST_FAILED, self.RECORD)
            return await collect(watcher, quiet_s=0.8)

        return run

    @pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")
    def test_a_new_lastfailed_record_is_a_change_and_nothing_else_in_the_cache_is(
        self, tmp_path: Path
    ) -> None:
        write(tmp_path / ".gitignore", ".pytest_cache/\n")
        changes = run_watcher(tmp_path, self.scenario(tmp_path))
        assert summary(changes) == [(self.LAST_FAILED, "modified", self.RECORD)]

    def test_polling_walks_into_the_cache_for_it(self, tmp_path: Path) -> None:
        changes = run_watcher(
            tmp_path, self.scenario(tmp_path), force_polling=True, polling_interval_s=0.1
        )
        assert summary(changes) == [(self.LAST_FAILED, "modified", self.RECORD)]

    def test_a_rewritten_record_is_noticed_again(self, tmp_path: Path) -> None:
        write(tmp_path / self.LAST_FAILED, "{}")

        async def scenario(watcher: ProjectWatcher) -> list[FileChange]:
            write(tmp_path / self.LAST_FAILED, self.RECORD)
            return await collect(watcher)

        changes = run_watcher(tmp_path, scenario)
        assert summary(changes) == [(self.LAST_FAILED, "modified", self.RECORD)]
