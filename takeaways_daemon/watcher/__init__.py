"""The project watcher: debounced, latest-wins changes of a project's text files."""

from takeaways_daemon.watcher.change import ChangeReason, FileChange, WatcherStats, WatchMode
from takeaways_daemon.watcher.change_queue import ChangeQueue
from takeaways_daemon.watcher.ignore_rules import IgnoreRules
from takeaways_daemon.watcher.observer import ObserverFactory
from takeaways_daemon.watcher.project_watcher import ProjectWatcher

__all__ = [
    "ChangeQueue",
    "ChangeReason",
    "FileChange",
    "IgnoreRules",
    "ObserverFactory",
    "ProjectWatcher",
    "WatchMode",
    "WatcherStats",
]
