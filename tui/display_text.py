"""Untrusted text made inert for the screen, and the small formats rows share.

Model and file text reaches the TUI as plain strings. Two things could go wrong if it were shown
as is: terminal control sequences (a retitled terminal, a cleared screen) and Rich/Textual
markup (`[link=...]`, styles that fake UI). Every such string goes through `inert()`: control
sequences are stripped and the result is a `Text`, which is never parsed as markup.
"""

from __future__ import annotations

from typing import Protocol

from rich.text import Text

from takeaways_daemon.sanitize import strip_control

KIND_STYLES = {
    "fix": "bold red",
    "complete": "bold green",
    "docstring": "bold cyan",
    "types": "bold magenta",
    "explain": "bold blue",
}


def clean(value: object) -> str:
    """A model or file string with terminal control sequences removed."""
    return strip_control(str(value))


def inert(value: object, style: str = "") -> Text:
    """Untrusted text as a `Text`: shown literally, never interpreted as markup or escapes.

    >>> inert("[bold red]x[/] \\x1b[2J").plain
    '[bold red]x[/] '
    """
    return Text(clean(value), style=style, no_wrap=False)


def kind_text(kind: object) -> Text:
    """A suggestion's kind, coloured by kind (an unknown one in bold)."""
    return inert(kind, KIND_STYLES.get(str(kind), "bold"))


def one_line(value: object, width: int) -> str:
    """Cleaned text on one line, cut to `width` characters with an ellipsis.

    >>> one_line("Add the\\nmissing colon", 12)
    'Add the mis…'
    """
    text = " ".join(clean(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def age_text(seconds: float) -> str:
    """A short age: 5s, 3m, 2h, 4d.

    >>> [age_text(s) for s in (4.2, 185, 7300, 400_000)]
    ['4s', '3m', '2h', '4d']
    """
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class Located(Protocol):
    """Anything with a place in a file: a suggestion or a history item."""

    @property
    def path(self) -> str: ...

    @property
    def start_line(self) -> int: ...


def location(item: Located) -> str:
    """`path:line` of a suggestion or history item."""
    return f"{clean(item.path)}:{item.start_line}"
