"""Worked examples shown before the real task when the model was not tuned on our format.

A base model (the packaged gemma-3-270m) follows the answer format far more reliably after one
demonstration of it; the fine-tuned takeaways model has learned it and gets none.
"""

from __future__ import annotations

from takeaways_daemon import prompt_format
from takeaways_daemon.kinds import TaskKind

_GREET = "def greet(name):\n    print('hi', name)"

# (input code, error or None, title, code answer or None, explanation) for each kind.
_EXAMPLES: dict[TaskKind, tuple[str, str | None, str, str | None, str]] = {
    "fix": (
        "def greet(name)\n    print('hi', name)",
        "line 1, column 16: expected ':'",
        "Add the missing colon",
        _GREET,
        "The def line lacked its closing colon.",
    ),
    "complete": (
        'def area(width, height):\n    """Return the area of a rectangle."""\n    pass',
        None,
        "Multiply the sides",
        "return width * height",
        "A rectangle's area is its width times its height.",
    ),
    "docstring": (
        "def clamp(value, low, high):\n    return max(low, min(value, high))",
        None,
        "Document clamp",
        "Return value limited to the range low..high.",
        "States what the function returns and how its arguments bound it.",
    ),
    "types": (
        "def repeat(text, times):\n    return text * times",
        None,
        "Annotate repeat",
        "def repeat(text: str, times: int) -> str:",
        "text is repeated, so it is a str; times counts, so it is an int.",
    ),
    "explain": (
        _GREET,
        None,
        "Prints a greeting",
        None,
        "greet takes a name and prints 'hi' followed by it. It returns None.",
    ),
}


def example_code(kind: TaskKind) -> tuple[str, str | None]:
    """`kind`'s worked example as (the code it shows, its code answer; None for `explain`)."""
    return _EXAMPLES[kind][0], _EXAMPLES[kind][3]


def _sections(kind: TaskKind, language: str) -> tuple[str, str, str]:
    """The worked example of `kind` as (instruction, input, answer) in the shared format."""
    code, error, title, answer_code, explanation = _EXAMPLES[kind]
    input_text = prompt_format.render_task_input(
        path="example.py", language=language, code=code, error=error
    )
    answer = prompt_format.render_answer(title, explanation, answer_code, language)
    return prompt_format.instruction(kind, language), input_text, answer


def demonstration(kind: TaskKind, language: str = "python") -> str:
    """One complete exchange of `kind` in the shared format, to put before the real prompt."""
    instruction_text, input_text, answer = _sections(kind, language)
    return f"{prompt_format.render_prompt(instruction_text, input_text)}{answer}\n\n"


def demonstration_turns(kind: TaskKind, language: str = "python") -> tuple[str, str]:
    """The same exchange as chat turns: (the user's turn, the assistant's answer)."""
    instruction_text, input_text, answer = _sections(kind, language)
    return prompt_format.render_user_turn(instruction_text, input_text), answer
