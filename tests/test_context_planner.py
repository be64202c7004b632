"""Specification of `plan_tasks`: from a save to the questions asked of the model."""

from __future__ import annotations

import ast
import random
import textwrap
import warnings

from takeaways_daemon.context import plan_tasks
from takeaways_daemon.context.lines import source_lines
from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.tasks import Task

ALL: list[TaskKind] = ["fix", "complete", "docstring", "types", "explain"]


def source(text: str) -> str:
    """Test snippets are written indented; the analysed file is not."""
    return textwrap.dedent(text).lstrip("\n")


def plan_edit(
    after: str,
    old: str,
    new: str,
    *,
    path: str = "pkg/mod.py",
    enabled: list[TaskKind] = ALL,
    max_context_lines: int = 80,
) -> list[Task]:
    """Plan for a save that turned `old` into `new` somewhere in `after`."""
    assert new in after
    return plan_tasks(path, after.replace(new, old, 1), after, enabled, max_context_lines)


def by_kind(tasks: list[Task]) -> dict[str, Task]:
    return {task.kind: task for task in tasks}


def patched(task: Task, replacement: list[str]) -> str:
    """The file with the task's target lines replaced, as a patch built from an answer would."""
    lines = task.file_text.splitlines()
    lines[task.target_start - 1 : task.target_end] = replacement
    return "\n".join(lines) + "\n"


def target_lines(task: Task) -> list[str]:
    return task.file_text.splitlines()[task.target_start - 1 : task.target_end]


# Files that do not parse


BROKEN_METHOD = source(
    """
    import os


    class Box:
        def put(self, item)
            self.items.append(item)

        def take(self):
            return self.items.pop()


    def other():
        return 1
    """
)


def test_a_syntax_error_gives_exactly_one_fix_task() -> None:
    """Nothing else is planned while the file does not parse, even with every kind enabled."""
    tasks = plan_tasks("pkg/box.py", None, BROKEN_METHOD, ALL)
    assert [task.kind for task in tasks] == ["fix"]
    fix = tasks[0]
    assert fix.error == "line 5, column 24: expected ':'"
    assert fix.language == "python"
    assert fix.path == "pkg/box.py"


def test_the_fix_window_is_the_top_level_statement_around_the_error() -> None:
    """An error in a method shows its whole class, up to the next top-level statement."""
    (fix,) = plan_tasks("pkg/box.py", None, BROKEN_METHOD, ["fix"])
    assert (fix.shown_start, fix.shown_end) == (4, 9)
    assert (fix.target_start, fix.target_end) == (4, 9)
    assert fix.shown_code.startswith("class Box:")
    assert fix.shown_code.endswith("return self.items.pop()")
    assert fix.indent == ""


def test_an_unclosed_paren_at_the_end_of_the_file_is_fixed_up_to_the_end() -> None:
    """The window starts at the statement with the open paren and runs to the end of the file."""
    text = source(
        """
        def first():
            return 1

        def second(x):
            total = sum(x,
            return total
        """
    )
    (fix,) = plan_tasks("a.py", None, text, ALL)
    assert fix.error == "line 5, column 16: '(' was never closed"
    assert (fix.target_start, fix.target_end) == (4, 6)


def test_bad_indentation_is_fixed_within_its_function() -> None:
    """An unexpected indent inside a function gives a window on that function only."""
    text = source(
        """
        def first():
            x = 1
              y = 2
            return x + y

        def second():
            return 2
        """
    )
    (fix,) = plan_tasks("a.py", None, text, ALL)
    assert fix.error is not None
    # Python versions disagree on this column, so only its presence is specified.
    assert fix.error.startswith("line 3, column ")
    assert fix.error.endswith(": unexpected indent")
    assert (fix.target_start, fix.target_end) == (1, 4)


