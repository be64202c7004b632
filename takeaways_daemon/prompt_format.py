"""The one prompt format: used by the daemon, the training-data formatter and the Modelfile.

Every exchange is Alpaca-shaped: an instruction, an input and a response. The response is a
single JSON object, so it is trivial to parse and can be enforced while decoding (a JSON schema
for llama-cpp-python's grammar and for Ollama's `format`). Fine-tuning teaches the same shape.

>>> prompt = render_prompt("Say hi.", "nothing")
>>> prompt.endswith(RESPONSE_HEADER)
True
>>> parse_answer('{"title": "t", "explanation": "e", "code": "x = 1"}', "fix").code
'x = 1'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from takeaways_daemon.errors import MalformedAnswer
from takeaways_daemon.settings import TaskKind

SYSTEM_PROMPT = (
    "You are takeaways, a careful coding assistant running on the developer's machine. "
    "Answer with one JSON object and nothing else."
)
INSTRUCTION_HEADER = "### Instruction:\n"
INPUT_HEADER = "### Input:\n"
RESPONSE_HEADER = "### Response:\n"
# Where the model must stop if it keeps talking past its answer (also the Modelfile's stops).
STOP_SEQUENCES = ("\n### Instruction:", "\n### Input:", "\n### Response:")

MAX_TITLE_CHARS = 120
MAX_EXPLANATION_CHARS = 1200
MAX_CODE_CHARS = 6000

# What each kind asks for. The `code` field's meaning differs by kind, and the daemon turns it
# into a patch accordingly (see suggestion_builder).
INSTRUCTIONS: dict[TaskKind, str] = {
    "fix": (
        "The code below has an error. Rewrite the code so the error is gone and nothing else "
        "changes. Put the corrected code in \"code\", a short title in \"title\" and what was "
        "wrong in \"explanation\"."
    ),
    "complete": (
        "Complete the function below. Put only the function body (the lines after the "
        "signature and docstring) in \"code\", a short title in \"title\" and how it works in "
        "\"explanation\"."
    ),
    "docstring": (
        "Write a docstring for the function below. Put only the docstring text, without "
        "quotes, in \"code\", a short title in \"title\" and why it helps in \"explanation\"."
    ),
    "types": (
        "Add type hints to the signature of the function below. Put only the annotated "
        "signature line (from `def` to the colon) in \"code\", a short title in \"title\" and "
        "the chosen types in \"explanation\"."
    ),
    "explain": (
        "Explain what the code below does: its purpose, its parameters, what it returns and "
        "any pitfalls. Put a one-line summary in \"title\" and the explanation in "
        "\"explanation\". Leave \"code\" empty."
    ),
}


@dataclass(frozen=True)
class Answer:
    """A parsed model answer."""

    kind: TaskKind
    title: str
    explanation: str
    code: str


def answer_schema(kind: TaskKind) -> dict[str, Any]:
    """The JSON schema every answer of `kind` must follow (used for constrained decoding)."""
    code_limit = 0 if kind == "explain" else MAX_CODE_CHARS
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE_CHARS},
            "code": {"type": "string", "maxLength": code_limit},
            "explanation": {"type": "string", "maxLength": MAX_EXPLANATION_CHARS},
        },
        "required": ["title", "code", "explanation"],
        "additionalProperties": False,
    }


def render_prompt(instruction: str, input_text: str, system: str = SYSTEM_PROMPT) -> str:
    """The full prompt text a model sees, ending where its response begins."""
    parts = [f"{system}\n\n"] if system else []
    parts.append(f"{INSTRUCTION_HEADER}{instruction.strip()}\n\n")
    if input_text:
        parts.append(f"{INPUT_HEADER}{input_text.rstrip()}\n\n")
    parts.append(RESPONSE_HEADER)
    return "".join(parts)


def render_answer(title: str, explanation: str, code: str) -> str:
    """The exact text a model should produce: what training targets and the parser accepts."""
    return json.dumps({"title": title, "code": code, "explanation": explanation}, ensure_ascii=False)


def parse_answer(text: str, kind: TaskKind) -> Answer:
    """Parse a model's response, raising `MalformedAnswer` unless it is exactly one valid object.

    >>> parse_answer('{"title": "", "code": "", "explanation": ""}', "fix")
    Traceback (most recent call last):
    ...
    takeaways_daemon.errors.MalformedAnswer: empty title
    """
    stripped = text.strip()
    # Tolerate a Markdown fence around the object: untuned models add one when unconstrained.
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as error:
        raise MalformedAnswer(f"not JSON: {error.msg} at char {error.pos}") from None
    if not isinstance(value, dict):
        raise MalformedAnswer("the answer is not a JSON object")
    fields = {}
    for key in ("title", "explanation", "code"):
        field = value.get(key, "")
        if not isinstance(field, str):
            raise MalformedAnswer(f"{key} is not a string")
        fields[key] = field
    title = " ".join(fields["title"].split())
    if not title:
        raise MalformedAnswer("empty title")
    if kind != "explain" and not fields["code"].strip():
        raise MalformedAnswer("empty code")
    if kind == "explain" and not fields["explanation"].strip():
        raise MalformedAnswer("empty explanation")
    return Answer(kind, title[:MAX_TITLE_CHARS], fields["explanation"].strip(), fields["code"])


def format_training_example(instruction: str, input_text: str, output: str) -> tuple[str, str]:
    """An Alpaca example as (prompt, completion): training puts the loss on the completion only."""
    return render_prompt(instruction, input_text), output


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
) -> str:
    """The input section for a code task: where the code is, what is known, and the code itself.

    The code comes last so that two prompts on the same file share the longest possible prefix
    up to the first changed line (the embedded backend reuses the prefill of that prefix).

    >>> print(render_task_input(path="a.py", language="python", code="x = (", error="line 1: '(' was never closed"))
    File: a.py (python)
    Error: line 1: '(' was never closed
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
    fence = "````" if "```" in code else "```"
    lines.append(f"Code:\n{fence}{language}\n{code.rstrip()}\n{fence}")
    return "\n".join(lines)
