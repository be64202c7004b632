"""One training example per daemon task kind, from a mined function.

Each builder changes the snippet file the way a developer's file would look when the daemon
asks that question (a stub body, a missing docstring, stripped annotations, a bug), runs the
daemon's own planner on it, and pairs the resulting prompt with the original code as the
answer. So the instruction and input are exactly what the daemon sends for that kind, and the
output is exactly the answer the daemon's parser and patch builder accept.
"""

from __future__ import annotations

import ast
import random
import textwrap
from collections.abc import Callable

from takeaways_daemon import prompt_format
from takeaways_daemon.context.task_planner import plan_file_tasks
from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.tasks import Task
from training.data.alpaca_record import AlpacaRecord
from training.data.mining import describe
from training.data.mining.bug_injection import inject_bug
from training.data.mining.functions import MinedFunction, parse_quietly

MAX_DOCSTRING_LINES = 12
MAX_COMPLETION_LINES = 30
_STUBS = ("pass", "...", "raise NotImplementedError")


def _record(kind: TaskKind, task: Task, answer: str, source: str) -> AlpacaRecord:
    """The example for `task`: the daemon's instruction and input, and `answer` as the output."""
    input_text = task.input_text()
    return AlpacaRecord(prompt_format.instruction(kind), input_text, answer, kind, source)


def _planned(function: MinedFunction, text: str, kind: TaskKind) -> Task | None:
    """The daemon's task of `kind` for this function in the changed snippet file, if it asks one."""
    for task in plan_file_tasks(function.display_path, text, [kind]):
        if task.symbol == function.qualname or kind == "fix":
            return task
    return None


def _replace_lines(text: str, first: int, last: int, new_lines: list[str]) -> str:
    lines = text.split("\n")
    return "\n".join([*lines[: first - 1], *new_lines, *lines[last:]])


def source_name(function: MinedFunction) -> str:
    """`mined:<top-level package or module>`, the source column of mined records."""
    return f"mined:{function.display_path.split('/', 1)[0].removesuffix('.py')}"


def complete_example(function: MinedFunction, rng: random.Random) -> AlpacaRecord | None:
    """Signature and docstring → the body."""
    definition = function.definition
    if function.docstring is None or definition.docstring_lines is None:
        return None
    first, last = definition.docstring_lines[1] + 1, definition.end_line
    if not 2 <= last - first + 1 <= MAX_COMPLETION_LINES:
        return None
    body = "\n".join(function.lines[first - 1 : last])
    stub = rng.choice(_STUBS)
    text = _replace_lines(function.text, first, last, [definition.body_indent + stub])
    task = _planned(function, text, "complete")
    if task is None:
        return None
    answer = prompt_format.render_answer(
        f"Implement {function.name}", describe.how_it_works(function.node), textwrap.dedent(body)
    )
    return _record("complete", task, answer, source_name(function))


def docstring_example(function: MinedFunction, rng: random.Random) -> AlpacaRecord | None:
    """The function without its docstring → the docstring's text."""
    definition = function.definition
    if function.docstring is None or definition.docstring_lines is None:
        return None
    first, last = definition.docstring_lines
    if first <= definition.signature_end_line:
        return None
    task = _planned(function, _replace_lines(function.text, first, last, []), "docstring")
    if task is None:
        return None
    docstring = _first_paragraphs(function.docstring)
    lowered = docstring.lower()
    covered = ["what it does"]
    if describe.parameters(function.node) and any(
        word in lowered for word in ("param", "arg", ":type", "parameters")
    ):
        covered.append("its parameters")
    if "return" in lowered or "yield" in lowered:
        covered.append("what it gives back")
    if "raise" in lowered:
        covered.append("what it raises")
    listed = covered[0] if len(covered) == 1 else f"{', '.join(covered[:-1])} and {covered[-1]}"
    explanation = f"States {listed}, so a reader need not work it out from the body."
    answer = prompt_format.render_answer(f"Document {function.name}", explanation, docstring)
    return _record("docstring", task, answer, source_name(function))


def _first_paragraphs(docstring: str) -> str:
    """Whole paragraphs of the docstring up to a dozen lines (long reference docs get cut)."""
    kept: list[str] = []
    for paragraph in docstring.split("\n\n"):
        lines = paragraph.splitlines()
        if kept and len(kept) + len(lines) + 1 > MAX_DOCSTRING_LINES:
            break
        kept.extend(([""] if kept else []) + lines)
    return "\n".join(kept[: MAX_DOCSTRING_LINES + 4]).replace('"""', "'''")


def types_example(function: MinedFunction, rng: random.Random) -> AlpacaRecord | None:
    """The function with its annotations stripped → its annotated signature."""
    definition = function.definition
    node = function.node
    if not definition.has_type_hints or not any(
        arg.annotation is not None for arg in describe.parameters(node)
    ):
        return None
    first, last = definition.def_line, definition.signature_end_line
    signature = textwrap.dedent("\n".join(function.lines[first - 1 : last]))
    if not signature.rstrip().endswith(":") or "#" in signature:
        return None
    bare = _stripped_signature(node)
    text = _replace_lines(function.text, first, last, [definition.def_indent + bare])
    task = _planned(function, text, "types")
    if task is None:
        return None
    answer = prompt_format.render_answer(
        f"Annotate {function.name}", describe.types_explanation(node), signature
    )
    return _record("types", task, answer, source_name(function))


