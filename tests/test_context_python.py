"""Specification of Python analysis: syntax issues, imports, frameworks and definitions."""

from __future__ import annotations

import ast
import textwrap

import pytest

from takeaways_daemon.context.frameworks import detect_frameworks
from takeaways_daemon.context.lines import LineMap, source_lines
from takeaways_daemon.context.python_context import (
    SyntaxIssue,
    error_window,
    imported_modules,
    parse_python,
)
from takeaways_daemon.context.python_definitions import (
    Definition,
    definitions,
    enclosing_definition,
)


def source(text: str) -> str:
    """Test snippets are written indented; the analysed file is not."""
    return textwrap.dedent(text).lstrip("\n")


def defs_of(text: str) -> dict[str, Definition]:
    return {d.qualname: d for d in definitions(ast.parse(text), text)}


# Syntax issues


def test_a_missing_colon_is_reported_with_line_column_and_message() -> None:
    """The issue carries Python's own message and where it points."""
    tree, issue = parse_python("x = 1\ndef f()\n    return 1\n")
    assert tree is None
    assert issue == SyntaxIssue(line=2, column=8, message="expected ':'")
    assert issue.describe() == "line 2, column 8: expected ':'"


def test_an_unclosed_paren_at_the_end_of_the_file_points_at_the_paren() -> None:
    """An error found only at EOF is reported where the bracket was opened."""
    _, issue = parse_python("def f(x):\n    return g(x,\n")
    assert issue is not None
    assert (issue.line, issue.column) == (2, 13)
    assert issue.message == "'(' was never closed"


def test_indentation_errors_are_syntax_issues_too() -> None:
    """IndentationError and TabError are reported like any other syntax error."""
    _, unexpected = parse_python("x = 1\n    y = 2\n")
    assert unexpected is not None
    assert (unexpected.line, unexpected.message) == (2, "unexpected indent")
    _, tabs = parse_python("def f():\n    x = 1\n\treturn x\n")
    assert tabs is not None
    assert tabs.line == 3
    assert "inconsistent use of tabs and spaces" in tabs.message


def test_a_missing_block_names_the_line_that_needed_it() -> None:
    """ "expected an indented block after ... on line N" exposes N for the fix window."""
    _, issue = parse_python("def f():\nreturn 1\n")
    assert issue is not None
    assert issue.line == 2
    assert issue.referenced_line == 1


def test_an_issue_without_a_column_is_described_without_one() -> None:
    """Python sometimes has no offset; the description then gives only the line."""
    assert SyntaxIssue(3, None, "invalid syntax").describe() == "line 3: invalid syntax"
    assert (
        SyntaxIssue(3, 4, "invalid syntax").describe(line=7) == "line 7, column 4: invalid syntax"
    )


def test_a_byte_order_mark_does_not_count_as_a_syntax_error() -> None:
    """Editors may save a BOM; Python accepts such files, so the analysis does too."""
    tree, issue = parse_python("\ufeffdef f():\n    return 1\n")
    assert issue is None
    assert tree is not None


def test_text_python_cannot_locate_an_error_in_gives_neither_tree_nor_issue() -> None:
    """Null bytes make the parser fail without a line: there is nothing to point a fix at."""
    assert parse_python("x = 1\0\n") == (None, None)


# Fix windows


def test_an_error_window_covers_the_enclosing_top_level_statement() -> None:
    """From the top-level statement holding the error to just before the next one."""
    text = source(
        """
        import os

        class Box:
            def put(self, item)
                self.items.append(item)

        def other():
            pass
        """
    )
    _, issue = parse_python(text)
    assert issue is not None
    assert error_window(source_lines(text), issue, 80) == (3, 5)


def test_an_error_window_keeps_decorators_and_else_branches() -> None:
    """Decorators and zero-indent continuations (else, except, closing brackets) belong to it."""
    text = source(
        """
        @app.route(
            "/x",
        )
        def view():
            try:
                return (1
            except KeyError:
                pass
        x = 1
        """
    )
    issue = SyntaxIssue(line=6, column=20, message="'(' was never closed")
    assert error_window(source_lines(text), issue, 80) == (1, 8)


def test_an_error_window_reaches_back_to_a_referenced_line() -> None:
    """When Python names an earlier line (the `def` missing its block), the window includes it."""
    text = "def f():\nreturn 1\n\nx = 2\n"
    _, issue = parse_python(text)
    assert issue is not None
    assert error_window(source_lines(text), issue, 80) == (1, 2)


def test_a_long_error_window_is_cut_around_the_error_line() -> None:
    """A statement longer than the limit is cut to the limit, centred on the error."""
    body = "".join(f"    x{i} = {i}\n" for i in range(100))
    lines = source_lines("def f():\n" + body)
    start, end = error_window(lines, SyntaxIssue(60, 1, "invalid syntax"), 11)
    assert (start, end) == (55, 65)