def test_a_missing_block_window_includes_the_def_that_needs_it() -> None:
    """Python reports the next line; the window reaches back to the `def` it names."""
    (fix,) = plan_tasks("a.py", None, "def f():\nreturn 1\n", ALL)
    assert (fix.target_start, fix.target_end) == (1, 2)
    assert "expected an indented block" in (fix.error or "")


def test_a_long_fix_window_is_capped_around_the_error() -> None:
    """A huge statement is cut to max_context_lines lines, with the error line in the middle."""
    body = "".join(f"    x{i} = {i}\n" for i in range(200))
    text = "def big():\n" + body.replace("x120 = 120", "x120 = = 120")
    (fix,) = plan_tasks("a.py", None, text, ALL, max_context_lines=21)
    assert fix.error is not None
    assert fix.error.startswith("line 122,")
    assert (fix.shown_start, fix.shown_end) == (112, 132)
    assert fix.indent == "    "


def test_no_fix_is_planned_when_fix_is_not_enabled() -> None:
    """A broken file with fix disabled gets no task at all, not other kinds."""
    assert plan_tasks("a.py", None, BROKEN_METHOD, ["docstring", "types", "explain"]) == []


# Functions: complete, docstring, types, explain


def test_a_stub_gets_a_completion_of_the_lines_after_its_docstring() -> None:
    """complete shows the decorated function and targets only the stub lines."""
    text = source(
        '''
        import functools

        @functools.cache
        def area(width: float, height: float) -> float:
            """Area of a rectangle."""
            # TODO
            raise NotImplementedError
        '''
    )
    tasks = plan_edit(text, "    pass", "    # TODO\n    raise NotImplementedError")
    assert [task.kind for task in tasks] == ["complete", "explain"]
    complete = tasks[0]
    assert (complete.shown_start, complete.shown_end) == (3, 7)
    assert (complete.target_start, complete.target_end) == (6, 7)
    assert complete.indent == "    "
    assert complete.symbol == "area"
    result = patched(complete, ["    return width * height"])
    assert ast.get_docstring(ast.parse(result).body[1]) == "Area of a rectangle."  # type: ignore[arg-type]


def test_a_stub_without_docstring_is_completed_from_the_line_after_the_signature() -> None:
    """With no docstring the stub lines start right after the colon's line."""
    text = "def add(a: int, b: int) -> int:\n    ...\n"
    (complete,) = plan_tasks("a.py", None, text, ["complete"])
    assert (complete.target_start, complete.target_end) == (2, 2)


def test_a_docstring_only_body_gets_no_completion_or_docstring() -> None:
    """There is no line after the docstring to replace, and it already has a docstring."""
    text = 'def add(a: int, b: int) -> int:\n    """Add."""\n'
    assert plan_tasks("a.py", None, text, ["complete", "docstring", "types"]) == []


def test_intentionally_empty_bodies_are_not_completed() -> None:
    """Abstract methods, Protocol members and .pyi stubs are empty on purpose."""
    text = source(
        """
        import abc
        from typing import Protocol

        class Base(abc.ABC):
            @abc.abstractmethod
            def run(self) -> None:
                pass

        class Reader(Protocol):
            def read(self) -> bytes:
                ...
        """
    )
    assert plan_tasks("a.py", None, text, ["complete"]) == []
    assert plan_edit(text, "        pass  # todo", "        ...", enabled=["complete"]) == []
    stub_file = "def f(x: int) -> int:\n    ...\n"
    assert plan_tasks("pkg/mod.pyi", None, stub_file, ["complete"]) == []
    assert [t.kind for t in plan_tasks("pkg/mod.py", None, stub_file, ["complete"])] == ["complete"]


