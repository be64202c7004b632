"""Reconciling walks: fingerprint the tree, and find what changed since the watcher last looked."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from takeaways_daemon.watcher.file_snapshot import Fingerprint
from takeaways_daemon.watcher.ignore_rules import IgnoreRules


def scan_tree(root: Path, rules: IgnoreRules, max_file_bytes: int) -> dict[str, Fingerprint]:
    """Every watched file under `root` with its fingerprint; ignored, oversized and linked skipped."""
    found: dict[str, Fingerprint] = {}
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    relative = f"{prefix}{entry.name}"
                    try:
                        if entry.is_symlink():
                            continue
                        if entry.is_dir(follow_symlinks=False):
                            if not rules.is_ignored_relative(relative, is_dir=True):
                                stack.append((entry.path, f"{relative}/"))
                        elif entry.is_file(follow_symlinks=False):
                            if rules.is_ignored_relative(relative):
                                continue
                            info = entry.stat(follow_symlinks=False)
                            if info.st_size <= max_file_bytes:
                                found[relative] = Fingerprint.of(info)
                    except OSError:
                        continue  # vanished mid-walk: the next event or rescan settles it
        except OSError:
            continue
    return found


@dataclass(frozen=True)
class Reconciliation:
    """The difference between what the watcher knows and what a walk found."""

    changed: list[str] = field(default_factory=list)
    """Files that appeared or whose fingerprint differs."""
    removed: list[str] = field(default_factory=list)
    """Known files the walk did not find."""


def reconcile(
    known: Mapping[str, Fingerprint],
    skipped: Mapping[str, Fingerprint],
    current: Mapping[str, Fingerprint],
) -> Reconciliation:
    """Compare fingerprints; files already found binary at the same fingerprint are not re-read."""
    changed = [
        relative
        for relative, fingerprint in current.items()
        if known.get(relative) != fingerprint and skipped.get(relative) != fingerprint
    ]
    removed = [relative for relative in known if relative not in current]
    return Reconciliation(sorted(changed), sorted(removed))
