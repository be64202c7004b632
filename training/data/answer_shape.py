"""Free-form answers (CodeAlpaca, CodeInstruct, local files, StackOverflow) in our answer format.

The rule, applied to every source whose output was not written for takeaways:

- an output that already follows the format (`Title:` … `Explanation:`) is kept as it is;
- the title is the instruction's first sentence, cut at a word boundary to 80 characters;
- code is the output's fenced blocks (joined by a blank line), or the whole output when it has no
  fence but reads as code (it parses as Python, most of its lines look like code, or the
  instruction asks for code and the output is not written in sentences);
- the explanation is the prose outside the fences; code with no prose gets one sentence that
  restates the task, so that every answer has the section the daemon's grammar demands;
- an output without code is prose: a title and the prose as the explanation (the `explain`
  shape).

The fence's language comes from the block's own tag, else Python when the code parses, else a
language the instruction names, else none.
"""

from __future__ import annotations

import ast
import re
import warnings

from takeaways_daemon import prompt_format

MAX_TITLE_CHARS = 80
_FENCED = re.compile(r"^[ \t]*(`{3,})[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)
_ALREADY_SHAPED = re.compile(r"\A\s*Title:[^\n]*\n(?:.*\n)?\s*Explanation:", re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s|\n")
_CODE_LINE = re.compile(r"[;{}()=\[\]<>]|^\s*(def|class|return|import|for|if|while|#)\b")
_LANGUAGE_ALIASES = {
    "py": "python", "python3": "python", "js": "javascript", "ts": "typescript",
    "sh": "bash", "shell": "bash", "c++": "cpp", "cs": "csharp", "c#": "csharp",
    "golang": "go", "rb": "ruby", "rs": "rust",
}  # fmt: skip
# Languages an instruction may name, in the order they are tried ("JavaScript" before "Java").
_NAMED_LANGUAGES = (
    ("javascript", "javascript"), ("typescript", "typescript"), ("java", "java"),
    ("c++", "cpp"), ("c#", "csharp"), ("golang", "go"), ("rust", "rust"), ("ruby", "ruby"),
    ("php", "php"), ("sql", "sql"), ("html", "html"), ("css", "css"), ("bash", "bash"),
    ("swift", "swift"), ("kotlin", "kotlin"), ("python", "python"),
)  # fmt: skip


def title_from(instruction: str) -> str:
    """A short title: the instruction's first sentence, at most 80 characters, no final stop."""
    first = _SENTENCE_END.split(instruction.strip(), maxsplit=1)[0].strip()
    first = " ".join(first.split()) or "Answer"
    if len(first) > MAX_TITLE_CHARS:
        first = first[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
    return first.rstrip(".:;,!? ") or "Answer"


def parses_as_python(code: str) -> bool:
    """Whether `code` is Python that is more than a lone name or literal."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return bool(tree.body)
    return not isinstance(tree.body[0].value, ast.Name | ast.Constant)


_ASKS_FOR_CODE = re.compile(
    r"(?i)\b(write|create|implement|code|function|query|program|script|class|method|generate|"
    r"construct|develop|rewrite|edit|modify|refactor|fix|convert|translate)\b"
)
_SENTENCE = re.compile(r"\b[a-z]{2,}[.!?](\s|$)")


def _reads_as_sentences(text: str) -> bool:
    words = [word for word in text.split() if word.isalpha()]
    lower = sum(word.islower() for word in words)
    return bool(_SENTENCE.search(text)) and lower >= 0.6 * max(1, len(words))


def _looks_like_code(text: str, instruction: str = "") -> bool:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return False
    if parses_as_python(text.strip()) and not _is_prose(text):
        return True
    code_lines = sum(1 for line in lines if _CODE_LINE.search(line))
    if len(lines) >= 2 and code_lines / len(lines) >= 0.6:
        return True
    return bool(_ASKS_FOR_CODE.search(instruction)) and not _reads_as_sentences(text)


def _is_prose(text: str) -> bool:
    """Text made of words and sentences (Python happily parses `a` or `not x`)."""
    words = text.split()
    return len(words) >= 4 and sum(word.isalpha() for word in words) / len(words) > 0.7


def _language(tag: str, code: str, instruction: str) -> str:
    tag = tag.lower()
    if tag:
        return _LANGUAGE_ALIASES.get(tag, tag)
    if parses_as_python(code):
        return "python"
    lowered = instruction.lower()
    for word, language in _NAMED_LANGUAGES:
        if re.search(rf"(?<![\w+#]){re.escape(word)}(?![\w+#])", lowered):
            return language
    return ""


def to_answer_format(instruction: str, output: str) -> str:
    """`output` rewritten as a takeaways answer (see the module docstring for the rule)."""
    output = output.strip()
    if _ALREADY_SHAPED.match(output):
        return output
    title = title_from(instruction)
    blocks = list(_FENCED.finditer(output))
    if blocks:
        code = "\n\n".join(block.group(3).rstrip() for block in blocks)
        tag = blocks[0].group(2)
        prose = _FENCED.sub(" ", output)
    elif _looks_like_code(output, instruction):
        code, tag, prose = output, "", ""
    else:
        return prompt_format.render_answer(title, output, None)
    explanation = (
        " ".join(prose.split()) or f"It does what was asked: {title[0].lower()}{title[1:]}."
    )
    language = _language(tag, code, instruction)
    return prompt_format.render_answer(title, explanation, code.strip("\n"), language)
