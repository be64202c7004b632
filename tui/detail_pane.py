"""The selected suggestion in full: heading, explanation (Markdown), the patch as a coloured diff,
and the streamed answer to a follow-up question.

Model text is cleaned of control sequences first. Markdown (Rich's renderable for the
explanation, Textual's widget for the streamed answer) never interprets Rich markup, the diff is
a `Syntax` (no markup either), and links in model text are neither made nor opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.markdown import Markdown as RichMarkdown
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, LoadingIndicator, Markdown

from takeaways_daemon.wire import Suggestion
from tui.detail_body import DetailBody
from tui.display_text import KIND_STYLES, clean, inert

EMPTY_HINT = "No suggestions yet. Save a file in the project and they appear here."
# Every field the detail shows: together they key the render cache.
SHOWN_FIELDS = (
    "id", "kind", "path", "start_line", "end_line", "title", "backend", "model", "latency_ms",
    "status", "explanation", "diff", "verified", "evidence",
)  # fmt: skip


class DetailPane(Vertical):
    """Everything about one suggestion.

    The follow-up messages below are the pane's inbox: the worker streaming an answer posts
    them (thread-safe), and the pane handles them in order.
    """

    @dataclass
    class FollowUpStarted(Message):
        """A question was sent about a suggestion."""

        suggestion_id: str
        question: str

    @dataclass
    class FollowUpChunk(Message):
        """More of the answer."""

        suggestion_id: str
        text: str

    @dataclass
    class FollowUpFinished(Message):
        """The answer ended; `note` says which model answered, and how fast (or that it failed)."""

        suggestion_id: str
        note: str

    def compose(self) -> ComposeResult:
        # A box sized by the stylesheet, not by its content: a cursor move repaints this one
        # widget instead of relaying out the whole screen (see detail_body.py).
        yield DetailBody(id="detail-body")
        with VerticalScroll(id="follow-up-box"):
            yield Label("", id="follow-up-title")
            yield LoadingIndicator(id="follow-up-progress")
            yield Markdown(id="follow-up", open_links=False)

    def on_mount(self) -> None:
        self._follow_up_for: str | None = None
        self._question = ""
        self._set_follow_up_visible(False)
        self.show(None)

    def show(self, item: Suggestion | None) -> None:
        """Show `item` (None: the empty-list hint). A follow-up for another item is cleared."""
        if item is None or item.id != self._follow_up_for:
            self._set_follow_up_visible(False)
        body = self.query_one("#detail-body", DetailBody)
        if item is None:
            body.show(Text(EMPTY_HINT, style="dim"), key=EMPTY_HINT)
            return
        # One Group in one box: a cursor move costs a single widget repaint. Rich's Markdown
        # renderable (not the Markdown widget, which mounts a widget per block), and with
        # hyperlinks off: model text makes no links.
        parts: list[Any] = [
            self._heading(item),
            Text(""),
            RichMarkdown(clean(item.explanation), hyperlinks=False),
        ]
        patch = clean(item.diff)
        if patch:
            parts += [Text(""), Syntax(patch, "diff", theme="ansi_dark", word_wrap=True)]
        body.show(Group(*parts), key=tuple(str(getattr(item, name)) for name in SHOWN_FIELDS))

    @staticmethod
    def _heading(item: Suggestion) -> Text:
        kind = clean(item.kind)
        heading = Text.assemble(
            (kind, KIND_STYLES.get(kind, "bold")),
            "  ",
            inert(f"{item.path}:{item.start_line}-{item.end_line}", "underline"),
            "  ",
            inert(item.title, "bold"),
        )
        meta = [clean(item.backend), clean(item.model)]
        if item.latency_ms:
            meta.append(f"{item.latency_ms / 1000:.1f} s")
        heading.append("\n" + " · ".join(part for part in meta if part), style="dim")
        if item.verified is not None:
            # The evidence quotes test output (project-controlled): shown inert, never as markup.
            mark = "verified" if item.verified else "NOT verified"
            heading.append(f"\n{mark}: ", "bold green" if item.verified else "yellow")
            heading.append_text(inert(item.evidence or "-"))
        if item.status == "stale":
            heading.append(
                "\nstale: the file changed since; accepting will be refused", "bold yellow"
            )
        if item.injection_signs:
            signs = ", ".join(clean(sign) for sign in item.injection_signs)
            heading.append(
                f"\n⚠ possible prompt injection in the code ({signs}): read it before accepting; "
                "kept out of training",
                "bold red",
            )
        return heading

    def _set_follow_up_visible(self, visible: bool) -> None:
        for selector in ("#follow-up-box", "#follow-up-progress"):
            widget = self.query_one(selector)
            if widget.display != visible:  # setting it at all costs a layout pass
                widget.display = visible
        if not visible:
            self._follow_up_for = None

    async def on_detail_pane_follow_up_started(self, message: FollowUpStarted) -> None:
        """Show the question and a progress indicator until the first words arrive."""
        self._follow_up_for, self._question = message.suggestion_id, message.question
        self._set_follow_up_visible(True)
        self.query_one("#follow-up-title", Label).update(inert(f"Q: {message.question}", "bold"))
        await self.query_one("#follow-up", Markdown).update("")

    async def on_detail_pane_follow_up_chunk(self, message: FollowUpChunk) -> None:
        """Add streamed answer text (ignored once another suggestion is shown)."""
        if message.suggestion_id != self._follow_up_for:
            return
        self.query_one("#follow-up-progress").display = False
        await self.query_one("#follow-up", Markdown).append(clean(message.text))
        self.query_one("#follow-up-box").scroll_end(animate=False)

    def on_detail_pane_follow_up_finished(self, message: FollowUpFinished) -> None:
        """The stream ended: drop the progress indicator, say which model answered."""
        if message.suggestion_id != self._follow_up_for:
            return
        self.query_one("#follow-up-progress").display = False
        title = inert(f"Q: {self._question}", "bold")
        title.append("  " + clean(message.note), style="dim")
        self.query_one("#follow-up-title", Label).update(title)

    @property
    def follow_up_text(self) -> str:
        """The follow-up answer shown so far (for tests and copy)."""
        return self.query_one("#follow-up", Markdown).source
