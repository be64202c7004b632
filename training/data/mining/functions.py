"""Functions worth learning from, cut out of a real file into a small file of their own.

The daemon plans tasks on whole files; mining does the same on a *snippet file*: the module's
imports (so the planner sees the same frameworks), the class line for a method (so the symbol
reads `Class.method`), then the function itself at its real indentation. Planning on that small
file keeps mining fast while the prompts come out exactly as the daemon renders them.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from takeaways_daemon.context.lines import source_lines
from takeaways_daemon.context.python_definitions import Definition, definitions
from training.data.mining.source_files import SourceFile, looks_generated

MIN_BODY_LINES = 3
MAX_FUNCTION_LINES = 45
MAX_LINE_CHARS = 120
MAX_IMPORT_LINES = 12
_BAD_DOCSTRING_WORDS = ("copyright", "license", "todo", "xxx", "fixme", "deprecated")


@dataclass(frozen=True)
class MinedFunction:
    """One function in its snippet file, with the facts every task builder needs."""

    display_path: str
    text: str
    """The snippet file: imports, class line for a method, the function."""
    qualname: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    definition: Definition
    docstring: str | None
    """The cleaned docstring when it is a good one to learn from, else None."""

    @property
    def name(self) -> str:
        """The function's own name."""
        return self.node.name

    @property
    def lines(self) -> list[str]:
        """The snippet file's lines."""
        return source_lines(self.text)


def parse_quietly(text: str) -> ast.Module | None:
    """The syntax tree, or None when the text does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def read_source(source: SourceFile) -> str | None:
    """The file's text when it is UTF-8, hand-written and numbered the same by every tool."""
    try:
        text = source.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    # Form feeds and other rare breaks make `ast` and `splitlines` disagree on line numbers.
    if looks_generated(text) or text.splitlines() != source_lines(text) or "\t" in text:
        return None
    return text


def functions_in(source: SourceFile, text: str) -> Iterator[MinedFunction]:
    """The good functions of a file: top-level functions and methods of top-level classes."""
    tree = parse_quietly(text)
    if tree is None:
        return
    lines = source_lines(text)
    imports = _import_block(tree, lines)
    for parent, node in _candidates(tree):
        if not _good_shape(node, lines):
            continue
        header = _class_header(parent, lines) if parent is not None else ""
        function_text = "\n".join(lines[_first_line(node) - 1 : node.end_lineno])
        snippet = "".join(part + "\n\n" for part in (imports, header) if part)
        snippet = (snippet[:-1] if header else snippet) + function_text + "\n"
        qualname = f"{parent.name}.{node.name}" if parent is not None else node.name
        mined = _mine(source.display_path, snippet, qualname)
        if mined is not None:
            yield mined


def _candidates(tree: ast.Module) -> Iterator[tuple[ast.ClassDef | None, ast.FunctionDef]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield None, node  # type: ignore[misc]
        elif isinstance(node, ast.ClassDef):
            for child in node.body:
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield node, child  # type: ignore[misc]


def _first_line(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])  # type: ignore[attr-defined]


def _good_shape(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> bool:
    if node.name.startswith(("test", "_test")) or node.end_lineno is None:
        return False
    start = _first_line(node)
    if node.end_lineno - start + 1 > MAX_FUNCTION_LINES:
        return False
    body = node.body[1:] if ast.get_docstring(node, clean=False) is not None else node.body
    if not body or body[0].lineno <= node.lineno:
        return False
    body_lines = node.end_lineno - body[0].lineno + 1
    if body_lines < MIN_BODY_LINES:
        return False
    return all(len(line) <= MAX_LINE_CHARS for line in lines[start - 1 : node.end_lineno])


def _class_header(node: ast.ClassDef, lines: list[str]) -> str:
    line = lines[node.lineno - 1]
    return (
        line if line.rstrip().endswith(":") and line.startswith("class ") else f"class {node.name}:"
    )


def _import_block(tree: ast.Module, lines: list[str]) -> str:
    """The module's top-level imports as written, one statement each, capped."""
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) and node.end_lineno == node.lineno:
            found.append(lines[node.lineno - 1].strip())
    return "\n".join(list(dict.fromkeys(found))[:MAX_IMPORT_LINES])


def _mine(display_path: str, snippet: str, qualname: str) -> MinedFunction | None:
    tree = parse_quietly(snippet)
    if tree is None:
        return None  # A line of the import block or class header only made sense in context.
    definition = next((d for d in definitions(tree, snippet) if d.qualname == qualname), None)
    if definition is None or definition.is_stub or definition.empty_on_purpose:
        return None
    node = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.lineno == definition.def_line
    )
    return MinedFunction(
        display_path, snippet, definition.qualname, node, definition, good_docstring(node)
    )


def good_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The cleaned docstring if it is worth learning from: a real sentence, no boilerplate."""
    docstring = ast.get_docstring(node, clean=True)
    if not docstring or not docstring.isascii():
        return None
    summary = docstring.split("\n\n", 1)[0]
    lowered = docstring.lower()
    if len(summary.split()) < 3 or any(word in lowered for word in _BAD_DOCSTRING_WORDS):
        return None
    if summary.lstrip().startswith((":", "@", ">>>", "..", "See ", "Same as")):
        return None
    return docstring
