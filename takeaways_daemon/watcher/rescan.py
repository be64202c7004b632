"""Reconciling walks: fingerprint the tree, and find what changed since the watcher last looked."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from takeaways_daemon.watcher.file_snapshot import Fingerprint
from takeaways_daemon.watcher.ignore_rules import IgnoreRules


def scan_tree(root: Path, rules: IgnoreRules, max_file_bytes: int) -> dict[str, Fingerprint]:
    """Every watched file under `root` with its fingerprint (no ignored, oversized or links)."""
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
    """Files that appeared or whose fingerprint differs: to be read."""
    removed: list[str] = field(default_factory=list)
    """Known files the walk did not find: to be read (and most likely reported deleted)."""
    adopted: dict[str, Fingerprint] = field(default_factory=dict)
    """Files that only became visible because the rules changed: recorded, not analysed."""
    forgotten: list[str] = field(default_factory=list)
    """Known files that only became ignored because the rules changed: dropped silently."""


def reconcile(
    known: Mapping[str, Fingerprint],
    skipped: Mapping[str, Fingerprint],
    current: Mapping[str, Fingerprint],
    *,
    rules: IgnoreRules | None = None,
    previous_rules: IgnoreRules | None = None,
) -> Reconciliation:
    """Compare fingerprints, not re-reading files already found binary at the same fingerprint.

    Pass `previous_rules` (and the new `rules`) after the ignore rules changed: a rules edit is
    not an edit of the files it hides or reveals, so those are adopted or forgotten, like the
    files found at start-up, instead of flooding the engine with work.
    """
    changed: list[str] = []
    adopted: dict[str, Fingerprint] = {}
    for relative, fingerprint in current.items():
        if known.get(relative) == fingerprint or skipped.get(relative) == fingerprint:
            continue
        if (
            previous_rules is not None
            and relative not in known
            and previous_rules.is_ignored_relative(relative)
        ):
            adopted[relative] = fingerprint
        else:
            changed.append(relative)
    removed: list[str] = []
    forgotten: list[str] = []
    for relative in known:
        if relative in current:
            continue
        if previous_rules is not None and rules is not None and rules.is_ignored_relative(relative):
            forgotten.append(relative)
        else:
            removed.append(relative)
    return Reconciliation(sorted(changed), sorted(removed), adopted, sorted(forgotten))
