"""Functions and classes in a Python module: where their parts lie and what they lack.

>>> text = "class Box:\\n    def put(self, item):\\n        pass\\n"
>>> [(d.qualname, d.def_line, d.end_line, d.is_stub) for d in definitions(ast.parse(text), text)]
[('Box', 1, 3, False), ('Box.put', 2, 3, True)]
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass

from takeaways_daemon.context.lines import indentation, source_lines

_FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFINITION_NODES = (*_FUNCTION_NODES, ast.ClassDef)
_DefinitionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
# Decorators that make an empty body correct as it stands: there is nothing to complete.
_EMPTY_ON_PURPOSE = {
    "overload",
    "abstractmethod",
    "abstractclassmethod",
    "abstractstaticmethod",
    "abstractproperty",
}
_OPENING, _CLOSING = frozenset("([{"), frozenset(")]}")


@dataclass(frozen=True)
class Definition:
    """One `def`, `async def` or `class`; lines are 1-based source lines."""

    qualname: str
    """Dotted path through enclosing definitions, such as `Parser.feed` or `outer.inner`."""
    is_function: bool
    start_line: int
    """The first decorator, or the `def`/`class` line when there is none."""
    def_line: int
    signature_end_line: int
    """The line holding the colon that ends the header."""
    body_start_line: int
    """The first line of the first body statement (a docstring counts)."""
    end_line: int
    docstring_lines: tuple[int, int] | None
    has_type_hints: bool
    """Every parameter but a method's self/cls is annotated, and so is the return."""
    is_stub: bool
    """The body is only `pass`, `...`, `raise NotImplementedError` or a docstring."""
    empty_on_purpose: bool
    """An overload, abstract method or Protocol member: a stub body is correct."""
    def_indent: str
    body_indent: str
    depth: int
    """How many definitions enclose this one."""

    @property
    def after_header_line(self) -> int:
        """The first line after the signature and the docstring."""
        if self.docstring_lines:
            return self.docstring_lines[1] + 1
        return self.signature_end_line + 1

    @property
    def body_on_header_line(self) -> bool:
        """Whether the body starts on the header's own line, as in `def f(): pass`."""
        return self.body_start_line <= self.signature_end_line


def definitions(tree: ast.Module, text: str) -> list[Definition]:
    """Every function, async function and class in the module, in source order; lambdas are not."""
    lines = source_lines(text.removeprefix("\ufeff"))
    found: list[Definition] = []
    # (node, qualified-name prefix, depth, parent is a class, parent is a Protocol)
    pending: list[tuple[ast.AST, str, int, bool, bool]] = [(tree, "", 0, False, False)]
    while pending:
        node, prefix, depth, in_class, in_protocol = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                continue  # Expressions hold no definitions (a lambda is not one).
            if isinstance(child, _DEFINITION_NODES):
                found.append(_definition(child, lines, prefix, depth, in_class, in_protocol))
                is_class = isinstance(child, ast.ClassDef)
                protocol = isinstance(child, ast.ClassDef) and any(
                    _name(base) == "Protocol" for base in child.bases
                )
                pending.append((child, f"{prefix}{child.name}.", depth + 1, is_class, protocol))
            else:
                pending.append((child, prefix, depth, in_class, in_protocol))
    return sorted(found, key=lambda d: (d.start_line, d.depth))


def enclosing_definition(
    defs: Sequence[Definition], line_ranges: Sequence[tuple[int, int]]
) -> Definition | None:
    """The innermost function overlapping the first changed range that touches one, else a class.

    Within a range, the definition holding its earliest line inside any definition wins; among
    those, the most deeply nested.
    """
    for want_function in (True, False):
        for start, end in sorted(line_ranges):
            best: Definition | None = None
            best_key = (0, 0)
            for definition in defs:
                if definition.is_function != want_function:
                    continue
                if definition.start_line > end or definition.end_line < start:
                    continue
                key = (max(start, definition.start_line), -definition.depth)
                if best is None or key < best_key:
                    best, best_key = definition, key
            if best is not None:
                return best
    return None


def _definition(
    node: _DefinitionNode,
    lines: list[str],
    prefix: str,
    depth: int,
    in_class: bool,
    in_protocol: bool,
) -> Definition:
    body_start = _statement_start(node.body[0])
    header_end = _header_end_line(lines, node, body_start)
    docstring = _docstring_lines(node)
    def_indent = indentation(lines[node.lineno - 1])
    if body_start > header_end:
        body_indent = indentation(lines[body_start - 1])
    else:
        body_indent = def_indent + ("\t" if "\t" in def_indent else "    ")
    rest = node.body[1:] if docstring else node.body
    return Definition(
        qualname=f"{prefix}{node.name}",
        is_function=not isinstance(node, ast.ClassDef),
        start_line=_statement_start(node),
        def_line=node.lineno,
        signature_end_line=header_end,
        body_start_line=body_start,
        end_line=node.end_lineno or node.lineno,
        docstring_lines=docstring,
        has_type_hints=isinstance(node, ast.ClassDef) or _has_type_hints(node, in_class),
        is_stub=all(_is_stub_statement(statement) for statement in rest),
        empty_on_purpose=in_protocol
        or any(_name(decorator) in _EMPTY_ON_PURPOSE for decorator in node.decorator_list),
        def_indent=def_indent,
        body_indent=body_indent,
        depth=depth,
    )


def _statement_start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def _name(node: ast.expr) -> str | None:
    """The last name in `x`, `a.b.x`, `x(...)` or `x[...]`."""
    while isinstance(node, ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _docstring_lines(node: _DefinitionNode) -> tuple[int, int] | None:
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first.lineno, first.end_lineno or first.lineno
    return None


def _is_stub_statement(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return statement.value.value is Ellipsis
    if isinstance(statement, ast.Raise) and statement.exc is not None:
        raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
        return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"
    return False


def _has_type_hints(node: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> bool:
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    if in_class and positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    parameters = [*positional, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    annotated = all(p.annotation is not None for p in parameters if p is not None)
    return annotated and node.returns is not None


def _header_end_line(lines: list[str], node: _DefinitionNode, body_start: int) -> int:
    """The line of the colon ending a `def`/`class` header, found with the tokenizer."""
    # Start after a return annotation: it is the one place a lambda's colon could sit at depth 0.
    returns = getattr(node, "returns", None)
    anchor = returns if returns is not None else node
    row = (anchor.end_lineno or anchor.lineno) if returns is not None else node.lineno
    column = anchor.end_col_offset if returns is not None else node.col_offset
    first = lines[row - 1]
    # ast columns count UTF-8 bytes; the line is text.
    first = first[len(first.encode()[: column or 0].decode(errors="ignore")) :]
    header = "\n".join([first, *lines[row:body_start]]) + "\n"
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(header).readline):
            if token.type != tokenize.OP:
                continue
            if token.string in _OPENING:
                depth += 1
            elif token.string in _CLOSING:
                depth -= 1
            elif token.string == ":" and depth <= 0:
                return row + token.start[0] - 1
    except (tokenize.TokenError, SyntaxError):
        pass  # The tokenizer and the parser disagree (rare): fall back on the body's position.
    return max(node.lineno, body_start - 1)
