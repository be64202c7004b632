"""The pure parsers behind fix evidence: never crash on any input, and read real shapes right."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from takeaways_daemon.context.evidence_tasks import diagnostic_tasks, failure_task
from takeaways_daemon.sandbox.test_reports import parse_reports
from takeaways_daemon.verification.diagnostics import BUG_RULES, Diagnostic, parse_ruff_json
from takeaways_daemon.verification.failure_target import (
    Target,
    called_targets,
    enclosing_symbol,
    find_target,
)
from takeaways_daemon.verification.last_failed import node_file, parse_last_failed
from takeaways_daemon.verification.nearness import (
    changed_lines,
    indent_style,
    smallest_change,
    too_far,
)
from takeaways_daemon.verification.test_failures import TestFailure

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)
any_text = st.text() | json_values.map(json.dumps)


class TestLastFailed:
    @given(any_text)
    def test_never_crashes_and_yields_only_relative_paths(self, text: str) -> None:
        for node in parse_last_failed(text):
            assert node and not node.startswith(("/", "-")) and "\n" not in node

    def test_reads_pytests_record_and_drops_what_pytest_would_not_write(self) -> None:
        record = {
            "tests/test_calc.py::test_total": True,
            "tests/test_calc.py::TestCart::test_sum[1-2]": True,
            "tests/test_broken.py": True,
            "tests/test_old.py::test_fixed": False,
            "/etc/passwd": True,
            "--help": True,
            "../outside.py::test_x": True,
        }
        assert parse_last_failed(json.dumps(record)) == (
            "tests/test_calc.py::test_total",
            "tests/test_calc.py::TestCart::test_sum[1-2]",
            "tests/test_broken.py",
        )
        assert node_file("tests/test_calc.py::TestCart::test_sum[1-2]") == "tests/test_calc.py"


class TestRuffJson:
    @given(any_text, st.text())
    def test_never_crashes(self, text: str, source: str) -> None:
        for diagnostic in parse_ruff_json(text, "a.py", source):
            assert diagnostic.code in BUG_RULES and diagnostic.line >= 1

    def test_keeps_bug_rules_and_drops_style_and_syntax(self) -> None:
        def item(code: object, row: object = 3) -> dict[str, object]:
            return {"code": code, "message": f"about {code}", "location": {"row": row, "column": 7}}

        text = json.dumps(
            [item("F821"), item("E501"), item("F401"), item(None), item("invalid-syntax"),
             item("B006", row=1), item("F821", row="3")]
        )  # fmt: skip
        assert parse_ruff_json(text, "pkg/mod.py") == [
            Diagnostic("pkg/mod.py", 3, 7, "F821", "about F821"),
            Diagnostic("pkg/mod.py", 1, 7, "B006", "about B006"),
        ]


class TestRecorderLines:
    @given(st.lists(any_text, max_size=8))
    def test_never_crashes(self, lines: list[str]) -> None:
        for node, report in parse_reports(lines).items():
            assert report.node_id == node
            assert report.outcome in ("passed", "failed", "skipped", "error", "unfinished")

    def test_phases_combine_into_one_outcome_per_test(self) -> None:
        def event(node: str, when: str, outcome: str | None = None, **extra: object) -> str:
            return json.dumps({"node": node, "when": when, "outcome": outcome, **extra})

        lines = [
            event("a", "start"), event("a", "setup", "passed"), event("a", "call", "passed"),
            event("a", "teardown", "passed"),
            event("b", "start"), event("b", "setup", "passed"),
            event("b", "call", "failed", message="AssertionError: assert 1 == 2",
                  frames=[["/p/t.py", 3, "test_b"], ["bad"], ["/p/x.py", True, "f"]]),
            event("b", "teardown", "failed", message="later"),
            event("c", "start"), event("c", "setup", "failed", message="fixture broke"),
            event("d", "start"), event("d", "setup", "skipped"),
            event("e", "start"), event("e", "setup", "passed"),
            event("f.py", "collect", "failed", message="collection failed"),
        ]  # fmt: skip
        reports = parse_reports(lines)
        assert {node: report.outcome for node, report in reports.items()} == {
            "a": "passed", "b": "failed", "c": "error", "d": "skipped", "e": "unfinished",
            "f.py": "error",
        }  # fmt: skip
        assert reports["b"].message == "AssertionError: assert 1 == 2"
        assert reports["b"].frames == (("/p/t.py", 3, "test_b"),)


class TestNearness:
    @given(st.text(), st.text())
    def test_changed_lines_is_zero_exactly_for_equal_lines(self, a: str, b: str) -> None:
        assert (changed_lines(a, b) == 0) == (a.splitlines() == b.splitlines())
        assert too_far(a, a) is None or indent_style(a) == "mixed"

    def test_a_one_line_fix_is_near_and_a_function_rewrite_is_not(self) -> None:
        body = "".join(f"    value_{i} = {i}\n" for i in range(40))
        original = f"def f(x)\n{body}    return x\n"
        assert too_far(original, original.replace("def f(x)", "def f(x):")) is None
        rewritten = "def f(x):\n" + body.replace("= ", "= 1 + ") + "    return x\n"
        assert too_far(original, rewritten) == "changes 82 lines where about 2 are needed"

    def test_switching_tabs_to_spaces_is_too_far(self) -> None:
        original = "def f(x)\n\treturn x\n"
        assert too_far(original, "def f(x):\n    return x\n") == (
            "changes the indentation from tabs to spaces"
        )

    def test_the_smallest_change_wins_and_the_first_on_a_tie(self) -> None:
        original = "a = 1\nb = 2\nc = 3\n"
        candidates = ["a = 1\nb = 20\nc = 30\n", "a = 1\nb = 20\nc = 3\n", "a = 10\nb = 2\nc = 3\n"]
        assert smallest_change(original, candidates) == 1
        assert smallest_change(original, []) is None


PROJECT_FILES = {
    "shop/__init__.py": "from .cart import total\n",
    "shop/cart.py": (
        "class Cart:\n"
        "    def total(self):\n"
        "        return helper(self)\n"
        "\n"
        "\n"
        "def total(prices):\n"
        "    return sum(prices[1:])\n"
        "\n"
        "\n"
        "def helper(cart):\n"
        "    raise ValueError('empty')\n"
    ),
    "tests/test_cart.py": (
        "import shop.cart as cart_module\n"
        "from shop import total\n"
        "from shop.cart import Cart\n"
        "\n"
        "\n"
        "def test_total():\n"
        "    assert total([1, 2]) == 3\n"
        "\n"
        "\n"
        "def test_module_call():\n"
        "    assert cart_module.total([1]) == len([1])\n"
    ),
}


def write(root: Path) -> Path:
    for relative, text in PROJECT_FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root.resolve()


class TestFailureTarget:
    def test_the_innermost_project_frame_outside_tests_and_venvs_wins(self, tmp_path: Path) -> None:
        root = write(tmp_path)
        frames = [
            (str(root / ".venv/lib/python3.11/site-packages/_pytest/python.py"), 157, "call"),
            (str(root / "tests/test_cart.py"), 7, "test_total"),
            (str(root / "shop/cart.py"), 3, "total"),
            (str(root / "shop/cart.py"), 11, "helper"),
            (str(root / ".venv/lib/python3.11/site-packages/lib.py"), 9, "deep"),
            ("/usr/lib/python3.11/json/__init__.py", 1, "loads"),
        ]
        assert find_target(frames, root) == Target("shop/cart.py", "helper", 11)
        assert find_target(frames[:3], root) == Target("shop/cart.py", "Cart.total", 3)

    def test_an_assertion_in_the_test_points_at_the_functions_its_line_calls(
        self, tmp_path: Path
    ) -> None:
        root = write(tmp_path)
        frames = [(str(root / "tests/test_cart.py"), 7, "test_total")]
        # `total` comes through the package's re-export from shop/cart.py.
        assert find_target(frames, root) == Target("shop/cart.py", "total", 6)
        assert called_targets(root, Path("tests/test_cart.py"), 11) == [
            Target("shop/cart.py", "total", 6)
        ]

    def test_nothing_in_the_project_means_no_target(self, tmp_path: Path) -> None:
        root = write(tmp_path)
        assert find_target([("/usr/lib/python3.11/x.py", 1, "f")], root) is None
        assert find_target([], root) is None

    @given(
        st.lists(
            st.tuples(st.text(max_size=30), st.integers(-5, 50), st.text(max_size=10)), max_size=6
        )
    )
    def test_never_crashes_on_any_frames(self, frames: list[tuple[str, int, str]]) -> None:
        find_target(frames, Path("/tmp"))

    @given(st.text(max_size=200), st.integers(-3, 30))
    def test_enclosing_symbol_never_crashes(self, source: str, line: int) -> None:
        enclosing_symbol(source, line)


WORDS = '''\
def longest(words):
    """The longest word (the first one on a tie)."""
    best = ""
    for word in words:
        if len(word) >= len(best):
            best = word
    return best
'''
# pytest's own traceback of the failed assertion, as its report carries it (string diff included).
WORDS_TRACEBACK = """\
def test_first_on_a_tie():
>       assert longest(["ab", "cd"]) == "ab"
E       AssertionError: assert 'cd' == 'ab'
E
E         - ab
E         + cd