def test_a_method_without_docstring_gets_one_before_its_first_statement() -> None:
    """docstring targets the first body line; the patch becomes docstring plus that line."""
    text = source(
        """
        class Stack:
            def push(self, item: int) -> None:
                self.items.append(item)
                self.size += 1
        """
    )
    tasks = plan_edit(text, "        self.size = 0", "        self.size += 1")
    assert [task.kind for task in tasks] == ["docstring", "explain"]
    docstring = tasks[0]
    assert docstring.symbol == "Stack.push"
    assert (docstring.shown_start, docstring.shown_end) == (2, 4)
    assert (docstring.target_start, docstring.target_end) == (3, 3)
    assert docstring.indent == "        "
    result = patched(docstring, [docstring.indent + '"""Push it."""', *target_lines(docstring)])
    method = ast.parse(result).body[0].body[0]  # type: ignore[attr-defined]
    assert ast.get_docstring(method) == "Push it."


def test_a_multi_line_signature_is_the_types_target() -> None:
    """types targets def..colon line, indented like the def; the shown code starts at the def."""
    text = source(
        """
        class Client:
            @staticmethod
            def fetch(url,
                      retries=3,
                      ):
                \"\"\"Fetch a URL.\"\"\"
                return url * retries
        """
    )
    tasks = plan_edit(text, "        return url", "        return url * retries")
    assert [task.kind for task in tasks] == ["types", "explain"]
    types = tasks[0]
    assert types.symbol == "Client.fetch"
    assert (types.target_start, types.target_end) == (3, 5)
    assert (types.shown_start, types.shown_end) == (3, 7)
    assert types.indent == "    "
    by = by_kind(tasks)
    assert (by["explain"].shown_start, by["explain"].shown_end) == (2, 7)
    result = patched(types, ["    def fetch(url: str, retries: int = 3) -> str:"])
    assert ast.parse(result).body[0].body[0].returns is not None  # type: ignore[attr-defined]


def test_kinds_come_in_a_fixed_order() -> None:
    """fix, complete, docstring, types, explain; an untyped stub gets complete then types."""
    text = "def parse(text):\n    pass\n"
    assert [t.kind for t in plan_tasks("a.py", None, text, list(reversed(ALL)))] == [
        "complete",
        "types",
        "explain",
    ]


def test_only_enabled_kinds_are_planned() -> None:
    """Kinds missing from `enabled` are never planned; explain is off unless listed."""
    text = "def parse(text):\n    return text.split()\n"
    assert [t.kind for t in plan_tasks("a.py", None, text, ["types"])] == ["types"]
    default: list[TaskKind] = ["fix", "complete", "docstring", "types"]
    assert [t.kind for t in plan_tasks("a.py", None, text, default)] == ["docstring", "types"]
    assert plan_tasks("a.py", None, text, []) == []


def test_a_body_on_the_header_line_cannot_be_patched_by_line() -> None:
    """`def f(x): return x` gets only explain: a docstring or signature patch would eat the body."""
    tasks = plan_tasks("a.py", None, "def f(x): return x\n", ALL)
    assert [task.kind for task in tasks] == ["explain"]


def test_async_functions_are_planned_like_functions() -> None:
    """async def gets the same tasks; the types target includes the `async` keyword's line."""
    text = "async def load(path):\n    return await read(path)\n"
    by = by_kind(plan_tasks("a.py", None, text, ALL))
    assert set(by) == {"docstring", "types", "explain"}
    assert target_lines(by["types"]) == ["async def load(path):"]


def test_a_change_in_a_nested_function_is_about_the_nested_function() -> None:
    """The innermost function around the change is the subject."""
    text = source(
        """
        def outer(items: list[int]) -> int:
            \"\"\"Sum the doubles.\"\"\"
            def double(x):
                return x * 2
            return sum(map(double, items))
        """
    )
    tasks = plan_edit(text, "        return x + x", "        return x * 2")
    assert {task.symbol for task in tasks} == {"outer.double"}
    assert by_kind(tasks)["docstring"].indent == "        "


def test_tab_indented_code_keeps_its_tabs() -> None:
    """Indents are copied from the file, so tab-indented answers stay tab-indented."""
    text = "class A:\n\tdef m(self, x):\n\t\treturn x\n"
    by = by_kind(plan_tasks("a.py", None, text, ALL))
    assert by["docstring"].indent == "\t\t"
    assert by["types"].indent == "\t"


