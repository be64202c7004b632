"""pytest's own record of the tests that failed in its last run (`.pytest_cache`).

When the user runs pytest, its cache plugin rewrites `lastfailed`: a JSON object whose keys are
the node ids that failed (a file path alone when the file failed to collect). The watcher notices
the change; this module reads it. The file is project-controlled, so anything is accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

LAST_FAILED = Path(".pytest_cache") / "v" / "cache" / "lastfailed"
"""Where pytest keeps the record, relative to the project's root (its pytest rootdir)."""
MAX_NODE_IDS = 500
"""More failing tests than this is a broken suite, not a bug to fix one test at a time."""


def parse_last_failed(text: str) -> tuple[str, ...]:
    """The failing node ids in `lastfailed`'s text, in file order; malformed input gives none.

    >>> parse_last_failed('{"tests/test_a.py::test_x": true, "tests/test_b.py": true}')
    ('tests/test_a.py::test_x', 'tests/test_b.py')
    >>> parse_last_failed('not json')
    ()
    """
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        return ()
    if not isinstance(record, dict):
        return ()
    ids = [node for node, failed in record.items() if failed and _plausible(node)]
    return tuple(ids[:MAX_NODE_IDS])


def read_last_failed(project_root: Path) -> tuple[str, ...]:
    """The failing node ids pytest recorded under `project_root` (none when there is no record)."""
    try:
        text = (project_root / LAST_FAILED).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    return parse_last_failed(text)


def node_file(node_id: str) -> str:
    """The test file a node id belongs to: `tests/test_a.py::T::test_x[1]` → `tests/test_a.py`."""
    return node_id.split("::", 1)[0]


def _plausible(node: object) -> bool:
    """A node id pytest could have written: a relative path, maybe with `::` parts, one line."""
    if not isinstance(node, str) or not node or len(node) > 1000:
        return False
    path = node_file(node)
    return (
        bool(path)
        and not path.startswith(("-", "/"))
        and ".." not in Path(path).parts
        and not any(char in node for char in "\n\r\0")
    )
