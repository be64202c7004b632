"""Specification of `build_suggestion`: from a task and a parsed answer to a checked patch."""

from __future__ import annotations

import ast

import pytest

from takeaways_daemon.errors import PatchRejected
from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.patches import sha256_text
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.suggestions import Suggestion
from takeaways_daemon.tasks import Task

SOURCE = """\
import math


class Shapes:
    def area(self, radius):
        return math.pi * radius ** 2

    def scale(self, radius, factor):
        pass


def add(a, b):
    return a + b
"""


def _task(
    kind: TaskKind,
    target: tuple[int, int],
    *,
    text: str = SOURCE,
    indent: str = "",
    symbol: str | None = None,
    language: str = "python",
) -> Task:
    return Task(
        kind=kind, path="pkg/shapes.py", language=language, file_text=text, shown_start=1,
        shown_end=len(text.splitlines()), target_start=target[0], target_end=target[1],
        indent=indent, symbol=symbol,
    )  # fmt: skip


def _build(task: Task, code: str, title: str = "A title", explanation: str = "Why.") -> Suggestion:
    return build_suggestion(
        task, Answer(task.kind, title, explanation, code), backend="b", model="m"
    )


def _applied(suggestion: Suggestion, text: str = SOURCE) -> str:
    return suggestion.patch().apply_to(text)


class TestEachKind:
    def test_fix_replaces_the_shown_lines(self) -> None:
        broken = "x = 1\nif x\n    y = 2\nprint(y)\n"
        task = _task("fix", (2, 3), text=broken)
        suggestion = _build(task, "if x:\n    y = 2")
        assert (suggestion.start_line, suggestion.end_line) == (2, 3)
        assert suggestion.original == "if x\n    y = 2\n"
        assert suggestion.replacement == "if x:\n    y = 2\n"
        assert _applied(suggestion, broken) == "x = 1\nif x:\n    y = 2\nprint(y)\n"
        assert suggestion.diff == (
            "--- a/pkg/shapes.py\n+++ b/pkg/shapes.py\n@@ -1,4 +1,4 @@\n"
            " x = 1\n-if x\n+if x:\n     y = 2\n print(y)\n"
        )

    def test_complete_replaces_the_stub_body_at_the_body_indent(self) -> None:
        task = _task("complete", (9, 9), indent="        ", symbol="Shapes.scale")
        suggestion = _build(task, "return radius * factor")
        assert suggestion.replacement == "        return radius * factor\n"
        assert "    def scale(self, radius, factor):\n        return radius * factor\n" in (
            _applied(suggestion)
        )

    def test_docstring_goes_above_the_first_body_line_which_is_kept(self) -> None:
        task = _task("docstring", (13, 13), indent="    ", symbol="add")
        suggestion = _build(task, "Return the sum of a and b.")
        assert (suggestion.start_line, suggestion.end_line) == (13, 13)
        assert suggestion.replacement == '    """Return the sum of a and b."""\n    return a + b\n'
        function = ast.parse(_applied(suggestion)).body[-1]
        assert isinstance(function, ast.FunctionDef)
        assert ast.get_docstring(function) == "Return the sum of a and b."

    def test_a_multi_line_docstring_closes_on_its_own_line(self) -> None:
        task = _task("docstring", (13, 13), indent="    ", symbol="add")
        suggestion = _build(task, '"""Return the sum.\n\nWorks for any numbers.\n"""')
        assert suggestion.replacement == (
            '    """Return the sum.\n\n    Works for any numbers.\n    """\n    return a + b\n'
        )

    def test_types_replace_the_signature_at_the_def_indent(self) -> None:
        task = _task("types", (5, 5), indent="    ", symbol="Shapes.area")
        suggestion = _build(task, "def area(self, radius: float) -> float:")
        assert suggestion.replacement == "    def area(self, radius: float) -> float:\n"
        assert suggestion.diff.count("\n-") == 1
        assert "-    def area(self, radius):\n+    def area(self, radius: float) -> float:\n" in (
            suggestion.diff
        )

    def test_explain_carries_no_edit(self) -> None:
        """An explanation's replacement is the original, so there is nothing to apply."""
        task = _task("explain", (12, 13), symbol="add")
        suggestion = _build(task, "", title="Adds", explanation="Returns a + b.")
        assert suggestion.replacement == suggestion.original == "def add(a, b):\n    return a + b\n"
        assert suggestion.diff == ""
        assert (suggestion.title, suggestion.explanation) == ("Adds", "Returns a + b.")

    def test_the_suggestion_records_where_it_came_from(self) -> None:
        task = _task("complete", (9, 9), indent="        ", symbol="Shapes.scale")
        suggestion = _build(task, "return radius * factor")
        assert suggestion.kind == "complete"
        assert suggestion.path == "pkg/shapes.py"
        assert suggestion.symbol == "Shapes.scale"
        assert (suggestion.backend, suggestion.model) == ("b", "m")
        assert suggestion.file_sha256 == sha256_text(SOURCE)
        assert suggestion.status == "open"


