"""The project's test files that import a module: what a fix for that module must keep green.

A fix for a syntax error or a ruff finding has no failing test as evidence, yet "it parses" is a
weak check: on injected bugs the base model's parsing candidates often also dropped a line the
tests need (`return total` for `return total / len(values)`). Running the tests that import the
module catches that. Found by a bounded walk and a plain-text look at each test file's imports.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

MAX_TEST_FILES = 4
"""Test files run for one fix at most; more would slow every candidate's check."""
MAX_FILES_LOOKED_AT = 3000
"""Files the walk looks at before it gives up (a huge tree is not searched whole)."""
MAX_TEST_CHARS = 200_000
SKIPPED_FOLDERS = frozenset(
    {"venv", "node_modules", "__pycache__", "site-packages", "build", "dist"}
)
"""Besides hidden folders (`.venv`, `.git`, `.pytest_cache`): never the project's own tests."""


def is_test_file(relative: str) -> bool:
    """Whether pytest would collect the file by its default name patterns.

    >>> is_test_file("tests/test_cart.py"), is_test_file("cart_test.py"), is_test_file("cart.py")
    (True, True, False)
    """
    name = PurePosixPath(relative).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def imports_module(test_text: str, module: str) -> bool:
    """Whether the test text imports the dotted `module`, a name from it, or it from its package.

    >>> imports_module("from shop.cart import total\\n", "shop.cart")
    True
    >>> imports_module("from cart import total\\n", "shop.cart")
    True
    >>> imports_module("from shop import cart, tax\\n", "shop.cart")
    True
    >>> imports_module("import cartography\\n", "cart")
    False
    """
    *package, name = module.split(".")
    dotted = rf"(?:[\w.]+\.)?{re.escape(name)}"
    forms = [rf"from\s+{dotted}\s+import\b", rf"import\s+{dotted}(?![\w.])"]
    if package:
        forms.append(rf"from\s+{re.escape('.'.join(package))}\s+import\s+[^\n]*\b{name}\b")
    return re.search(rf"^\s*(?:{'|'.join(forms)})", test_text, re.MULTILINE) is not None


def module_name(relative: str) -> str | None:
    """The dotted module a project path holds, or None for a non-Python file.

    >>> module_name("src/shop/cart.py"), module_name("shop/__init__.py"), module_name("a.txt")
    ('src.shop.cart', 'shop', None)
    """
    path = PurePosixPath(relative)
    if path.suffix != ".py":
        return None
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def covering_tests(project_root: Path, relative: str) -> tuple[str, ...]:
    """The test files (relative POSIX paths) that import the module at `relative`, at most a few.

    A test file itself is its own covering test.
    """
    module = module_name(relative)
    if module is None:
        return ()
    if is_test_file(relative):
        return (relative,)
    found: list[str] = []
    looked_at = 0
    for folder, subfolders, files in os.walk(project_root):
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".") and name not in SKIPPED_FOLDERS
        )
        for name in sorted(files):
            looked_at += 1
            if looked_at > MAX_FILES_LOOKED_AT:
                return tuple(found)
            path = Path(folder) / name
            test = path.relative_to(project_root).as_posix()
            if not is_test_file(test) or path.is_symlink():
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")[:MAX_TEST_CHARS]
            except OSError:
                continue
            if imports_module(text, module):
                found.append(test)
                if len(found) >= MAX_TEST_FILES:
                    return tuple(found)
    return tuple(found)
