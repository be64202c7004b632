"""The one prompt format: used by the daemon, the training-data formatter and the Modelfile.

Every exchange is Alpaca-shaped: an instruction, an input and a response. The response is a
short sectioned text that is trivial to parse and that small models follow well (tried on the
packaged gemma-3-270m: code inside a Markdown fence comes out right far more often than code
escaped inside a JSON string):

    Title: Add the missing colon
    ```python
    def add(a, b):
        return a + b
    ```
    Explanation: The def line lacked its closing colon.

`explain` answers have no code block. `answer_grammar()` enforces the shape while decoding
(llama.cpp GBNF); fine-tuning teaches the same shape, so Ollama needs no grammar.

>>> answer = parse_answer(render_answer("Fix it", "Was broken.", "x = 1"), "fix")
>>> (answer.title, answer.code, answer.explanation)
('Fix it', 'x = 1', 'Was broken.')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from takeaways_daemon.errors import MalformedAnswer
from takeaways_daemon.kinds import TaskKind

SYSTEM_PROMPT = (
    "You are takeaways, a careful coding assistant running on the developer's machine. "
    "Answer exactly in the requested format."
)
INSTRUCTION_HEADER = "### Instruction:\n"
INPUT_HEADER = "### Input:\n"
RESPONSE_HEADER = "### Response:\n"
# Where the model must stop if it keeps talking past its answer (also the Modelfile's stops).
STOP_SEQUENCES = ("\n### Instruction:", "\n### Input:", "\n### Response:")

MAX_TITLE_CHARS = 120
MAX_EXPLANATION_CHARS = 2000
MAX_CODE_CHARS = 8000

_FORMAT_WITH_CODE = (
    "Answer with a line `Title: ` and a short title, then the code in a ```{lang} fence, "
    "then a line `Explanation: ` and {explain}."
)
_FORMAT_WITHOUT_CODE = (
    "Answer with a line `Title: ` and a one-line summary, then a line `Explanation: ` and "
    "the explanation."
)

# What each kind asks for. The code block means something different for each kind, and the
# daemon turns it into a patch accordingly (see suggestion_builder).
TASK_INSTRUCTIONS: dict[TaskKind, str] = {
    "fix": "The code below has an error. Rewrite the code so the error is gone and nothing "
    "else changes.",
    "complete": "Complete the function below. Write only the function body: the lines after "
    "its signature and docstring.",
    "docstring": "Write a docstring for the function below. Write only the docstring's text, "
    "without quotes.",
    "types": "Add type hints to the function below. Write only its annotated signature, "
    "from `def` to the colon.",
    "explain": "Explain what the code below does: its purpose, its parameters, what it "
    "returns and any pitfalls.",
}
_EXPLANATION_ASKS: dict[TaskKind, str] = {
    "fix": "what was wrong",
    "complete": "how it works",
    "docstring": "why it helps",
    "types": "the chosen types",
    "explain": "the explanation",
}


FOLLOW_UP_INSTRUCTION = (
    "The developer was shown the suggestion below for their code. Answer their question about "
    "it in a few short paragraphs of plain prose."
)


def follow_up_instruction(question: str, title: str, explanation: str) -> str:
    """The instruction for a follow-up question about a suggestion (answered in free prose)."""
    return (
        f"{FOLLOW_UP_INSTRUCTION}\nSuggestion: {' '.join(title.split())}\n"
        f"Explanation given: {explanation.strip()}\nQuestion: {question.strip()}"
    )


def instruction(kind: TaskKind, language: str = "python") -> str:
    """The full instruction for a task kind: what to do and how to answer."""
    if kind == "explain":
        answer_format = _FORMAT_WITHOUT_CODE
    else:
        answer_format = _FORMAT_WITH_CODE.format(lang=language, explain=_EXPLANATION_ASKS[kind])
    return f"{TASK_INSTRUCTIONS[kind]} {answer_format}"


@dataclass(frozen=True)
class Answer:
    """A parsed model answer."""

    kind: TaskKind
    title: str
    explanation: str
    code: str


ChatRole = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One turn of the prompt, for a backend that applies the model's own chat template."""

    role: ChatRole
    content: str


def render_user_turn(instruction_text: str, input_text: str) -> str:
    """The instruction and input sections: what the developer asks, without the response header.

    >>> print(render_user_turn("Fix it.", "x = ("))
    ### Instruction:
    Fix it.
    <BLANKLINE>
    ### Input:
    x = (
    """
    turn = f"{INSTRUCTION_HEADER}{instruction_text.strip()}"
    if input_text:
        turn += f"\n\n{INPUT_HEADER}{input_text.rstrip()}"
    return turn