class TestCodeCleanup:
    def test_code_is_reindented_to_the_task_indent(self) -> None:
        """Models answer at any indentation; the patch uses the file's."""
        task = _task("complete", (9, 9), indent="        ", symbol="Shapes.scale")
        code = "  if factor < 0:\n      raise ValueError(factor)\n\n  return radius * factor"
        suggestion = _build(task, code)
        assert suggestion.replacement == (
            "        if factor < 0:\n            raise ValueError(factor)\n\n"
            "        return radius * factor\n"
        )
        ast.parse(_applied(suggestion))

    def test_a_fenced_answer_is_unfenced(self) -> None:
        task = _task("complete", (9, 9), indent="        ", symbol="Shapes.scale")
        suggestion = _build(task, "```python\nreturn radius * factor\n```")
        assert suggestion.replacement == "        return radius * factor\n"

    def test_control_sequences_are_stripped_everywhere(self) -> None:
        task = _task("complete", (9, 9), indent="        ", symbol="Shapes.scale")
        suggestion = _build(
            task,
            "return radius * factor\x1b]0;pwned\x07  # \u202eok",
            title="Scale\x1b[2J it",
            explanation="Multiplies.\x9b31m\rDone",
        )
        assert suggestion.title == "Scale it"
        assert suggestion.explanation == "Multiplies.Done"
        assert suggestion.replacement == "        return radius * factor  # ok\n"
        assert "\x1b" not in suggestion.diff

    def test_a_crlf_file_keeps_crlf_endings(self) -> None:
        windows = "def f(x):\r\n    pass\r\n"
        task = _task("complete", (2, 2), text=windows, indent="    ", symbol="f")
        suggestion = _build(task, "value = x * 2\nreturn value")
        assert _applied(suggestion, windows) == (
            "def f(x):\r\n    value = x * 2\r\n    return value\r\n"
        )

    def test_embedded_triple_quotes_keep_the_docstring_parseable(self) -> None:
        task = _task("docstring", (13, 13), indent="    ", symbol="add")
        suggestion = _build(task, 'Return a + b; see the """sum""" helper.')
        function = ast.parse(_applied(suggestion)).body[-1]
        assert isinstance(function, ast.FunctionDef)
        assert ast.get_docstring(function) == 'Return a + b; see the """sum""" helper.'


class TestRejections:
    def test_a_fix_that_still_does_not_parse_is_rejected(self) -> None:
        task = _task("fix", (1, 2), text="def f(x)\n    return x\n")
        with pytest.raises(PatchRejected, match="does not parse"):
            _build(task, "def f(x) ->\n    return x")

    def test_other_languages_are_not_parsed_as_python(self) -> None:
        task = _task("fix", (1, 1), text="let x = 1\n", language="javascript")
        assert _build(task, "let x = 1;").replacement == "let x = 1;\n"

    def test_an_answer_identical_to_the_original_is_rejected(self) -> None:
        task = _task("fix", (1, 2), text="def f(x)\n    return x\n")
        with pytest.raises(PatchRejected, match="changes nothing"):
            _build(task, "def f(x)\n    return x")

    def test_an_answer_that_only_reindents_to_the_same_text_is_rejected(self) -> None:
        task = _task("types", (5, 5), indent="    ", symbol="Shapes.area")
        with pytest.raises(PatchRejected, match="changes nothing"):
            _build(task, "        def area(self, radius):")

    def test_a_types_answer_that_renames_the_function_is_rejected(self) -> None:
        task = _task("types", (5, 5), indent="    ", symbol="Shapes.area")
        with pytest.raises(PatchRejected, match="renames area"):
            _build(task, "def surface(self, radius: float) -> float:")

    @pytest.mark.parametrize(
        "code", ["radius: float", "def area(self, radius: float) -> float", "return 1"]
    )
    def test_a_types_answer_that_is_not_a_signature_is_rejected(self, code: str) -> None:
        task = _task("types", (5, 5), indent="    ", symbol="Shapes.area")
        with pytest.raises(PatchRejected, match="not a `def"):
            _build(task, code)

    def test_an_empty_docstring_is_rejected(self) -> None:
        task = _task("docstring", (13, 13), indent="    ", symbol="add")
        with pytest.raises(PatchRejected, match="empty"):
            _build(task, '""""""')

    def test_a_task_on_lines_the_file_does_not_have_is_rejected(self) -> None:
        task = _task("complete", (40, 41), indent="    ")
        with pytest.raises(PatchRejected, match="outside"):
            _build(task, "return 1")


@pytest.mark.parametrize(
    ("docstring", "problem"),
    [
        ("is_hidden(path)", "it is code"),
        ("Return the following values: 0.8746741293590098", "long number"),
        ("Compute it. name = os.path.basename(path)", "copies the code"),
        ("Hidden", "single word"),
    ],
)
def test_a_docstring_that_is_not_prose_about_the_function_is_rejected(
    docstring: str, problem: str
) -> None:
    code = "def is_hidden(path):\n    name = os.path.basename(path)\n    return name[0] == '.'\n"
    task = Task(
        kind="docstring", path="h.py", language="python", file_text=code,
        shown_start=1, shown_end=3, target_start=2, target_end=3, indent="    ",
    )  # fmt: skip
    answer = Answer("docstring", "Document it", "", docstring)
    with pytest.raises(PatchRejected, match=problem):
        build_suggestion(task, answer)
    good = Answer("docstring", "Document it", "", "Return whether the file name starts with a dot.")
    assert '"""Return whether' in build_suggestion(task, good).replacement
