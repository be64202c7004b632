"""Turn a parsed answer into a checked suggestion, or reject it.

The `code` field of an answer means something different for each task kind (see the prompt
format's instructions); this module turns it into a line-range patch on the task's target lines
and keeps it only if it applies to the analysed text, changes something, and, for Python, leaves
a file that still parses.
"""

from __future__ import annotations

import ast
import re
import textwrap

from takeaways_daemon.errors import PatchRejected
from takeaways_daemon.few_shot import example_code
from takeaways_daemon.patches import LinePatch, sha256_text
from takeaways_daemon.prompt_format import Answer
from takeaways_daemon.sanitize import strip_control
from takeaways_daemon.suggestions import Suggestion
from takeaways_daemon.tasks import Task


def _target_text(task: Task) -> str:
    lines = task.file_text.splitlines(keepends=True)
    return "".join(lines[task.target_start - 1 : task.target_end])


def _strip_fence(code: str) -> str:
    """Drop a Markdown fence the model may wrap code in."""
    lines = code.strip("\n").splitlines()
    if lines and lines[0].lstrip().startswith("```"):
        lines = lines[1:]
        if lines and lines[-1].strip().startswith("```"):
            lines = lines[:-1]
    return "\n".join(lines)


def _reindent(code: str, indent: str) -> str:
    body = textwrap.dedent(_strip_fence(code))
    return textwrap.indent(body.rstrip() + "\n", indent, lambda line: bool(line.strip()))


# A run of this many digits is a number the model made up ("Return 0.8746741293590098"), never
# something a docstring of the function it was shown needs.
_INVENTED_NUMBER = re.compile(r"\d[\d_]{5,}|\d\.\d{5,}")
_MIN_COPIED_LINE = 12


def docstring_problem(text: str, code: str) -> str | None:
    """Why `text` is not a docstring (prose about `code`), or None when it is one.

    >>> docstring_problem("is_hidden(path)", "def is_hidden(path): ...")
    'it is code, not a description'
    >>> docstring_problem("Return whether the file name starts with a dot.", "") is None
    True
    """
    try:
        expression = ast.parse(text, mode="eval").body
    except SyntaxError:
        expression = None
    # A lone name ("Hidden") is a word, not code; anything else that parses is code.
    if expression is not None and not isinstance(expression, ast.Name):
        return "it is code, not a description"
    if len(text.split()) < 2:
        return "it is a single word"
    if _INVENTED_NUMBER.search(text):
        return "it holds a long number the code does not"
    copied = [
        line.strip()
        for line in code.splitlines()
        if len(line.strip()) >= _MIN_COPIED_LINE and line.strip() in text
    ]
    if copied:
        return f"it copies the code ({copied[0]!r})"
    return None


def _docstring_block(text: str, indent: str, code: str) -> str:
    text = text.strip().strip('"').strip("'").strip()
    if not text:
        raise PatchRejected("the docstring is empty")
    problem = docstring_problem(text, code)
    if problem is not None:
        raise PatchRejected(f"the docstring is not prose about the function: {problem}")
    text = text.replace('"""', r"\"\"\"")
    lines = textwrap.dedent(text).splitlines()
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""\n'
    body = "".join(f"{indent}{line}\n" if line.strip() else "\n" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}{indent}"""\n'


def _copies_the_example(task: Task, answer: Answer) -> bool:
    """Whether the answer's code is the worked example's (a base model echoing the few-shot)."""
    shown, example = example_code(task.kind)
    if example is None or " ".join(task.shown_code.split()) == " ".join(shown.split()):
        return False  # the task is the example itself: its answer is the right one
    return " ".join(answer.code.split()).strip("\"'") == " ".join(example.split())


def _replacement(task: Task, answer: Answer) -> str:
    if _copies_the_example(task, answer):
        raise PatchRejected("the answer copies the worked example instead of answering")
    if task.kind == "docstring":
        return _docstring_block(answer.code, task.indent, task.shown_code) + _target_text(task)
    if task.kind == "types":
        signature = _reindent(answer.code, task.indent)
        head = signature.lstrip()
        if not head.startswith(("def ", "async def ")) or not head.rstrip().endswith(":"):
            raise PatchRejected("the annotated signature is not a `def …:` line")
        name = task.symbol.rsplit(".", 1)[-1] if task.symbol else None
        if name and f"def {name}(" not in head:
            raise PatchRejected(f"the annotated signature renames {name}")
        return signature
    return _reindent(answer.code, task.indent)


def build_suggestion(
    task: Task, answer: Answer, *, backend: str = "", model: str = ""
) -> Suggestion:
    """A suggestion for `task` from `answer`; raises `PatchRejected` if it would not be safe."""
    title = strip_control(answer.title)
    explanation = strip_control(answer.explanation)
    original = _target_text(task)
    sha = sha256_text(task.file_text)
    if task.kind == "explain":
        return Suggestion(
            kind=task.kind, path=task.path, start_line=task.target_start,
            end_line=task.target_end, replacement=original, original=original, title=title,
            explanation=explanation, file_sha256=sha, symbol=task.symbol, backend=backend,
            model=model,
        )  # fmt: skip
    replacement = strip_control(_replacement(task, answer))
    patch = LinePatch(task.path, task.target_start, task.target_end, replacement, original)
    patched = patch.apply_to(task.file_text)
    if patched == task.file_text:
        raise PatchRejected("the answer changes nothing")
    if task.language == "python":
        try:
            ast.parse(patched)
        except SyntaxError as error:
            raise PatchRejected(
                f"the patched file does not parse: {error.msg} (line {error.lineno})"
            ) from None
    return Suggestion(
        kind=task.kind, path=task.path, start_line=task.target_start, end_line=task.target_end,
        replacement=replacement, original=original, title=title, explanation=explanation,
        diff=patch.unified_diff(task.file_text), file_sha256=sha, symbol=task.symbol,
        backend=backend, model=model,
    )  # fmt: skip
