"""Which project function a failing test points at, from its traceback and the test's source.

Two cases:
- the exception came out of project code: the innermost traceback frame inside the project that
  is neither a test file nor an installed package is the target;
- the test's own assertion failed on a value project code returned: the project functions that
  the failing test line calls (read from its syntax tree and the test module's imports) are.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon.sandbox.test_reports import Frame

ENVIRONMENT_FOLDERS = frozenset(
    {".venv", "venv", "site-packages", "dist-packages", ".tox", ".nox", "__pypackages__"}
)
"""Folders holding installed packages, which are never the project's own code."""
TEST_FOLDERS = frozenset({"tests", "test", "testing"})
SOURCE_FOLDERS = ("", "src")
"""Where imported modules are looked for, relative to the project root."""


@dataclass(frozen=True)
class Target:
    """A project function to fix: its file (relative to the root), qualified name and line."""

    path: str
    symbol: str
    line: int


def is_test_file(relative: Path) -> bool:
    """True for test modules, conftest.py and anything under a tests/ folder."""
    name = relative.name
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(part in TEST_FOLDERS for part in relative.parts[:-1])
    )


def find_target(frames: Sequence[Frame], project_root: Path) -> Target | None:
    """The project function a failure with these traceback `frames` points at, if any."""
    root = project_root.resolve()
    own: list[tuple[Path, int, str]] = []
    for filename, line, name in frames:
        relative = _relative(Path(filename), root)
        if relative is not None and not (ENVIRONMENT_FOLDERS & set(relative.parts)):
            own.append((relative, line, name))
    for relative, line, name in reversed(own):
        if not is_test_file(relative):
            source = _read(root / relative)
            symbol = enclosing_symbol(source, line) if source is not None else None
            return Target(relative.as_posix(), symbol or name, line)
    if not own:
        return None
    relative, line, _ = own[-1]  # the failing line of the test itself (or its helper)
    return next(iter(called_targets(root, relative, line)), None)


def enclosing_symbol(source: str, line: int) -> str | None:
    """The qualified name (`Cart.total`) of the innermost def or class holding `line`.

    >>> enclosing_symbol("class Cart:\\n    def total(self):\\n        return 0\\n", 3)
    'Cart.total'
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    names: list[str] = []
    body: list[ast.stmt] = tree.body
    while True:
        inner = next((node for node in body if _defines(node) and _spans(node, line)), None)
        if inner is None:
            return ".".join(names) or None
        assert isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        names.append(inner.name)
        body = inner.body


def called_targets(root: Path, test_path: Path, line: int) -> list[Target]:
    """Project functions called on `line` of the test module, outermost call first."""
    source = _read(root / test_path)
    if source is None:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    statement = _statement_at(tree, line)
    if statement is None:
        return []
    imports = _imports(tree, _module_name(test_path))
    targets: list[Target] = []
    for call in _calls(statement):
        dotted = _dotted(call.func)
        if dotted is None:
            continue
        head, *rest = dotted.split(".")
        if head not in imports:
            continue
        qualified = ".".join([imports[head], *rest])
        target = _resolve(root, qualified, depth=0)
        if target is not None and target not in targets:
            targets.append(target)
    return targets


def _relative(path: Path, root: Path) -> Path | None:
    """`path` relative to the project root, or None when it lies outside it."""
    try:
        return path.relative_to(root) if path.is_absolute() else None
    except ValueError:
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):  # ValueError: a NUL in a path from an untrusted traceback
        return None


def _defines(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)


def _spans(node: ast.stmt, line: int) -> bool:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return first <= line <= (node.end_lineno or node.lineno)


def _statement_at(tree: ast.Module, line: int) -> ast.stmt | None:
    """The innermost simple (non-compound) statement spanning `line`."""
    found: ast.stmt | None = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or hasattr(node, "body"):
            continue
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            found = node
    return found


def _calls(statement: ast.stmt) -> Iterator[ast.Call]:
    """Calls in `statement`, outermost first (breadth-first)."""
    for node in ast.walk(statement):
        if isinstance(node, ast.Call):
            yield node


def _dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a chain of attribute look-ups on a plain name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _module_name(path: Path) -> str:
    return ".".join(path.with_suffix("").parts)


def _imports(tree: ast.Module, module: str) -> dict[str, str]:
    """Names bound by the module's top-level imports → the dotted names they stand for."""
    bound: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    bound[head] = head
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            for alias in node.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name] = (
                        f"{base}.{alias.name}" if base else alias.name
                    )
    return bound


def _absolute(node: ast.ImportFrom, module: str) -> str:
    """The absolute module an `ImportFrom` names, resolving leading dots against `module`."""
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join([*package, *([node.module] if node.module else [])])


def _resolve(root: Path, qualified: str, depth: int) -> Target | None:
    """The def or class `qualified` (`pkg.mod.func`) names in the project, following re-exports."""
    parts = qualified.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module, names = ".".join(parts[:split]), parts[split:]
        path = _module_file(root, module)
        if path is None:
            continue
        source = _read(root / path)
        if source is None:
            return None
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError):
            return None
        found = _definition(tree, names)
        if found is not None:
            return Target(path.as_posix(), ".".join(names), found.lineno)
        exported = _imports(tree, module if path.name != "__init__.py" else f"{module}.__init__")
        if depth < 3 and names[0] in exported:
            return _resolve(root, ".".join([exported[names[0]], *names[1:]]), depth + 1)
        return None
    return None


def _module_file(root: Path, module: str) -> Path | None:
    """The project file of a dotted module name, or None when it is not the project's."""
    relative = Path(*module.split("."))
    for folder in SOURCE_FOLDERS:
        for candidate in (relative.with_suffix(".py"), relative / "__init__.py"):
            path = Path(folder) / candidate
            if (root / path).is_file() and not is_test_file(path):
                return path
    return None


def _definition(tree: ast.Module, names: list[str]) -> ast.stmt | None:
    """The def or class `names` (`Cart`, `total`) reach from the module's top level."""
    body: list[ast.stmt] = tree.body
    found: ast.stmt | None = None
    for name in names:
        found = next((n for n in body if _defines(n) and getattr(n, "name", None) == name), None)
        if found is None:
            return None
        body = getattr(found, "body", [])
    return found