def render_prompt(instruction_text: str, input_text: str, system: str = SYSTEM_PROMPT) -> str:
    """The full prompt text a model sees, ending where its response begins."""
    system_part = f"{system}\n\n" if system else ""
    return f"{system_part}{render_user_turn(instruction_text, input_text)}\n\n{RESPONSE_HEADER}"


def chat_messages(
    instruction_text: str,
    input_text: str,
    *,
    examples: Sequence[tuple[str, str]] = (),
    system: str = SYSTEM_PROMPT,
) -> tuple[ChatMessage, ...]:
    """The prompt as chat turns: the system line, each worked example, then the task.

    `examples` are (user turn, answer) pairs, as `few_shot.demonstration_turns` makes them. The
    turns hold the same text as `render_prompt`; only the layout between them is the model's.
    """
    messages = [ChatMessage("system", system)] if system else []
    for user_turn, answer in examples:
        messages += [ChatMessage("user", user_turn), ChatMessage("assistant", answer)]
    messages.append(ChatMessage("user", render_user_turn(instruction_text, input_text)))
    return tuple(messages)


def render_answer(title: str, explanation: str, code: str | None, language: str = "python") -> str:
    """The exact text a model should produce: what training targets and the parser accepts."""
    title = " ".join(title.split())
    explanation = explanation.strip()
    if code is None:
        return f"Title: {title}\nExplanation: {explanation}"
    return f"Title: {title}\n```{language}\n{code.rstrip()}\n```\nExplanation: {explanation}"


# The code block ends at its closing fence, or (tolerated: small models forget the fence) where
# a line starts with `Explanation:`.
_ANSWER = re.compile(
    r"\A\s*Title:[ \t]*(?P<title>[^\n]*)\n"
    r"(?:[ \t]*```[\w+#.-]*[ \t]*\n(?P<code>.*?)(?:^[ \t]*```[ \t]*\n|(?=^Explanation:)))?"
    r"\s*Explanation:[ \t]*(?P<explanation>.*)\Z",
    re.DOTALL | re.MULTILINE,
)


def parse_answer(text: str, kind: TaskKind) -> Answer:
    """Parse a model's response, raising `MalformedAnswer` unless every section is there.

    >>> parse_answer("Title: \\nExplanation: nothing", "explain")
    Traceback (most recent call last):
    ...
    takeaways_daemon.errors.MalformedAnswer: empty title
    """
    for stop in STOP_SEQUENCES:
        text = text.split(stop, 1)[0]
    match = _ANSWER.match(text.replace("\r\n", "\n"))
    if match is None:
        raise MalformedAnswer("the answer lacks a `Title:` line, a code block or `Explanation:`")
    title = " ".join(match["title"].split())
    code = (match["code"] or "").rstrip("\n")
    explanation = match["explanation"].strip()
    if not title:
        raise MalformedAnswer("empty title")
    if len(title) > MAX_TITLE_CHARS * 4 or len(code) > MAX_CODE_CHARS:
        raise MalformedAnswer("the answer is too long")
    if kind != "explain" and not code.strip():
        raise MalformedAnswer("the answer has no code")
    if kind == "explain" and not explanation:
        raise MalformedAnswer("empty explanation")
    return Answer(kind, title[:MAX_TITLE_CHARS], explanation[:MAX_EXPLANATION_CHARS], code)


def answer_grammar(
    kind: TaskKind, language: str = "python", code_rules: tuple[str, ...] = ()
) -> str:
    """A llama.cpp GBNF grammar that only admits well-formed answers of `kind`.

    `code_rules` narrow the fenced code to a rule named `code` (with the rules it uses); without
    them any lines go, short of one that would close the fence early.
    """
    if kind == "explain":
        block = ""
    elif code_rules:
        block = f'"```{language}\\n" code "\\n```\\n" '
    else:
        block = f'"```{language}\\n" codeline codeline* "```\\n" '
    rules = [
        f'root ::= "Title: " text "\\n" {block}"Explanation: " text more? more? more?',
        "text ::= [^\\n`] [^\\n]*",
        'more ::= "\\n" [^\\n#`] [^\\n]*',
    ]
    if code_rules:
        return "\n".join([*rules, *code_rules])
    rules.append(_CODE_LINE_RULE)
    return "\n".join(rules)


