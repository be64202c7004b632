"""The grammar each task's answer is decoded under: the kind's shape, narrowed by the task.

`docstring` answers must read as prose (see `_DOCSTRING_RULES`); `types` answers as below.

A small base model asked for type hints mostly wrote the function back unchanged (0 of 15
`types` answers were usable when tried on a real package). The kind-level grammar only fixes
the answer's sections; for `types` the code is narrowed to the function's own signature, so
decoding can only produce `def name(a: T, b: T = 1) -> T:` with the same parameters, defaults
and order, and the model chooses just the types.
"""

from __future__ import annotations

import ast
import json

from takeaways_daemon import prompt_format
from takeaways_daemon.tasks import Task

# A type expression: names (dotted), subscripts, unions, None, string and ellipsis literals.
_TYPE_RULES = (
    'type ::= atom (" | " atom)*',
    'atom ::= name ("[" type (", " type)* "]")? | "None" | "..."',
    'name ::= [A-Za-z_] [A-Za-z0-9_]* ("." [A-Za-z_] [A-Za-z0-9_]*)*',
)
_UNANNOTATED_FIRST = ("self", "cls")
# A docstring is prose: its first line starts with a capitalised word and a space ("Return the
# …", "A helper …"), which no code line does. Tried on real code, the base answered with the
# function's own def, a call (`InvalidMetadata(self.raw_name, …)`) or a copy of the example;
# later lines may not start a fence, the explanation or a prompt header.
_DOCSTRING_RULES = (
    'code ::= [A-Z] [a-z]* ","? " " [^\\n`]+ ("\\n" "\\n"? docline)*',
    "docline ::= [^\\n`E#] [^\\n]*",
)


def _literal(text: str) -> str:
    """`text` as a GBNF string literal."""
    return json.dumps(text)


def _function_at(task: Task) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        tree = ast.parse(task.file_text)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            node.lineno == task.target_start
        ):
            return node
    return None


def _parameter(argument: ast.arg, default: ast.expr | None, *, annotate: bool, prefix: str) -> str:
    parts = [_literal(f"{prefix}{argument.arg}")]
    if annotate:
        parts += ['": "', "type"]
    if default is not None:
        parts.append(
            _literal(f" = {ast.unparse(default)}" if annotate else f"={ast.unparse(default)}")
        )
    return " ".join(parts)


def signature_rule(function: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> str:
    """A GBNF rule `code` admitting exactly this function's signature, annotated."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    pieces: list[str] = []
    for index, (argument, default) in enumerate(zip(positional, defaults, strict=True)):
        bare = in_class and index == 0 and argument.arg in _UNANNOTATED_FIRST
        pieces.append(_parameter(argument, default, annotate=not bare, prefix=""))
        if args.posonlyargs and index == len(args.posonlyargs) - 1:
            pieces.append('"/"')
    if args.vararg is not None:
        pieces.append(_parameter(args.vararg, None, annotate=True, prefix="*"))
    elif args.kwonlyargs:
        pieces.append('"*"')
    for argument, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        pieces.append(_parameter(argument, kw_default, annotate=True, prefix=""))
    if args.kwarg is not None:
        pieces.append(_parameter(args.kwarg, None, annotate=True, prefix="**"))
    keyword = "async def " if isinstance(function, ast.AsyncFunctionDef) else "def "
    parameters = ' ", " '.join(pieces) if pieces else ""
    return (
        f'code ::= {_literal(keyword + function.name + "(")} {parameters} ") -> " type ":"'
    ).replace("  ", " ")


def grammar_for(task: Task) -> str:
    """The GBNF grammar for `task`'s answer (the kind's, narrowed where the task allows)."""
    generic = prompt_format.answer_grammar(task.kind, task.language)
    if task.kind == "docstring":
        return prompt_format.answer_grammar(task.kind, task.language, code_rules=_DOCSTRING_RULES)
    if task.kind != "types" or task.language != "python":
        return generic
    function = _function_at(task)
    if function is None:
        return generic
    in_class = bool(task.symbol and "." in task.symbol)
    return prompt_format.answer_grammar(
        task.kind,
        task.language,
        code_rules=(signature_rule(function, in_class), *_TYPE_RULES),
    )
