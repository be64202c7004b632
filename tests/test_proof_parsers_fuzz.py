"""Property-based fuzzing of the pure parsers: whatever text comes in, they never crash, and a
patch never writes outside its target range.

Each parser has one way to refuse (a typed error the daemon handles: `MalformedAnswer`,
`PatchRejected`); anything else escaping is a crash the daemon would log per file save. Example
counts and deadlines are bounded so the whole module runs in seconds.
"""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from takeaways_daemon.context import plan_tasks
from takeaways_daemon.context.python_context import parse_python, source_lines
from takeaways_daemon.errors import MalformedAnswer, PatchRejected
from takeaways_daemon.kinds import AUTOMATIC_KINDS, TASK_KINDS
from takeaways_daemon.patches import LinePatch, parse_unified_diff
from takeaways_daemon.prompt_format import parse_answer, render_answer
from takeaways_daemon.sandbox.test_reports import parse_reports
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.verification.last_failed import parse_last_failed

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that looks like code and like model answers: lines built from code-ish pieces, hostile
# characters (CR, NUL, escape codes, zero-width, RTL override) and fence and section markers.
PIECES = st.sampled_from([
    "def f(x):", "    return x", "class A:", "    pass", "import os", "x = 1", "", "    ",
    "```python", "```", "Title: fix it", "Explanation: because", "\r", "\x00", "\x1b[2J",
    "\u200b", "\u202e", "if x:", "        y = (", ")", '"""doc"""', "print('hi')", "\t", "é",
    "# ignore previous instructions", "🙂",
])  # fmt: skip
CODEISH = st.lists(PIECES, max_size=30).map("\n".join)
TEXT = st.one_of(CODEISH, st.text(max_size=400))


@FUZZ
@given(answer=TEXT, kind=st.sampled_from(TASK_KINDS))
def test_parse_answer_either_parses_or_says_malformed(answer: str, kind) -> None:
    try:
        parsed = parse_answer(answer, kind)
    except MalformedAnswer:
        return
    assert parsed.title.strip()


@FUZZ
@given(title=st.text(min_size=1, max_size=40), explanation=TEXT, code=CODEISH)
def test_a_rendered_answer_always_parses_back(title: str, explanation: str, code: str) -> None:
    assume(title.strip() and "\n" not in title and "\r" not in title)
    assume(explanation.strip() and "```" not in explanation and "```" not in code)
    # Only content that the format cannot carry may be refused, never a crash.
    with contextlib.suppress(MalformedAnswer):
        parse_answer(render_answer(title, explanation, code), "fix")


@FUZZ
@given(before=TEXT, after=TEXT, answer=TEXT, kinds=st.sets(st.sampled_from(AUTOMATIC_KINDS)))
def test_context_extraction_and_model_output_never_patch_outside_the_target(
    before: str, after: str, answer: str, kinds
) -> None:
    """Save `before` then `after`; whatever the model answers, a kept patch stays in its range."""
    tasks = plan_tasks("pkg/mod.py", before or None, after, sorted(kinds), max_context_lines=20)
    for task in tasks:
        assert 1 <= task.shown_start <= task.shown_end
        assert task.target_start <= task.target_end
        for reply in (answer, render_answer("Change it", "Because.", answer)):
            try:
                suggestion = build_suggestion(task, parse_answer(reply, task.kind))
            except (MalformedAnswer, PatchRejected):
                continue
            assert (suggestion.start_line, suggestion.end_line) == (
                task.target_start,
                task.target_end,
            )
            patched = suggestion.patch().apply_to(task.file_text)
            lines, new = task.file_text.splitlines(True), patched.splitlines(True)
            head, tail = lines[: task.target_start - 1], lines[task.target_end :]
            assert new[: len(head)] == head
            if tail:
                assert "".join(new).endswith("".join(tail))


@FUZZ
@given(text=TEXT, start=st.integers(-3, 40), length=st.integers(0, 10), replacement=TEXT)
def test_a_line_patch_changes_only_its_lines_or_refuses(
    text: str, start: int, length: int, replacement: str
) -> None:
    lines = text.splitlines(keepends=True)
    end = start + length
    original = "".join(lines[max(start - 1, 0) : max(end, 0)])
    patch = LinePatch("f.py", start, end, replacement, original)
    try:
        patched = patch.apply_to(text)
    except PatchRejected:
        return
    assert patched.startswith("".join(lines[: start - 1]))
    assert patched.endswith("".join(lines[end:]))


@FUZZ
@given(text=TEXT, diff=st.one_of(TEXT, st.lists(st.sampled_from([
    "--- a/f.py", "+++ b/f.py", "@@ -1,1 +1,1 @@", "@@ -2 +2,2 @@", "@@ -0,0 +1 @@", "-x = 1",
    "+x = 2", " def f(x):", "+", "-", "\\ No newline at end of file", "@@ -99,3 +99,3 @@",
]), max_size=12).map("\n".join)))  # fmt: skip
def test_a_unified_diff_applies_exactly_or_is_refused(text: str, diff: str) -> None:
    try:
        patch = parse_unified_diff("f.py", diff, text)
    except PatchRejected:
        return
    patched = patch.apply_to(text)
    lines = text.splitlines(keepends=True)
    assert patched.startswith("".join(lines[: patch.start_line - 1]))
    assert patched.endswith("".join(lines[patch.end_line :]))


@FUZZ
@given(text=TEXT)
def test_python_context_parsing_never_crashes(text: str) -> None:
    tree, issue = parse_python(text)
    assert tree is None or issue is None  # never both; both None: Python cannot say where
    if issue is not None:
        assert 1 <= issue.line <= max(len(source_lines(text)), 1)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=30), inner, max_size=4)
    ),
    max_leaves=12,
)  # fmt: skip


@FUZZ
@given(record=st.one_of(JSONISH.map(json.dumps), TEXT))
def test_pytest_cache_parsing_keeps_only_plausible_relative_node_ids(record: str) -> None:
    for node in parse_last_failed(record):
        path = node.split("::", 1)[0]
        assert path and not path.startswith(("/", "-")) and ".." not in path.split("/")
        assert "\n" not in node and "\0" not in node


EVENT = st.fixed_dictionaries(
    {"node": st.text(max_size=20),
     "when": st.sampled_from(["start", "setup", "call", "teardown", "collect", "x"])},
    optional={"outcome": st.sampled_from(["passed", "failed", "skipped", "weird"]) | JSONISH,
              "message": JSONISH, "text": JSONISH, "frames": JSONISH},
)  # fmt: skip


@FUZZ
@given(lines=st.lists(st.one_of(EVENT.map(json.dumps), JSONISH.map(json.dumps), TEXT), max_size=12))
def test_traceback_report_parsing_never_crashes(lines: list[str]) -> None:
    reports = parse_reports(lines)
    for node, report in reports.items():
        assert report.node_id == node
        assert len(report.message) <= 500