# Imports and frameworks


def test_imports_are_listed_in_source_order_without_relative_ones() -> None:
    """Both import forms count, at any depth; relative imports and repeats are left out."""
    text = source(
        """
        import os.path, numpy as np
        from . import sibling
        from ..pkg.mod import thing
        from django.db import models

        def lazy():
            import torch
            import os.path
        """
    )
    assert imported_modules(ast.parse(text)) == ["os.path", "numpy", "django.db", "torch"]


@pytest.mark.parametrize(
    ("statement", "framework"),
    [
        ("import pytest", "pytest"),
        ("from django.http import HttpResponse", "Django"),
        ("from flask import Flask", "Flask"),
        ("from fastapi import FastAPI", "FastAPI"),
        ("import numpy as np", "NumPy"),
        ("import pandas as pd", "pandas"),
        ("import torch.nn as nn", "PyTorch"),
        ("from sqlalchemy.orm import Session", "SQLAlchemy"),
        ("from pydantic import BaseModel", "Pydantic"),
    ],
)
def test_frameworks_are_recognised_from_their_imports(statement: str, framework: str) -> None:
    """The top-level module of an import names the framework, as its users spell it."""
    assert detect_frameworks(imported_modules(ast.parse(statement))) == (framework,)


def test_standard_library_modules_are_not_frameworks() -> None:
    """asyncio, os and friends are part of the language: they add nothing to the prompt."""
    assert detect_frameworks(["asyncio", "os", "json", "collections.abc"]) == ()


def test_frameworks_are_unique_and_sorted_ignoring_case() -> None:
    """Several imports of one framework name it once; the order does not depend on imports."""
    modules = ["torch", "pytest", "numpy", "torch.nn", "django.db", "pandas"]
    assert detect_frameworks(modules) == ("Django", "NumPy", "pandas", "pytest", "PyTorch")


# Definitions


def test_methods_and_nested_functions_get_qualified_names() -> None:
    """Names are dotted through every enclosing class and function; lambdas are not definitions."""
    text = source(
        """
        class Parser:
            def feed(self, data):
                def helper(chunk):
                    return chunk
                key = lambda item: item
                return helper(data)

            class State:
                pass

        async def main():
            pass
        """
    )
    assert list(defs_of(text)) == [
        "Parser",
        "Parser.feed",
        "Parser.feed.helper",
        "Parser.State",
        "main",
    ]
    assert defs_of(text)["Parser"].is_function is False
    assert defs_of(text)["main"].is_function is True


def test_a_decorated_definition_starts_at_its_first_decorator() -> None:
    """`start_line` is the first decorator; `def_line` is the line with `def`."""
    text = source(
        """
        import functools

        @functools.cache
        @other(
            1,
        )
        def compute(x):
            return x
        """
    )
    compute = defs_of(text)["compute"]
    assert (compute.start_line, compute.def_line, compute.end_line) == (3, 7, 8)


def test_a_multi_line_signature_ends_at_its_colon() -> None:
    """The colon is found by tokens: colons in dict defaults and comments are not it."""
    text = source(
        """
        async def fetch(
            url: str,  # note: a colon in a comment
            options={"retries": 3},
            *args,
        ) -> dict[str, int]:
            \"\"\"Fetch it.\"\"\"
            return {}
        """
    )
    fetch = defs_of(text)["fetch"]
    assert (fetch.def_line, fetch.signature_end_line, fetch.body_start_line) == (1, 5, 6)
    assert fetch.docstring_lines == (6, 6)


def test_a_signature_with_non_ascii_names_is_still_measured() -> None:
    """ast counts columns in UTF-8 bytes; the colon search must not drift on accented names."""
    text = "def größe(ä) -> 'Maß':\n    # the body follows a comment\n    return ä\n"
    assert defs_of(text)["größe"].signature_end_line == 1


@pytest.mark.parametrize(
    ("body", "is_stub"),
    [
        ("pass", True),
        ("...", True),
        ("raise NotImplementedError", True),
        ('raise NotImplementedError("later")', True),
        ('"""Only a docstring."""', True),
        ('"""Doc."""\n    pass', True),
        ("return 1", False),
        ("raise ValueError('no')", False),
        ("pass\n    return 1", False),
    ],
)
def test_stub_bodies_are_recognised(body: str, is_stub: bool) -> None:
    """A stub is a body of only pass, `...`, NotImplementedError or a docstring."""
    assert defs_of(f"def f():\n    {body}\n")["f"].is_stub is is_stub