def _line_not_starting_with(words: tuple[str, ...]) -> str:
    """GBNF alternatives for one line (with its newline) that starts with none of `words`.

    GBNF has no negative lookahead, so each word is spelt out: a line may share any proper
    prefix of it, as long as the next character differs (or the line ends there).
    """
    firsts = "".join(sorted({word[0] for word in words}))
    alternatives = ['"\\n"', f'[^\\n{_class_escape(firsts)}] [^\\n]* "\\n"']
    for word in words:
        for cut in range(1, len(word)):
            prefix, following = word[:cut], word[cut]
            alternatives.append(
                f'{_gbnf_literal(prefix)} ([^\\n{_class_escape(following)}] [^\\n]*)? "\\n"'
            )
    return " | ".join(alternatives)


def _class_escape(chars: str) -> str:
    return "".join(f"\\{char}" if char in "]^-\\" else char for char in chars)


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Any code line except one that starts a fence (it would end the block early), a line starting
# `Explanation` (tried on real code, the base wrote its explanation inside an unclosed block),
# or `### ` (a prompt header: the stop sequences end the answer there, with the block open).
_CODE_LINE_RULE = "codeline ::= " + _line_not_starting_with(("```", "Explanation", "### "))


def format_training_example(instruction_text: str, input_text: str, output: str) -> tuple[str, str]:
    """An Alpaca example as (prompt, completion): training puts the loss on the completion only."""
    return render_prompt(instruction_text, input_text), output


def ollama_template() -> str:
    """The Modelfile TEMPLATE: the same layout, with the user's message as the instruction."""
    return (
        "{{ if .System }}{{ .System }}\n\n{{ end }}"
        f"{INSTRUCTION_HEADER}{{{{ .Prompt }}}}\n\n"
        f"{RESPONSE_HEADER}{{{{ .Response }}}}"
    )


def render_task_input(
    *,
    path: str,
    language: str,
    code: str,
    symbol: str | None = None,
    error: str | None = None,
    frameworks: tuple[str, ...] = (),
    failure: str | None = None,
) -> str:
    """The input section for a code task: where the code is, what is known, and the code itself.

    `failure` is a failing test's evidence (the end of its traceback), shown after the error.
    The code comes last so that two prompts on the same file share the longest possible prefix
    up to the first changed line (the embedded backend reuses the prefill of that prefix).

    >>> print(render_task_input(path="a.py", language="python", code="x = (", error="unclosed"))
    File: a.py (python)
    Error: unclosed
    Code:
    ```python
    x = (
    ```
    """
    lines = [f"File: {path} ({language})"]
    if frameworks:
        lines.append(f"Uses: {', '.join(frameworks)}")
    if symbol:
        lines.append(f"Symbol: {symbol}")
    if error:
        lines.append(f"Error: {error}")
    if failure:
        lines.append(f"Failure:\n{failure.rstrip()}")
    fence = "````" if "```" in code else "```"
    lines.append(f"Code:\n{fence}{language}\n{code.rstrip()}\n{fence}")
    return "\n".join(lines)


LINE_STOP = "\n"
"""A line prompt's answer ends with its line."""


def render_line_prompt(
    *, path: str, evidence: str, code_before: str, indent: str, current: str | None = None
) -> str:
    """The prompt that asks the model to write one line of code again: a plain continuation.

    Shown the line it should replace, a small model copies it back (the packaged gemma-3-270m
    did for 9 of 10 bugs that parse, even sampled at 0.8). Here it sees the evidence as comments,
    then the code up to the line, ending with its indentation; it writes the rest of the line,
    and the daemon splices it in and checks the result. The answer is one line (`LINE_STOP`), so
    it has no title, fence or explanation to get wrong. With `current` (the code as it is now)
    the model also sees, as comments, what follows the line, at the price of seeing the wrong
    line too: a missing `return` on the last line is only guessable from there.

    >>> print(render_line_prompt(path="a.py", evidence="assert 6 == 10", code_before="def f():",
    ...                          indent="    "), end="|")
    # a.py
    # assert 6 == 10
    def f():
        |
    >>> print(render_line_prompt(path="a.py", evidence="assert None == 1", code_before="def f():",
    ...                          indent="    ", current="def f():\\n    1"), end="|")
    # a.py
    # assert None == 1
    # The code as it is now (wrong):
    # def f():
    #     1
    # Fixed:
    def f():
        |
    """
    lines = [path, *evidence.splitlines()]
    if current is not None:
        lines += ["The code as it is now (wrong):", *current.splitlines(), "Fixed:"]
    comments = "".join(f"# {line}".rstrip() + "\n" for line in lines)
    before = f"{code_before}\n" if code_before.strip() else ""  # blank lines kept: they're code
    return f"{comments}{before}{indent}"
