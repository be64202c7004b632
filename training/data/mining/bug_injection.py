"""Realistic bugs injected into working functions: the `fix` examples' broken side.

Semantic bugs keep the code parsing (wrong operator, wrong comparison, off by one, wrong name,
missing return, swapped arguments) and come with the symptom a developer would see. Syntax bugs
(missing colon, unclosed bracket, missing comma, misspelt keyword) are the errors the daemon
actually sends for fixing; their message comes from Python itself when the task is planned.
Each edit is a minimal text replacement at the node's exact position, so the rest of the
function keeps its formatting and the fix is the original text.
"""

from __future__ import annotations

import ast
import builtins
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

from training.data.mining.functions import MinedFunction, parse_quietly

_OPERATOR_SWAPS: dict[type[ast.operator], tuple[str, str]] = {
    ast.Add: ("+", "-"),
    ast.Sub: ("-", "+"),
    ast.Mult: ("*", "+"),
    ast.FloorDiv: ("//", "/"),
}
_COMPARISON_SWAPS: dict[type[ast.cmpop], tuple[str, str]] = {
    ast.Lt: (r"<(?!=)", "<="),
    ast.LtE: (r"<=", "<"),
    ast.Gt: (r">(?!=)", ">="),
    ast.GtE: (r">=", ">"),
    ast.Eq: (r"==", "!="),
    ast.NotEq: (r"!=", "=="),
    ast.Is: (r"\bis\b(?!\s+not\b)", "is not"),
    ast.IsNot: (r"\bis\s+not\b", "is"),
    ast.In: (r"(?<!not )\bin\b", "not in"),
    ast.NotIn: (r"\bnot\s+in\b", "in"),
}
_BUILTIN_NAMES = frozenset(dir(builtins))
# Calls whose first two arguments commute: swapping them changes nothing, so it is no bug.
_SYMMETRIC_CALLS = frozenset(
    {"max", "min", "gcd", "lcm", "hypot", "dist", "isclose", "add", "mul", "eq", "ne", "union",
     "intersection", "symmetric_difference", "isdisjoint", "fmax", "fmin"}
)  # fmt: skip
Span = tuple[int, int]
Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class InjectedBug:
    """A broken version of a mined function's snippet file."""

    bug: str
    """What was broken, such as `wrong-operator` or `missing-colon`."""
    text: str
    breaks_syntax: bool
    symptom: str | None
    """What a developer would see for a semantic bug (None: Python's own error says it)."""


@dataclass(frozen=True)
class _Edit:
    bug: str
    spans: tuple[tuple[Span, str], ...]
    breaks_syntax: bool
    symptom: str | None