def test_frameworks_from_the_imports_are_attached_to_every_task() -> None:
    """Each task knows which frameworks the file uses, for the prompt's `Uses:` line."""
    text = source(
        """
        import numpy as np
        import pytest
        from flask import Flask

        def test_mean():
            assert np.mean([1, 3]) == 2
        """
    )
    tasks = plan_edit(text, "    assert True", "    assert np.mean([1, 3]) == 2")
    assert tasks
    assert all(task.frameworks == ("Flask", "NumPy", "pytest") for task in tasks)


# What is not planned


def test_a_change_outside_functions_plans_nothing() -> None:
    """Editing a module-level constant is not about any function."""
    text = "LIMIT = 10\n\ndef f(x):\n    return x\n"
    assert plan_edit(text, "LIMIT = 5", "LIMIT = 10") == []


def test_a_change_in_a_class_body_can_only_be_explained() -> None:
    """Outside its methods, a class gets explain (when enabled) and nothing else."""
    text = "class Config:\n    debug = True\n\n    def get(self):\n        return 1\n"
    tasks = plan_edit(text, "    debug = False", "    debug = True")
    assert [(task.kind, task.symbol) for task in tasks] == [("explain", "Config")]
    assert (tasks[0].target_start, tasks[0].target_end) == (1, 5)
    assert plan_edit(text, "    debug = False", "    debug = True", enabled=["docstring"]) == []


def test_empty_and_comment_only_files_plan_nothing() -> None:
    """No code, no questions."""
    assert plan_tasks("a.py", None, "", ALL) == []
    assert plan_tasks("a.py", None, "# just a note\n# and another\n", ALL) == []


def test_an_unchanged_file_plans_nothing() -> None:
    """Saving the same text again asks nothing new."""
    text = "def f(x):\n    pass\n"
    assert plan_tasks("a.py", text, text, ALL) == []


# Large functions and files


def test_a_long_function_is_shown_from_its_def_up_to_the_limit() -> None:
    """The shown window is capped but keeps the def line; targets past it are skipped."""
    body = "".join(f"    x{i} = {i}\n" for i in range(100))
    text = "def long(a):\n" + body + "    return a\n"
    by = by_kind(plan_tasks("a.py", None, text, ALL, max_context_lines=10))
    assert set(by) == {"docstring", "types", "explain"}
    assert (by["types"].shown_start, by["types"].shown_end) == (1, 10)
    assert (by["explain"].target_start, by["explain"].target_end) == (1, 10)

    long_docstring = '    """' + "\n".join(["Doc."] * 50) + '"""\n'
    stub = "def long(a):\n" + long_docstring + "    pass\n"
    assert "complete" not in by_kind(plan_tasks("a.py", None, stub, ALL, max_context_lines=10))


def test_a_change_deep_in_a_large_file_finds_its_function() -> None:
    """Thousands of lines are fine; only the changed function is asked about."""
    functions = [f"def f{i}(x: int) -> int:\n    return x + {i}\n\n" for i in range(2000)]
    text = "".join(functions)
    tasks = plan_edit(text, "    return x - 1500", "    return x + 1500")
    assert {task.symbol for task in tasks} == {"f1500"}
    assert [task.kind for task in tasks] == ["docstring", "explain"]


# Line endings


def test_a_crlf_file_is_planned_like_an_lf_file() -> None:
    """CRLF endings change no line numbers; the shown code has no carriage returns."""
    text = "import os\r\n\r\ndef join(a, b):\r\n    return os.path.join(a, b)\r\n"
    by = by_kind(plan_tasks("a.py", "import os\r\n", text, ALL))
    assert set(by) == {"docstring", "types", "explain"}
    assert (by["types"].target_start, by["types"].target_end) == (3, 3)
    assert (by["docstring"].target_start, by["docstring"].target_end) == (4, 4)
    assert by["explain"].shown_code == "def join(a, b):\n    return os.path.join(a, b)"


