"""A scrolling box whose content changes without relaying out the screen.

Why not `RichLog` or `Static`: both set `virtual_size` (or call `refresh(layout=True)`) on every
content change, and in Textual that schedules a layout pass of the whole screen plus a repaint
of every widget on it. With 1,000 suggestions listed that turned a cursor move into a ~50 ms
frame (bench/tui.py). This box's size comes from the stylesheet, never from its content, so
new content only needs its own lines repainted: the virtual (scrollable) height is updated
without a layout request, and the vertical scrollbar is always present (`overflow-y: scroll`
in takeaways.tcss) so its appearing or vanishing cannot change the box's width either.

Each renderable is rendered once per (key, width) and the lines are kept in a small LRU cache,
so moving back and forth over the same suggestions costs no Markdown or diff rendering.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.console import RenderableType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

CACHED_RENDERS = 64


class DetailBody(ScrollView, can_focus=False):
    """Pre-rendered lines of one renderable, scrolled inside a box sized by the stylesheet."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._renderable: RenderableType = ""
        self._key: Hashable = None
        self._lines: list[Strip] = []
        self._rendered: LRUCache[tuple[Hashable, int], list[Strip]] = LRUCache(CACHED_RENDERS)

    def show(self, renderable: RenderableType, key: Hashable = None) -> None:
        """Replace the content with `renderable`, scrolled to the top.

        `key` names the content for the render cache (None: don't cache); equal keys must mean
        equal content.
        """
        self._renderable, self._key = renderable, key
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._relayout_lines()

    @property
    def text(self) -> str:
        """The content as plain text, one line per row (for tests)."""
        return "\n".join(strip.text.rstrip() for strip in self._lines)

    def on_resize(self) -> None:
        # Lines are wrapped to the width: render again at the new one (cached per width).
        self._relayout_lines()

    def _relayout_lines(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0:  # not laid out yet: on_resize renders once the box has a size
            self._lines = []
            return
        cache_key = (self._key, width)
        lines = self._rendered.get(cache_key) if self._key is not None else None
        if lines is None:
            console = self.app.console
            options = console.options.update_width(width)
            rendered = console.render_lines(self._renderable, options, pad=True)
            lines = [Strip(line, width) for line in rendered]
            while lines and not lines[-1].text.strip():  # Markdown ends with a blank line
                lines.pop()
            if self._key is not None:
                self._rendered[cache_key] = lines
        self._lines = lines
        virtual_size = Size(width, len(lines))
        if virtual_size != self.virtual_size:
            # Deliberately not `self.virtual_size = …` (a reactive that asks for a layout of
            # the whole screen): only the scroll range and the scrollbar change.
            self.set_reactive(ScrollView.virtual_size, virtual_size)
            self._scroll_update(virtual_size)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        style = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, style)
        return self._lines[index].crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