tests/test_words.py:9: AssertionError"""


class TestFailurePrompt:
    def failures(self) -> list[TestFailure]:
        first = TestFailure(
            "tests/test_words.py::test_first_on_a_tie", "assert 'cd' == 'ab'", WORDS_TRACEBACK,
            "words.py", "longest", 1,
        )  # fmt: skip
        other = replace(first, node_id="tests/test_words.py::test_one", message="assert 'b' == 'a'")
        return [first, other]

    def test_the_prompt_shows_the_failing_line_and_values_without_pytests_diff(self) -> None:
        task = failure_task("words.py", WORDS, "longest", 1, self.failures())
        assert task is not None
        assert task.failure == (
            '>       assert longest(["ab", "cd"]) == "ab"\n'
            "E       AssertionError: assert 'cd' == 'ab'"
        )
        assert task.error == (
            "tests/test_words.py::test_first_on_a_tie failed: assert 'cd' == 'ab' "
            "(and 1 more failing test)"
        )
        prompt = task.prompt()
        assert "def test_first_on_a_tie" not in prompt and "- ab" not in prompt
        assert "if len(word) >= len(best):" in task.shown_code

    def test_where_lines_stay_and_an_unfamiliar_traceback_keeps_its_last_lines(self) -> None:
        traceback = (
            ">       assert last([1]) == 1\n"
            "E       assert None == 1\n"
            "E        +  where None = last([1])"
        )
        [failure, _] = self.failures()
        task = failure_task(
            "words.py", WORDS, "longest", 1, [replace(failure, traceback=traceback)]
        )
        assert task is not None and task.failure == traceback
        odd = "\n".join(f"line {n}" for n in range(20))
        task = failure_task("words.py", WORDS, "longest", 1, [replace(failure, traceback=odd)])
        assert task is not None and task.failure == "\n".join(f"line {n}" for n in range(14, 20))


class TestDiagnosticPrompt:
    SCALE = (
        "def scale(values, factor):\n"
        "    scaled = []\n"
        "    for value in values:\n"
        "        scaled.append(value * factr)\n"
        "    return scaled\n"
    )

    def test_an_undefined_name_is_told_its_nearest_name_as_python_would(self) -> None:
        found = Diagnostic("scale.py", 4, 31, "F821", "Undefined name `factr`", "factr")
        [task] = diagnostic_tasks("scale.py", self.SCALE, [found])
        assert task.error is not None and task.error.endswith("; did you mean `factor`?")
        lenn = replace(found, message="Undefined name `lenn`", snippet="lenn")
        [task] = diagnostic_tasks("scale.py", self.SCALE.replace("factr", "lenn"), [lenn])
        assert task.error is not None and task.error.endswith("; did you mean `len`?")

    def test_nothing_similar_means_no_guess(self) -> None:
        text = self.SCALE.replace("factr", "zzyzx")
        found = Diagnostic("scale.py", 4, 31, "F821", "Undefined name `zzyzx`", "zzyzx")
        [task] = diagnostic_tasks("scale.py", text, [found])
        assert task.error is not None and "did you mean" not in task.error