def test_a_form_feed_does_not_shift_task_lines() -> None:
    """Task lines follow str.splitlines even where Python numbers lines differently."""
    text = "x = 1\n\x0c\ndef f(a):\n    return a\n"
    by = by_kind(plan_tasks("a.py", None, text, ALL))
    assert target_lines(by["types"]) == ["def f(a):"]
    assert target_lines(by["docstring"]) == ["    return a"]


# Other languages


def test_other_languages_only_get_explain_around_the_first_change() -> None:
    """Without a parser, a window of lines around the first changed range is explained."""
    lines = [f"line {i}" for i in range(1, 101)]
    before = "\n".join(lines) + "\n"
    after = before.replace("line 50\n", "line fifty\n").replace("line 90\n", "line ninety\n")
    tasks = plan_tasks("web/app.js", before, after, ALL, max_context_lines=9)
    assert [task.kind for task in tasks] == ["explain"]
    explain = tasks[0]
    assert explain.language == "javascript"
    assert (explain.shown_start, explain.shown_end) == (46, 54)
    assert (explain.target_start, explain.target_end) == (46, 54)


def test_unknown_extensions_are_plain_text_and_respect_enabled() -> None:
    """An unknown file type is `text`; with explain off it gets nothing."""
    (task,) = plan_tasks("notes.xyz", None, "hello\nworld\n", ["explain"])
    assert task.language == "text"
    assert (task.shown_start, task.shown_end) == (1, 2)
    assert plan_tasks("notes.xyz", None, "hello\n", ["fix", "docstring"]) == []


# Robustness

FUZZ_SEED = source(
    """
    import pytest

    @pytest.fixture
    def box(tmp_path):
        \"\"\"A box.\"\"\"
        return Box(tmp_path, size={"a": 1})

    class Box:
        def put(self, item: int,
                *, force=False) -> None:
            if force:
                self.items[item:] = [lambda: 1]
            else:
                raise NotImplementedError

    async def main(): ...
    """
)
FUZZ_ALPHABET = "def class(x):=\t\n\r\x0c#'\"@.,\\pass...return1ü "


def mutations(count: int) -> list[tuple[str | None, str]]:
    """(previous, text) pairs: the seed with a few characters deleted, swapped or inserted."""
    rng = random.Random(20240611)
    pairs: list[tuple[str | None, str]] = []
    for _ in range(count):
        chars = list(FUZZ_SEED)
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(chars))
            action = rng.choice(("delete", "insert", "replace"))
            if action == "delete":
                del chars[where]
            elif action == "insert":
                chars.insert(where, rng.choice(FUZZ_ALPHABET))
            else:
                chars[where] = rng.choice(FUZZ_ALPHABET)
        pairs.append((rng.choice((None, FUZZ_SEED)), "".join(chars)))
    return pairs


def test_any_text_gives_tasks_with_ranges_inside_the_file() -> None:
    """Whatever the text, planning never fails and every range lies within the shown window.

    The limit counts lines as Python does: a form feed splits a line only for `str.splitlines`.
    """
    for limit, (previous, text) in enumerate(mutations(600)):
        limit = limit % 12 + 1
        line_count = len(text.splitlines())
        extra_breaks = line_count - len(source_lines(text))
        for task in plan_tasks("a.py", previous, text, ALL, max_context_lines=limit):
            assert 1 <= task.shown_start <= task.shown_end <= line_count, (text, task)
            assert task.shown_start <= task.target_start <= task.target_end <= task.shown_end
            assert task.shown_end - task.shown_start < limit + extra_breaks, (text, task)


def test_syntax_warnings_neither_leak_nor_break_parsing() -> None:
    """An invalid escape warns in Python; with warnings as errors it must still parse."""
    text = 'def pattern():\n    return "\\d+"\n'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kinds = [task.kind for task in plan_tasks("a.py", None, text, ALL)]
    assert kinds == ["docstring", "types", "explain"]
