"""Plain-English facts about a function, read from its code: the text of mined explanations.

Every sentence is derived from the syntax tree or the docstring, never invented: what the
function is for (the docstring's summary), what it takes, what it returns or yields, what it
raises, and the pitfalls a reader should know (shared mutable defaults, bare `except`,
arguments changed in place).
"""

from __future__ import annotations

import ast

MAX_EXPRESSION_CHARS = 60
_MUTATORS = frozenset({"append", "extend", "insert", "update", "pop", "clear", "remove", "sort"})


def summary(docstring: str) -> str:
    """The docstring's first paragraph as one line."""
    return " ".join(docstring.split("\n\n", 1)[0].split())


def _short(node: ast.AST) -> str | None:
    text = ast.unparse(node)
    return text if len(text) <= MAX_EXPRESSION_CHARS else None


def _own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """Nodes of the function's body, not of functions or classes nested in it."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        found.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return found


def parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    """Parameters a caller passes: all but a method's leading self/cls."""
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if every and every[0].arg in ("self", "cls"):
        every = every[1:]
    extras = [arg for arg in (args.vararg, args.kwarg) if arg is not None]
    return every + extras


def _defaults(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, ast.expr]:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    pairs = zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
    found = {arg.arg: default for arg, default in pairs}
    found.update(
        {arg.arg: d for arg, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d}
    )
    return found


def takes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """A sentence on the parameters, with their types and defaults where the code states them."""
    defaults = _defaults(function)
    parts = []
    for arg in parameters(function):
        star = "*" if arg is function.args.vararg else "**" if arg is function.args.kwarg else ""
        part = f"`{star}{arg.arg}`"
        if arg.annotation is not None and (annotation := _short(arg.annotation)):
            part += f" ({annotation})"
        if arg.arg in defaults and (default := _short(defaults[arg.arg])):
            part += f", default `{default}`"
        parts.append(part)
    if not parts:
        return "It takes no arguments."
    return f"It takes {_join(parts)}."


def gives(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """A sentence on what calling it gives back: the return value, the yields, or None."""
    nodes = _own_nodes(function)
    if any(isinstance(node, ast.Yield | ast.YieldFrom) for node in nodes):
        return "It is a generator: it yields its results one at a time."
    values = [node.value for node in nodes if isinstance(node, ast.Return) and node.value]
    shown = list(dict.fromkeys(text for value in values if (text := _short(value))))
    returns = function.returns
    if returns is not None and (annotation := _short(returns)) and annotation != "None":
        suffix = f", `{shown[0]}`" if len(shown) == 1 else ""
        return f"It returns a value of type `{annotation}`{suffix}."
    if not values:
        return "It returns None; it works through its side effects."
    if len(shown) == 1:
        return f"It returns `{shown[0]}`."
    if shown:
        return f"It returns one of {_join([f'`{text}`' for text in shown[:3]])}."
    return "It returns a computed value."


def pitfalls(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Sentences on what can surprise a caller, read from the code."""
    found = []
    nodes = _own_nodes(function)
    raised = sorted(
        {
            name
            for node in nodes
            if isinstance(node, ast.Raise) and node.exc is not None
            if (name := _called_name(node.exc))
        }
    )
    if raised:
        found.append(f"It can raise {_join(raised[:3])}.")
    for name, default in _defaults(function).items():
        if isinstance(default, ast.List | ast.Dict | ast.Set):
            found.append(f"The default of `{name}` is one shared object, kept between calls.")
    if any(isinstance(node, ast.ExceptHandler) and node.type is None for node in nodes):
        found.append("A bare `except:` also catches KeyboardInterrupt and SystemExit.")
    names = {arg.arg for arg in parameters(function)}
    changed = sorted(
        {
            node.func.value.id
            for node in nodes
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _MUTATORS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in names
        }
    )
    if changed:
        found.append(f"It changes {_join([f'`{name}`' for name in changed])} in place.")
    if isinstance(function, ast.AsyncFunctionDef):
        found.append("It is a coroutine function: callers must await it.")
    return found


def _called_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def explanation(function: ast.FunctionDef | ast.AsyncFunctionDef, docstring: str | None) -> str:
    """Purpose, parameters, result and pitfalls, as the `explain` task asks."""
    purpose = [summary(docstring).rstrip(".") + "."] if docstring else []
    return " ".join([*purpose, takes(function), gives(function), *pitfalls(function)])


def how_it_works(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """One or two sentences on what the body does, for `complete` answers."""
    nodes = _own_nodes(function)
    loops = [n for n in nodes if isinstance(n, ast.For | ast.AsyncFor | ast.While)]
    sentences = []
    loop_over = [text for n in loops if isinstance(n, ast.For) if (text := _short(n.iter))]
    if loop_over:
        sentences.append(f"It loops over `{loop_over[0]}`.")
    elif loops:
        sentences.append("It loops until its condition no longer holds.")
    sentences.append(gives(function))
    return " ".join(sentences)


def types_explanation(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """Which type each annotated parameter and the result got, for `types` answers."""
    parts = [
        f"`{arg.arg}` is `{annotation}`"
        for arg in parameters(function)
        if arg.annotation is not None
        if (annotation := _short(arg.annotation))
    ]
    if function.returns is not None and (annotation := _short(function.returns)):
        parts.append(f"it returns `{annotation}`")
    if not parts:
        return "The annotations follow how the arguments are used."
    text = _join(parts)
    return text[0].upper() + text[1:] + ", as the body uses them."
