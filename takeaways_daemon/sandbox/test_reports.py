"""What a sandboxed pytest run reports back: one JSON line per event, and its parser.

`RECORDER` is a pytest plugin (source text) that runs inside the sandbox and writes the events to
a file descriptor we hand it; `parse_reports` turns those lines into one `TestReport` per test.
The lines come from project-controlled code, so the parser accepts anything and never raises.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["passed", "failed", "skipped", "error", "unfinished"]
"""`error`: setup, teardown or collection failed; `unfinished`: started, never reported (killed)."""

Frame = tuple[str, int, str]
"""One traceback frame: absolute file path, line number, function name."""

MAX_TEXT_CHARS = 8000
"""Longest traceback kept per test; the start and the end are what matter."""

# Runs inside the sandbox as part of the bootstrap; `_report` is the open event file.
RECORDER = """\
import json, traceback

def _emit(event):
    _report.write(json.dumps(event) + "\\n")
    _report.flush()

def _message(excinfo):
    return excinfo.exconly().strip().splitlines()[0][:500] if excinfo else ""

class _Recorder:
    def __init__(self):
        self.frames = {}

    def pytest_runtest_logstart(self, nodeid, location):
        _emit({"node": nodeid, "when": "start"})

    def pytest_runtest_makereport(self, item, call):  # before pytest builds the report
        if call.excinfo is not None:
            tb = traceback.extract_tb(call.excinfo.tb)
            frames = [[f.filename, f.lineno or 0, f.name] for f in tb]
            self.frames[(item.nodeid, call.when)] = (frames, _message(call.excinfo))

    def pytest_runtest_logreport(self, report):
        frames, message = self.frames.pop((report.nodeid, report.when), ([], ""))
        _emit({"node": report.nodeid, "when": report.when, "outcome": report.outcome,
               "message": message, "text": report.longreprtext[-8000:], "frames": frames})

    def pytest_collectreport(self, report):
        if report.failed:
            _emit({"node": report.nodeid, "when": "collect", "outcome": "failed",
                   "message": "collection failed", "text": report.longreprtext[-8000:],
                   "frames": []})
"""


@dataclass(frozen=True)
class TestReport:
    """How one test (or a test file that failed to collect) ended, with its failure's detail."""

    __test__ = False  # a data class, not a pytest test class

    node_id: str
    outcome: Outcome
    message: str = ""
    """The exception's first line, e.g. `AssertionError: assert 6 == 10`."""
    traceback: str = ""
    frames: tuple[Frame, ...] = field(default=())


def parse_reports(lines: Iterable[str]) -> dict[str, TestReport]:
    """One report per node id from the recorder's JSON lines; malformed lines are skipped.

    >>> reports = parse_reports(['{"node": "t.py::a", "when": "start"}',
    ...                          '{"node": "t.py::a", "when": "call", "outcome": "failed",'
    ...                          ' "message": "AssertionError: assert 1 == 2"}', 'junk'])
    >>> reports["t.py::a"].outcome, reports["t.py::a"].message
    ('failed', 'AssertionError: assert 1 == 2')
    """
    reports: dict[str, TestReport] = {}
    for line in lines:
        parsed = _event(line)
        if parsed is None:
            continue
        node, when, event = parsed
        outcome = event.get("outcome")
        earlier = reports.get(node)
        if when == "start":
            if earlier is None:
                reports[node] = TestReport(node, "unfinished")
            continue
        if outcome not in ("passed", "failed", "skipped"):
            continue
        report = _phase_report(node, when, outcome, event)
        reports[node] = report if earlier is None else _combine(earlier, report)
    return reports


def _event(line: str) -> tuple[str, str, dict[str, object]] | None:
    """The node id, phase and event on one line, if it is a JSON object holding both strings."""
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict):
        return None
    node, when = event.get("node"), event.get("when")
    if not isinstance(node, str) or not isinstance(when, str):
        return None
    return node, when, event


def _phase_report(node: str, when: str, outcome: str, event: dict[str, object]) -> TestReport:
    """The report one phase (setup, call, teardown, collect) gives on its own."""
    if outcome == "failed":
        ended: Outcome = "failed" if when == "call" else "error"
    elif outcome == "skipped":
        ended = "skipped"
    else:
        ended = "passed" if when == "call" else "unfinished"
    message, text = event.get("message"), event.get("text")
    return TestReport(
        node,
        ended,
        message[:500] if isinstance(message, str) else "",
        text[-MAX_TEXT_CHARS:] if isinstance(text, str) else "",
        _frames(event.get("frames")),
    )


def _combine(earlier: TestReport, later: TestReport) -> TestReport:
    """A test's result across phases: the first failure wins, then a skip, then the call's pass."""
    if earlier.outcome in ("failed", "error"):
        return earlier
    if later.outcome == "unfinished" and earlier.outcome in ("passed", "skipped"):
        return earlier  # a passing teardown after the call keeps the call's result
    return later


def _frames(value: object) -> tuple[Frame, ...]:
    """Well-formed `[file, line, function]` triples from an untrusted value."""
    if not isinstance(value, list):
        return ()
    frames = []
    for item in value:
        if (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and isinstance(item[1], int)
            and not isinstance(item[1], bool)
            and isinstance(item[2], str)
        ):
            frames.append((item[0], item[1], item[2]))
    return tuple(frames)
