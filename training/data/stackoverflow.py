"""StackOverflow Q&A exports mapped to the Alpaca shape.

Question title → instruction, question body → input, accepted answer → output. Two shapes are
read: the Stack Exchange API's (`title`, `body`, `answers: [{body, is_accepted}]`) and flat
exports (`title`, `question`/`body`/`question_body`, `accepted_answer`/`answer`/`answer_body`).
Bodies may be HTML: code blocks become Markdown fences so the answer normalizer finds the code.
A question without an accepted answer teaches nothing and is skipped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

_QUESTION_KEYS = ("question_body", "question", "body")
_ANSWER_KEYS = ("accepted_answer", "accepted_answer_body", "answer_body", "answer")


def is_stackoverflow_row(row: Mapping[str, Any]) -> bool:
    """Whether a row is shaped like a StackOverflow question export."""
    has_question = "title" in row and any(key in row for key in _QUESTION_KEYS)
    has_answer = "answers" in row or any(key in row for key in _ANSWER_KEYS)
    return has_question and has_answer and "output" not in row


def accepted_answer(row: Mapping[str, Any]) -> str | None:
    """The accepted answer's text, or None when the question has none."""
    answers = row.get("answers")
    if isinstance(answers, list):
        accepted_id = row.get("accepted_answer_id")
        for answer in answers:
            if not isinstance(answer, Mapping):
                continue
            if answer.get("is_accepted") or (
                accepted_id is not None and answer.get("answer_id") == accepted_id
            ):
                return _text(answer.get("body"))
        return None
    for key in _ANSWER_KEYS:
        if row.get(key):
            return _text(row[key])
    return None


def question_parts(row: Mapping[str, Any]) -> tuple[str, str]:
    """(title, body) of the question, bodies turned from HTML into Markdown-ish text."""
    body = next((row[key] for key in _QUESTION_KEYS if row.get(key)), "")
    return html.unescape(str(row.get("title") or "")).strip(), _text(body)


def _text(value: Any) -> str:
    text = str(value or "")
    if "<" in text and ">" in text:
        return html_to_markdown(text)
    return text.strip()


class _MarkdownWriter(HTMLParser):
    """Just enough HTML → Markdown for Q&A bodies: fences, inline code, paragraphs, lists."""

    _BREAKS = frozenset({"p", "br", "div", "li", "h1", "h2", "h3", "h4", "blockquote", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.in_pre = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self.in_pre = True
            self.parts.append("\n```\n")
        elif tag == "code" and not self.in_pre:
            self.parts.append("`")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.in_pre = False
            self.parts.append("\n```\n")
        elif tag == "code" and not self.in_pre:
            self.parts.append("`")
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data if self.in_pre else " ".join(data.split(" ")))


def html_to_markdown(markup: str) -> str:
    """HTML from a Q&A body as plain text with fenced code blocks.

    >>> print(html_to_markdown("<p>Use <code>len</code>:</p><pre><code>len(x)\\n</code></pre>"))
    Use `len`:
    ```
    len(x)
    ```
    """
    writer = _MarkdownWriter()
    writer.feed(markup)
    writer.close()
    text = "".join(writer.parts).replace("\n\n```", "\n```").replace("\n```\n\n", "\n```\n")
    lines = [line.rstrip() for line in text.splitlines()]
    collapsed: list[str] = []
    for line in lines:
        if line or (collapsed and collapsed[-1]):
            collapsed.append(line)
    return "\n".join(collapsed).strip()
