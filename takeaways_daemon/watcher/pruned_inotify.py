"""An inotify observer that puts no watches in ignored folders (node_modules, .venv, build, …).

watchdog's recursive inotify watch adds one kernel watch per folder below the root, ignored or
not; a project with a large `node_modules` can use up the user's whole watch budget
(`fs.inotify.max_user_watches`) on folders whose events the watcher drops anyway. This observer
prunes the walk with the watcher's own ignore rules, at start and when folders appear later.

It extends watchdog 7.1's `InotifyWatchGroup`, an internal class; on a watchdog without it the
plain observer is used (everything still works, only the pruning is lost).
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from watchdog.observers.api import BaseObserver

logger = logging.getLogger(__name__)
_LIMITS = frozenset({errno.ENOSPC, errno.EMFILE})
SkipDir = Callable[[str], bool]
"""Whether a folder (absolute path) is ignored."""

try:
    from watchdog.observers.inotify import InotifyEmitter, InotifyObserver, InotifyWatchGroup
    from watchdog.observers.inotify_c import InotifyFD
except ImportError:  # pragma: no cover - not Linux, or a watchdog with other internals
    PRUNING = False
else:
    PRUNING = hasattr(InotifyWatchGroup, "_add_all_callbacks")


def refresh_watches(observer: BaseObserver) -> None:
    """The ignore rules changed: drop watches on folders now ignored, add the newly visible ones."""
    for emitter in list(observer.emitters):
        group = getattr(emitter, "_inotify", None)
        if PRUNING and isinstance(group, _PrunedWatchGroup):
            group.refresh()


def pruned_observer(skip_dir: SkipDir) -> BaseObserver:
    """An inotify observer whose recursive watches leave out folders `skip_dir` names."""
    if not PRUNING:
        from watchdog.observers import Observer

        return Observer()
    return _PrunedObserver(skip_dir)


if PRUNING:

    @dataclass
    class _PrunedWatchGroup(InotifyWatchGroup):
        skip_dir: SkipDir = field(default=lambda _: False)

        def _add_callback(self, path: bytes) -> None:
            # watchdog drops any error below the root, so hitting the kernel's watch limit left
            # part of the tree silently unwatched. At start it must fail (the caller falls back
            # to polling); later, a folder that cannot be watched is at least reported.
            try:
                wd = self._inotify_fd.add_callback(path, self.event_mask, self._callback, self._id)
            except OSError as error:
                if path == self.path or (error.errno in _LIMITS and not self._is_active):
                    raise
                if error.errno in _LIMITS:
                    logger.warning(
                        "inotify's limit is reached: %s is not watched (raise "
                        "fs.inotify.max_user_watches, or set watcher.force_polling)",
                        os.fsdecode(path),
                    )
                return
            self._active_callbacks_by_path[path] = wd
            self._active_callbacks_by_watch[wd] = path

        def _skipped(self, path: bytes) -> bool:
            return path != self.path and self.skip_dir(os.fsdecode(path))

        def _add_all_callbacks(self, path: bytes) -> None:
            # Called at start, for each folder created or moved in, and after a queue overflow.
            if self._skipped(path) and os.path.isdir(path):
                return
            self._add_callback(path)
            if not (self.is_recursive and os.path.isdir(path)):
                return
            for root, dirnames, _ in os.walk(path, followlinks=False):
                kept = []
                for dirname in dirnames:
                    full_path = os.path.join(root, dirname)
                    if os.path.islink(full_path) or self._skipped(full_path):
                        continue
                    self._add_callback(full_path)
                    kept.append(dirname)
                dirnames[:] = kept  # os.walk descends only into the kept folders

        def refresh(self) -> None:
            with self._lock:
                if not self.is_active:
                    return
                for path, wd in list(self._active_callbacks_by_path.items()):
                    if self._skipped(path):
                        self._remove_callbacks([wd])
                        self._active_callbacks_by_path.pop(path, None)
                        self._active_callbacks_by_watch.pop(wd, None)
                for root, dirnames, _ in os.walk(self.path, followlinks=False):
                    kept = []
                    for dirname in dirnames:
                        full_path = os.path.join(root, dirname)
                        if os.path.islink(full_path) or self._skipped(full_path):
                            continue
                        if full_path not in self._active_callbacks_by_path:
                            self._add_callback(full_path)
                        kept.append(dirname)
                    dirnames[:] = kept

    class _PrunedEmitter(InotifyEmitter):
        skip_dir: SkipDir

        def on_thread_start(self) -> None:
            self._inotify = _PrunedWatchGroup(
                self._inotify_fd,
                os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=self.get_event_mask_from_filter(),
                follow_symlink=self.watch.follow_symlink,
                skip_dir=type(self).skip_dir,
            )

    class _PrunedObserver(InotifyObserver):
        def __init__(self, skip_dir: SkipDir) -> None:
            # InotifyObserver.__init__, with an emitter class that knows the rules.
            self._inotify_fd = InotifyFD()
            self._inotify_fd.start()
            emitter = type("PrunedEmitter", (_PrunedEmitter,), {"skip_dir": staticmethod(skip_dir)})
            BaseObserver.__init__(self, emitter, inotify_fd=self._inotify_fd)