def test_docstrings_are_found_with_their_line_range() -> None:
    """A docstring's line range is known; a leading f-string is not a docstring."""
    text = source(
        '''
        def documented():
            """First line.

            More.
            """
            return 1

        def undocumented():
            x = f"{1}"
            return x
        '''
    )
    found = defs_of(text)
    assert found["documented"].docstring_lines == (2, 5)
    assert found["documented"].after_header_line == 6
    assert found["undocumented"].docstring_lines is None
    assert found["undocumented"].after_header_line == 9


@pytest.mark.parametrize(
    ("text", "hinted"),
    [
        ("def f(x: int) -> int:\n    return x\n", True),
        ("def f(x: int):\n    return x\n", False),
        ("def f(x) -> int:\n    return x\n", False),
        ("def f(*args: int, **kwargs: str) -> None:\n    pass\n", True),
        ("def f(*args, key: int) -> None:\n    pass\n", False),
        ("def f(self) -> None:\n    pass\n", False),
        ("class A:\n    def m(self, x: int) -> int:\n        return x\n", True),
        ("class A:\n    @classmethod\n    def m(cls) -> None:\n        pass\n", True),
        ("class A:\n    def m(self, x) -> int:\n        return x\n", False),
    ],
)
def test_type_hints_need_every_parameter_but_self_and_a_return(text: str, hinted: bool) -> None:
    """A method's self/cls needs no annotation; anything else unannotated means hints missing."""
    functions = [d for d in definitions(ast.parse(text), text) if d.is_function]
    assert functions[0].has_type_hints is hinted


def test_body_indentation_is_taken_from_the_body() -> None:
    """Tabs stay tabs; a body on the header line gets one level more than the `def`."""
    found = defs_of("class A:\n\tdef m(self):\n\t\treturn 1\n\tdef n(self): return 2\n")
    assert (found["A.m"].def_indent, found["A.m"].body_indent) == ("\t", "\t\t")
    assert found["A.n"].body_on_header_line is True
    assert found["A.n"].body_indent == "\t\t"
    assert found["A.m"].body_on_header_line is False


def test_overloads_abstract_methods_and_protocol_members_are_empty_on_purpose() -> None:
    """Their stub bodies are correct as written, unlike a plain `pass` placeholder."""
    text = source(
        """
        import abc
        from typing import Protocol, overload

        class Reader(Protocol):
            def read(self) -> bytes: ...

        class Base(abc.ABC):
            @abc.abstractmethod
            def run(self) -> None:
                pass

        @overload
        def parse(x: int) -> int: ...

        def todo():
            pass
        """
    )
    found = defs_of(text)
    assert found["Reader.read"].empty_on_purpose
    assert found["Base.run"].empty_on_purpose
    assert found["parse"].empty_on_purpose
    assert not found["todo"].empty_on_purpose


# Enclosing definitions

NESTED = source(
    """
    class Box:
        size = 3

        def put(self, item):
            def check(x):
                return x
            return check(item)

    def free():
        return 1
    """
)


def test_the_innermost_function_around_a_change_is_chosen() -> None:
    """A change inside a nested function picks it, not the method around it."""
    defs = definitions(ast.parse(NESTED), NESTED)
    found = enclosing_definition(defs, [(6, 6)])
    assert found is not None
    assert found.qualname == "Box.put.check"
    method = enclosing_definition(defs, [(7, 7)])
    assert method is not None
    assert method.qualname == "Box.put"


def test_a_function_is_preferred_over_a_class_and_the_class_is_the_fallback() -> None:
    """A change in a class body outside its methods falls back to the class."""
    defs = definitions(ast.parse(NESTED), NESTED)
    in_class = enclosing_definition(defs, [(2, 2)])
    assert in_class is not None
    assert in_class.qualname == "Box"
    both = enclosing_definition(defs, [(2, 2), (10, 10)])
    assert both is not None
    assert both.qualname == "free"


def test_a_change_outside_every_definition_has_no_enclosing_one() -> None:
    """Blank lines between definitions belong to none of them."""
    defs = definitions(ast.parse(NESTED), NESTED)
    assert enclosing_definition(defs, [(8, 8)]) is None
    assert enclosing_definition(defs, []) is None


def test_a_range_spanning_functions_picks_the_first_one_it_reaches() -> None:
    """For a whole new file, the first function is the one asked about."""
    defs = definitions(ast.parse(NESTED), NESTED)
    found = enclosing_definition(defs, [(1, 10)])
    assert found is not None
    assert found.qualname == "Box.put"


# Line numbering


def test_form_feeds_are_mapped_to_splitlines_numbers() -> None:
    """Task lines follow str.splitlines, which breaks at form feeds where Python does not."""
    text = "x = 1\n\x0c\ndef f():\n    pass\n"
    line_map = LineMap(text)
    assert source_lines(text)[2] == "def f():"
    assert text.splitlines()[3] == "def f():"
    assert line_map.to_task(3, 4) == (4, 5)
    assert LineMap("a\r\nb\n").to_task(1, 2) == (1, 2)