def _stripped_signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """`def name(args):` with every annotation removed, on one line."""
    bare = ast.parse(ast.unparse(node)).body[0]
    assert isinstance(bare, ast.FunctionDef | ast.AsyncFunctionDef)
    for arg in ast.walk(bare.args):
        if isinstance(arg, ast.arg):
            arg.annotation = None
    bare.returns = None
    bare.decorator_list = []
    bare.body = [ast.Pass()]
    return ast.unparse(bare).splitlines()[0]


def explain_example(function: MinedFunction, rng: random.Random) -> AlpacaRecord | None:
    """A function (half the time without its docstring) → what it does, takes and returns."""
    definition = function.definition
    if function.docstring is None or definition.docstring_lines is None:
        return None
    text = function.text
    first, last = definition.docstring_lines
    if rng.random() < 0.5 and first > definition.signature_end_line:
        text = _replace_lines(text, first, last, [])  # Teach explaining undocumented code too.
    task = _planned(function, text, "explain")
    if task is None:
        return None
    title = describe.summary(function.docstring).split(". ")[0].rstrip(".")
    if len(title) > prompt_format.MAX_TITLE_CHARS:
        title = f"What {function.name} does"
    title = title[0].upper() + title[1:]
    answer = prompt_format.render_answer(
        title, describe.explanation(function.node, function.docstring), None
    )
    return _record("explain", task, answer, source_name(function))


def fix_example(function: MinedFunction, rng: random.Random) -> AlpacaRecord | None:
    """The function with an injected bug, and its error or symptom → the original code."""
    bug = inject_bug(function, rng)
    if bug is None:
        return None
    if bug.breaks_syntax:
        # The daemon's own fix task: Python's error message and the window around it.
        task = _planned(function, bug.text, "fix")
        if task is None or task.error is None:
            return None
        # Every syntax bug keeps the line count, so the window's lines match the original's.
        fixed = "\n".join(function.text.split("\n")[task.shown_start - 1 : task.shown_end])
    else:
        task = _semantic_fix_task(function, bug.text, bug.symptom)
        if task is None:
            return None
        fixed = "\n".join(function.lines[task.shown_start - 1 : task.shown_end])
    fixed = textwrap.dedent(fixed)
    if fixed == textwrap.dedent(task.shown_code):
        return None
    title, explanation = _FIX_STORIES[bug.bug]
    answer = prompt_format.render_answer(title, explanation.format(name=function.name), fixed)
    return _record("fix", task, answer, source_name(function))


def _semantic_fix_task(function: MinedFunction, text: str, symptom: str | None) -> Task | None:
    """A fix task shaped like the daemon's, for a bug that Python itself cannot see."""
    if parse_quietly(text) is None:
        return None
    shown = _planned(function, text, "explain")
    if shown is None:
        return None
    return Task(
        kind="fix",
        path=shown.path,
        language=shown.language,
        file_text=text,
        shown_start=shown.shown_start,
        shown_end=shown.shown_end,
        target_start=shown.shown_start,
        target_end=shown.shown_end,
        symbol=shown.symbol,
        error=symptom,
        frameworks=shown.frameworks,
    )


# For each injected bug: the answer's title, and its explanation ({name}: the function).
_FIX_STORIES = {
    "wrong-operator": (
        "Use the right operator",
        "An operator was swapped for another one, so {name} computed the wrong value.",
    ),
    "wrong-comparison": (
        "Restore the comparison",
        "The comparison was inverted or lost its boundary, so {name} took the wrong branch.",
    ),
    "off-by-one": (
        "Fix the off-by-one",
        "A bound was shifted by one, so {name} went one step too far or stopped one short.",
    ),
    "wrong-name": (
        "Use the right variable",
        "A name in {name} was misspelt or mixed up with another variable.",
    ),
    "missing-return": (
        "Return the result",
        "{name} computed its result but never returned it, so callers got None.",
    ),
    "swapped-arguments": (
        "Pass the arguments in order",
        "Two arguments of a call in {name} were swapped.",
    ),
    "missing-colon": (
        "Add the missing colon",
        "A block header in {name} lacked its closing colon.",
    ),
    "unclosed-bracket": (
        "Close the bracket",
        "A call in {name} opened a parenthesis that was never closed.",
    ),
    "missing-comma": (
        "Add the missing comma",
        "Two arguments of a call in {name} had no comma between them.",
    ),
    "misspelt-keyword": (
        "Spell return correctly",
        "The `return` keyword in {name} was misspelt, which is a syntax error.",
    ),
}

Builder = Callable[[MinedFunction, random.Random], AlpacaRecord | None]
BUILDERS: dict[TaskKind, Builder] = {
    "fix": fix_example,
    "complete": complete_example,
    "docstring": docstring_example,
    "types": types_example,
    "explain": explain_example,
}