class _Positions:
    """Character offsets in the snippet text from ast's (line, UTF-8 byte column) positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def at(self, line: int, byte_col: int) -> int:
        prefix = self.lines[line - 1].encode()[:byte_col].decode(errors="ignore")
        return self.starts[line - 1] + len(prefix)

    def start(self, node: ast.AST) -> int:
        return self.at(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        return self.at(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


def inject_bug(function: MinedFunction, rng: random.Random) -> InjectedBug | None:
    """One bug, picked at random among those this function allows, checked to really change it."""
    positions = _Positions(function.text)
    by_bug: dict[str, list[_Edit]] = {}
    for finder in _FINDERS:
        for edit in finder(function, positions):
            by_bug.setdefault(edit.bug, []).append(edit)
    # Pick the kind of bug first, so a function with forty names is not always a wrong-name
    # example; half the time a syntax bug (what the daemon sends) comes first when one fits.
    bugs = sorted(by_bug)
    rng.shuffle(bugs)
    if rng.random() < 0.5:
        bugs.sort(key=lambda bug: not by_bug[bug][0].breaks_syntax)
    edits = []
    for bug in bugs:
        candidates = by_bug[bug]
        rng.shuffle(candidates)
        edits.extend(candidates)
    original_dump = ast.dump(function.node)
    for edit in edits:
        text = _apply(function.text, edit.spans)
        if text == function.text:
            continue
        tree = parse_quietly(text)
        if edit.breaks_syntax:
            if tree is None:
                return InjectedBug(edit.bug, text, True, None)
            continue
        if tree is not None and _changed(tree, function, original_dump):
            return InjectedBug(edit.bug, text, False, edit.symptom)
    return None


def _changed(tree: ast.Module, function: MinedFunction, original_dump: str) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, Function) and node.lineno == function.node.lineno:
            return ast.dump(node) != original_dump
    return False


def _apply(text: str, spans: tuple[tuple[Span, str], ...]) -> str:
    for (start, end), replacement in sorted(spans, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _own(function: MinedFunction) -> Iterator[ast.AST]:
    for statement in function.node.body:
        yield from ast.walk(statement)


def _wrong_result(function: MinedFunction) -> str:
    return f"a test fails: {function.name}() returns a wrong result"


def _wrong_branch(function: MinedFunction) -> str:
    return f"a test fails: {function.name}() takes the wrong branch"


def _operators(function: MinedFunction, at: _Positions) -> Iterator[_Edit]:
    for node in _own(function):
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATOR_SWAPS:
            if any(_is_text(side) for side in (node.left, node.right)):
                continue  # "a" + b is concatenation: flipping it is not a believable slip.
            symbol, replacement = _OPERATOR_SWAPS[type(node.op)]
            gap = (at.end(node.left), at.start(node.right))
            if (span := _find(at.text, gap, re.escape(symbol) + r"(?![=/*])")) is not None:
                yield _Edit(
                    "wrong-operator", ((span, replacement),), False, _wrong_result(function)
                )
        elif isinstance(node, ast.BoolOp) and len(node.values) >= 2:
            symbol = "and" if isinstance(node.op, ast.And) else "or"
            gap = (at.end(node.values[0]), at.start(node.values[1]))
            if (span := _find(at.text, gap, rf"\b{symbol}\b")) is not None:
                other = "or" if symbol == "and" else "and"
                yield _Edit("wrong-operator", ((span, other),), False, _wrong_branch(function))


def _comparisons(function: MinedFunction, at: _Positions) -> Iterator[_Edit]:
    for node in _own(function):
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            swap = _COMPARISON_SWAPS.get(type(node.ops[0]))
            if swap is None:
                continue
            gap = (at.end(node.left), at.start(node.comparators[0]))
            if (span := _find(at.text, gap, swap[0])) is not None:
                yield _Edit("wrong-comparison", ((span, swap[1]),), False, _wrong_branch(function))


def _off_by_one(function: MinedFunction, at: _Positions) -> Iterator[_Edit]:
    symptom = f"a test fails: {function.name}() is off by one"
    for node in _own(function):
        numbers: list[ast.expr] = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "range":
                numbers = list(node.args)
        elif isinstance(node, ast.Slice):
            numbers = [bound for bound in (node.lower, node.upper) if bound is not None]
        elif isinstance(node, ast.Subscript) and _is_int(node.slice):
            numbers = [node.slice]
        elif isinstance(node, ast.Compare):
            numbers = [c for c in node.comparators if _is_int(c)]
        for number in numbers:
            span = (at.start(number), at.end(number))
            if isinstance(number, ast.Constant) and _is_int(number):
                value = cast(int, number.value)  # _is_int checked it
                bumped = str(value + 1) if value <= 0 or value % 2 else str(value - 1)
                yield _Edit("off-by-one", ((span, bumped),), False, symptom)
            elif isinstance(number, ast.Call | ast.Name):
                shifted = at.text[span[0] : span[1]] + " - 1"
                yield _Edit("off-by-one", ((span, shifted),), False, symptom)


def _names(function: MinedFunction, at: _Positions) -> Iterator[_Edit]:
    params = {arg.arg for arg in ast.walk(function.node.args) if isinstance(arg, ast.arg)}
    assigned = {
        node.id
        for node in _own(function)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    local = sorted((params | assigned) - {"self", "cls"})
    tree = parse_quietly(at.text)
    every_name = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()
    for node in _own(function):
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in local):
            continue
        span = (at.start(node), at.end(node))
        others = [name for name in local if name != node.id]
        if others:
            other = others[len(node.id) % len(others)]
            symptom = f"a test fails: {function.name}() uses the wrong variable"
            yield _Edit("wrong-name", ((span, other),), False, symptom)
        if len(node.id) >= 4:
            typo = node.id[:-2] + node.id[-1]  # A dropped letter, the commonest typo.
            if typo not in every_name and typo not in _BUILTIN_NAMES:
                symptom = f"NameError: name '{typo}' is not defined"
                yield _Edit("wrong-name", ((span, typo),), False, symptom)


def _missing_return(function: MinedFunction, at: _Positions) -> Iterator[_Edit]:
    returns = [
        node
        for node in _own_statements(function.node)
        if isinstance(node, ast.Return) and node.value is not None
    ]
    if returns:
        last = returns[-1]
        assert last.value is not None
        span = (at.start(last), at.start(last.value))
        symptom = f"a test fails: {function.name}() returns None"
        yield _Edit("missing-return", ((span, ""),), False, symptom)
        yield _Edit("misspelt-keyword", ((span, "retrun "),), True, None)


def _swapped_arguments(function: MinedFunction, at: _Positions) -> Iterator[_Edit]:
    for node in _own(function):
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            first, second = node.args[0], node.args[1]
            if any(isinstance(arg, ast.Starred) for arg in (first, second)):
                continue
            a = (at.start(first), at.end(first))
            b = (at.start(second), at.end(second))
            a_text, b_text = at.text[a[0] : a[1]], at.text[b[0] : b[1]]
            if a_text != b_text:
                if _called_name(node) not in _SYMMETRIC_CALLS:
                    swap = ((a, b_text), (b, a_text))
                    yield _Edit("swapped-arguments", swap, False, _wrong_result(function))
                comma = _find(at.text, (a[1], b[0]), ",")
                if comma is not None:
                    yield _Edit("missing-comma", ((comma, ""),), True, None)


def _syntax(function: MinedFunction, at: _Positions) -> Iterator[_Edit]:
    for node in [function.node, *_own_statements(function.node)]:
        body = getattr(node, "body", None)
        if not isinstance(body, list) or not body or isinstance(node, ast.ClassDef):
            continue
        header_end = body[0].lineno - 1
        if header_end < node.lineno:  # type: ignore[attr-defined]
            continue  # `if x: y` keeps its body on the header line.
        line = at.lines[header_end - 1]
        if line.rstrip().endswith(":") and "#" not in line:
            colon = at.starts[header_end - 1] + len(line.rstrip()) - 1
            yield _Edit("missing-colon", (((colon, colon + 1), ""),), True, None)
    for call in _own(function):
        if isinstance(call, ast.Call) and call.end_lineno != call.lineno:
            end = at.end(call)
            if at.text[end - 1 : end] == ")":
                yield _Edit("unclosed-bracket", (((end - 1, end), ""),), True, None)


def _own_statements(function: ast.AST) -> Iterator[ast.stmt]:
    """Statements of the function in source order, not those of nested functions or classes."""
    pending = list(getattr(function, "body", []))
    while pending:
        node = pending.pop(0)
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for field in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(node, field, []))


def _called_name(call: ast.Call) -> str:
    """`max` for `max(...)` and `math.gcd(...)`'s `gcd`; empty for anything else."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def _find(text: str, gap: Span, pattern: str) -> Span | None:
    match = re.search(pattern, text[gap[0] : gap[1]])
    return None if match is None else (gap[0] + match.start(), gap[0] + match.end())


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


_FINDERS: tuple[Callable[[MinedFunction, _Positions], Iterator[_Edit]], ...] = (
    _operators,
    _comparisons,
    _off_by_one,
    _names,
    _missing_return,
    _swapped_arguments,
    _syntax,
)
