"""Specification of staleness by lines: a save makes a suggestion stale only when the lines its
patch touches (or the context lines around them) changed; otherwise the suggestion follows the
edit to its new line numbers and still applies, byte for byte, where it was meant to."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sse_starlette.sse import AppStatus

from takeaways_daemon.api_client import ApiError, DaemonClient
from takeaways_daemon.daemon import run_daemon
from takeaways_daemon.patches import (
    DIFF_CONTEXT_LINES,
    LinePatch,
    apply_to_file,
    reanchor,
    sha256_text,
)
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.runtime_files import RuntimeRecord
from takeaways_daemon.service import DaemonService
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.suggestion_events import StoreEvent, SuggestionChanged
from takeaways_daemon.suggestions import Suggestion, SuggestionStore, moved_suggestion
from takeaways_daemon.tasks import Task
from tests.loopback_server import free_port

# A patch somewhere in a file of distinct lines, and the span it protects (itself + context).
Layout = tuple[list[str], LinePatch, int, int]


@st.composite
def patched_files(draw: st.DrawFn) -> Layout:
    """A file of distinct lines and a patch replacing 1-4 of them somewhere inside it."""
    above, below = draw(st.integers(0, 9)), draw(st.integers(0, 9))
    patched = draw(st.integers(1, 4))
    lines = [f"line {number}\n" for number in range(above + patched + below)]
    start, end = above + 1, above + patched
    replacement = "".join(f"new {number}\n" for number in range(draw(st.integers(0, 3))))
    patch = LinePatch("m.py", start, end, replacement, "".join(lines[start - 1 : end]))
    low, high = max(0, start - 1 - DIFF_CONTEXT_LINES), min(len(lines), end + DIFF_CONTEXT_LINES)
    return lines, patch, low, high


@st.composite
def edited(draw: st.DrawFn, lines: list[str], tag: str) -> list[str]:
    """`lines` with some deleted, some replaced and fresh ones inserted anywhere."""
    result: list[str] = []
    for index, line in enumerate([*lines, None]):
        result += [f"{tag} inserted {index}.{n}\n" for n in range(draw(st.integers(0, 2)))]
        if line is None:
            break
        action = draw(st.sampled_from(["keep", "keep", "delete", "replace"]))
        if action == "keep":
            result.append(line)
        elif action == "replace":
            result.append(f"{tag} rewritten {index}\n")
    return result


class TestReanchor:
    @given(data=st.data(), layout=patched_files())
    def test_an_edit_elsewhere_keeps_the_patch_and_it_applies_as_before(
        self, data: st.DataObject, layout: Layout
    ) -> None:
        """Edit anything outside the patch and its context: it moves with its lines and applies."""
        lines, patch, low, high = layout
        head, block, tail = lines[:low], lines[low:high], lines[high:]
        new_head = data.draw(edited(head, "head"))
        new_tail = data.draw(edited(tail, "tail"))
        before, after = "".join(lines), "".join(new_head + block + new_tail)
        moved = reanchor(patch, before, after)
        assert moved is not None
        assert moved.start_line == patch.start_line + len(new_head) - len(head)
        assert moved.end_line - moved.start_line == patch.end_line - patch.start_line
        # The same edit the patch made to `before`, made to `after`'s copy of those lines.
        patched_before = patch.apply_to(before)
        head_chars, tail_chars = len("".join(head)), len("".join(tail))
        patched_block = patched_before[head_chars : len(patched_before) - tail_chars]
        assert moved.apply_to(after) == "".join(new_head) + patched_block + "".join(new_tail)

    @given(data=st.data(), layout=patched_files())
    def test_an_edit_of_its_lines_or_context_makes_it_stale(
        self, data: st.DataObject, layout: Layout
    ) -> None:
        lines, patch, low, high = layout
        index = data.draw(st.integers(low, high - 1))
        change = data.draw(st.sampled_from(["replace", "delete", "append"]))
        after = list(lines)
        if change == "replace":
            after[index] = "edited by hand\n"
        elif change == "delete":
            del after[index]
        else:
            after[index] = after[index].rstrip("\n") + "  # and a comment\n"
        assert reanchor(patch, "".join(lines), "".join(after)) is None

    @given(data=st.data(), layout=patched_files())
    def test_a_line_inserted_inside_its_span_makes_it_stale(
        self, data: st.DataObject, layout: Layout
    ) -> None:
        lines, patch, low, high = layout
        position = data.draw(st.integers(low + 1, max(low + 1, high - 1)))
        if not low < position < high:
            return  # a one-line span has no inside
        after = [*lines[:position], "inserted\n", *lines[position:]]
        assert reanchor(patch, "".join(lines), "".join(after)) is None

    @given(layout=patched_files(), inserted=st.integers(1, 20))
    def test_lines_inserted_above_shift_it_by_as_many(self, layout: Layout, inserted: int) -> None:
        lines, patch, _, _ = layout
        before = "".join(lines)
        after = "".join(f"# header {n}\n" for n in range(inserted)) + before
        moved = reanchor(patch, before, after)
        assert moved is not None
        assert (moved.start_line, moved.end_line) == (
            patch.start_line + inserted,
            patch.end_line + inserted,
        )
        assert moved.apply_to(after).endswith(patch.apply_to(before))

    def test_real_code_with_repeated_lines_keeps_its_place(self) -> None:
        """Blank lines and `pass` repeat in real files: the patch moves to its own copy."""
        before = "def a():\n    pass\n\n\ndef b():\n    pass\n\n\ndef c():\n    pass\n"
        patch = LinePatch("m.py", 6, 6, "    return 2\n", "    pass\n")
        after = "import os\n\n\n" + before.replace("def c():\n    pass", "def c():\n    return 3")
        moved = reanchor(patch, before, after)
        assert moved is not None and moved.start_line == 9
        assert moved.apply_to(after) == after.replace(
            "def b():\n    pass", "def b():\n    return 2"
        )


STUB = (
    '"""Numbers."""\n\nimport math\n\n\n'
    "def double(x):\n    pass\n\n\n"
    "def triple(x):\n    return 3 * x\n"
)


def suggestion_for(text: str, line: int, code: str, title: str) -> Suggestion:
    """A real checked suggestion completing line `line` of `text`, built as the engine builds it."""
    task = Task(
        kind="complete", path="calc.py", language="python", file_text=text, shown_start=1,
        shown_end=text.count("\n"), target_start=line, target_end=line, indent="    ",
        symbol="double",
    )  # fmt: skip
    return build_suggestion(task, Answer("complete", title, "Finishes it.", code))


class TestStore:
    def test_a_save_moves_untouched_suggestions_and_makes_edited_ones_stale(
        self, tmp_path: Path
    ) -> None:
        store = SuggestionStore()
        events: list[StoreEvent] = []
        store.events.subscribe(events.append)
        double = suggestion_for(STUB, 7, "return x * 2", "Double it")
        triple = suggestion_for(STUB, 11, "return x + x + x", "Triple it")
        store.add(double)
        store.add(triple)
        after = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n" + STUB.replace(
            "return 3 * x", "return 3 * x  # by hand"
        )
        store.file_changed("calc.py", STUB, after)
        moved, stale = store.get(double.id), store.get(triple.id)
        assert moved is not None and stale is not None
        assert (moved.status, moved.start_line, moved.end_line) == ("open", 9, 9)
        assert moved.file_sha256 == sha256_text(after)
        assert moved.diff == moved.patch().unified_diff(after)
        # The hunk header follows the new numbering.
        assert "@@ -4,7 +4,7 @@" in double.diff and "@@ -6,7 +6,7 @@" in moved.diff
        assert stale.status == "stale"
        changed = [event for event in events if isinstance(event, SuggestionChanged)]
        assert [(event.suggestion.id, event.status_changed) for event in changed] == [
            (double.id, False),
            (triple.id, True),
        ]
        # The moved suggestion passes apply's fingerprint check and writes the same edit.
        (tmp_path / "calc.py").write_text(after)
        apply_to_file(tmp_path, moved.patch(), moved.file_sha256)
        assert (tmp_path / "calc.py").read_text() == after.replace("    pass", "    return x * 2")

    def test_a_suggestion_made_on_text_not_seen_before_cannot_be_traced_and_goes_stale(
        self,
    ) -> None:
        store = SuggestionStore()
        made_elsewhere = suggestion_for(STUB, 7, "return x * 2", "Double it")
        store.add(made_elsewhere)
        earlier = STUB.replace("Numbers", "Some numbers")
        store.file_changed("calc.py", earlier, "# new\n" + STUB)
        assert store.get(made_elsewhere.id).status == "stale"  # type: ignore[union-attr]

    def test_deleting_the_file_makes_its_suggestions_stale_and_others_are_untouched(
        self,
    ) -> None:
        store = SuggestionStore()
        here = suggestion_for(STUB, 7, "return x * 2", "Double it")
        elsewhere = here.model_copy(update={"id": "0000ffff", "path": "other.py"})
        store.add(here)
        store.add(elsewhere)
        store.file_changed("calc.py", STUB, None)
        assert store.get(here.id).status == "stale"  # type: ignore[union-attr]
        assert store.get(elsewhere.id) == elsewhere

    def test_an_explanation_moves_without_growing_a_diff(self) -> None:
        explanation = suggestion_for(STUB, 7, "return x * 2", "Why").model_copy(
            update={"replacement": "    pass\n", "diff": ""}
        )
        moved = moved_suggestion(explanation, STUB, "# top\n" + STUB)
        assert moved is not None and moved.start_line == 8 and moved.diff == ""


def wait_until(condition: Callable[[], object], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not true within the time limit"
        time.sleep(0.05)


def test_through_the_daemon_an_edit_above_moves_a_suggestion_and_accept_applies_it(
    tmp_path: Path,
) -> None:
    """The real daemon (`run_daemon`: lock, API on its unix socket, inotify watcher, engine) and
    the real client. Only the model is missing (an Ollama at a closed port): the suggestions
    enter the store the way the engine adds them, built from real tasks and answers.
    """
    root = tmp_path / "project"
    root.mkdir()
    settings = Settings(
        backend={"prefer": "ollama", "ollama": {"host": f"http://127.0.0.1:{free_port()}"}},
        watcher={"debounce_ms": 50},
        tasks={"enabled": ["fix"]},
    )
    edited = "# Copyright\n# (c) us\n" + STUB.replace("return 3 * x", "return 3 * x  # by hand")
    seen: dict[str, object] = {}

    def scenario(service: DaemonService) -> None:
        """What a user does, from a thread: the daemon's loop keeps serving meanwhile."""
        (root / "calc.py").write_text(STUB)
        wait_until(lambda: service.metrics.counters["changes"] >= 1)  # the engine saw the text
        double = suggestion_for(STUB, 7, "return x * 2", "Double it")
        triple = suggestion_for(STUB, 11, "return x + x + x", "Triple it")
        service.store.add(double)
        service.store.add(triple)
        with DaemonClient.for_project(root) as client:
            (root / "calc.py").write_text(edited)
            wait_until(lambda: client.suggestion(triple.id).status == "stale")
            seen["moved"] = client.suggestion(double.id)
            seen["accepted"] = client.accept(double.id)
            with pytest.raises(ApiError) as refused:
                client.accept(triple.id)
            seen["refused"] = refused.value.status_code

    async def on_started(service: DaemonService, _: RuntimeRecord) -> None:
        try:
            await asyncio.to_thread(scenario, service)
        except BaseException as error:
            seen["error"] = error
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # the daemon's own way to stop

    try:
        asyncio.run(run_daemon(root, settings, on_started=on_started))
    finally:
        # The SIGTERM set sse-starlette's process-wide "server exiting" flag, which would end
        # every later event stream in this test process at once.
        AppStatus.should_exit = False
    if "error" in seen:
        raise seen["error"]  # type: ignore[misc]
    moved = seen["moved"]
    assert isinstance(moved, Suggestion)
    assert (moved.status, moved.start_line) == ("open", 9)
    assert moved.file_sha256 == sha256_text(edited)
    assert seen["accepted"].status == "accepted"  # type: ignore[attr-defined]
    assert seen["refused"] == 409
    assert (root / "calc.py").read_text() == edited.replace("    pass", "    return x * 2")
