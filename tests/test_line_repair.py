"""Which lines a fix writes again, what the model is shown for each, and how a line is spliced."""

from __future__ import annotations

from takeaways_daemon.line_repair import line_answer, line_prompt, suspect_lines
from takeaways_daemon.tasks import Task
from takeaways_daemon.verification.diagnostics import Diagnostic
from takeaways_daemon.verification.test_failures import TestFailure
from takeaways_daemon.verification.verdict import SyntaxEvidence, TestEvidence

SOURCE = '''\
import math


@cached
def area(
    radius,
):
    """The area of a circle.

    Negative radii are an error.
    """
    # the formula
    squared = radius ** 2

    return math.pi * squaredd
'''


def task(evidence: object = None, **overrides: object) -> Task:
    values: dict[str, object] = {
        "kind": "fix", "path": "geo.py", "language": "python", "file_text": SOURCE,
        "shown_start": 4, "shown_end": 15, "target_start": 4, "target_end": 15,
        "error": "F821 Undefined name `squaredd` (line 15)", "evidence": evidence,
    }  # fmt: skip
    values.update(overrides)
    return Task(**values)  # type: ignore[arg-type]


def test_only_statements_are_suspects_never_headers_docstrings_comments_or_blanks() -> None:
    assert suspect_lines(task()) == [13, 15]


def test_the_evidence_line_comes_first() -> None:
    diagnostic = Diagnostic("geo.py", 15, 22, "F821", "Undefined name `squaredd`")
    assert suspect_lines(task(diagnostic)) == [15, 13]
    failure = TestFailure("tests/t.py::test_area", "assert 1 == 2", "", "geo.py", "area", 15)
    assert suspect_lines(task(TestEvidence((failure,)))) == [15, 13]
    # A line outside the suspects (the def line) changes nothing about the order.
    assert suspect_lines(task(SyntaxEvidence(5, "expected ':'"))) == [13, 15]


def test_a_file_that_does_not_parse_still_skips_the_simple_lines() -> None:
    broken = "def f(x)\n    y = x +\n    return y\n"
    assert suspect_lines(task(file_text=broken, shown_start=1, shown_end=3)) == [2, 3]


def test_the_prompt_ends_at_the_lines_indentation_and_never_shows_the_line() -> None:
    prompt = line_prompt(task(), 15)
    assert prompt.startswith("# geo.py\n# F821 Undefined name `squaredd` (line 15)\n@cached\n")
    assert prompt.endswith("    squared = radius ** 2\n\n    ")
    assert "squaredd" not in prompt.split("\n", 2)[2]  # only the evidence names it
    assert "import math" not in prompt  # the shown code only, from its first line


def test_a_written_line_is_spliced_at_its_place_with_the_files_indentation() -> None:
    answer = line_answer(task(), 15, "return math.pi * squared  \n# junk after the line")
    assert answer is not None
    lines = answer.code.splitlines()
    assert lines[-1] == "    return math.pi * squared"
    assert lines[:-1] == SOURCE.splitlines()[3:14]
    assert answer.title == "Change line 15: return math.pi * squared"
    assert "was `return math.pi * squaredd`" in answer.explanation


def test_a_copy_or_an_empty_line_is_no_answer() -> None:
    assert line_answer(task(), 15, "return math.pi * squaredd") is None
    assert line_answer(task(), 15, "   ") is None


def test_the_whole_view_shows_the_code_as_it_is_now_as_comments_first() -> None:
    prompt = line_prompt(task(), 15, "whole")
    comments, code = prompt.split("# Fixed:\n")
    assert "# The code as it is now (wrong):\n# @cached\n# def area(\n" in comments
    assert comments.endswith("#     return math.pi * squaredd\n")
    assert code == line_prompt(task(), 15).split("(line 15)\n", 1)[1]  # then as "before"
