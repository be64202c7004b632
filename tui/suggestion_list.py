"""The live list of suggestions, newest first: one row each, updated in place as events come.

Rows are keyed by suggestion id, so an event touches one row (add, restyle, remove) instead of
rebuilding the table: with 1,000 rows a keypress still redraws in milliseconds (bench/tui.py).
The suggestion under the cursor is published synchronously (`selection_changed`), not by a
message: a message arrives after the cursor's frame is drawn, so the detail pane would wait
for the next refresh tick and every move would cost two frames instead of one.
Open and stale suggestions are listed; accepted and rejected ones leave the list (the history
screen keeps them), and so do those the daemon stopped keeping (`removed`). Every cell is a
`Text`: DataTable would parse a plain `str` as markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.signal import Signal
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from takeaways_daemon.kinds import SuggestionStatus
from takeaways_daemon.wire import Suggestion
from tui.display_text import age_text, inert, kind_text, location, one_line
from tui.measured_table import MeasuredTable

LISTED: tuple[SuggestionStatus, ...] = ("open", "stale")
TITLE_CHARS = 72


class AgeText(Text):
    """An age cell that remembers when its suggestion was made (the list sorts on it)."""

    created_at: float = 0.0


def age_cell(item: Suggestion, now: float) -> AgeText:
    """The age column's cell for `item` at time `now`."""
    age = AgeText(age_text(now - item.created_at), style="dim")
    age.created_at = item.created_at
    return age


def state_text(item: Suggestion) -> Text:
    """The state column: stale first, else whether a fix was checked against its evidence; a
    warning sign when the file tried to steer the model (read it before accepting)."""
    if item.status == "stale":
        state = Text("stale", style="bold yellow")
    elif item.verified is None:
        state = Text("")
    elif item.verified:
        state = Text("✓ verified", style="bold green")
    else:
        state = Text("unverified", "yellow")
    if item.injection_signs:
        state = Text.assemble(state, Text(" ⚠" if state else "⚠ injection?", style="bold red"))
    return state


class SuggestionList(MeasuredTable):
    """Open and stale suggestions, newest first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.clock = clock
        self.items: dict[str, Suggestion] = {}
        self.selection_changed: Signal[Suggestion | None] = Signal(self, "selection-changed")
        """Published with the suggestion under the cursor (None: the list is empty) whenever it
        may have changed. Subscribe with `immediate=True` to repaint in the cursor's frame."""
        self._rebuilding = False  # rows are being moved: publish once, at the end

    def on_mount(self) -> None:
        for key, label in (("kind", "kind"), ("state", ""), ("age", "age")):
            self.add_column(label, key=key)
        self.add_column("where", key="where")
        self.add_column("title", key="title")

    @property
    def selected(self) -> Suggestion | None:
        """The suggestion under the cursor."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return self.items.get(str(row_key.value))

    def _cells(self, item: Suggestion) -> dict[str, Text]:
        return {
            "kind": kind_text(item.kind),
            "state": state_text(item),
            "age": age_cell(item, self.clock()),
            "where": inert(location(item), "underline"),
            "title": inert(one_line(item.title, TITLE_CHARS)),
        }

    def replace_all(self, items: Iterable[Suggestion]) -> None:
        """Show exactly these suggestions (given newest first), e.g. after a reconnect."""
        keep = self.selected.id if self.selected else None
        self._rebuilding = True
        self.clear()
        self.items = {}
        for item in items:
            if item.status in LISTED:
                self.items[item.id] = item
                self.add_row(*self._cells(item).values(), key=item.id)
        self._restore_cursor(keep)

    def upsert(self, item: Suggestion, *, select: bool = False) -> None:
        """Apply one event: add a new row at the top, restyle or move it, or remove it.

        `select`: a new row gets the cursor (otherwise the cursor stays where it was).
        """
        suggestion_id = item.id
        if item.status not in LISTED:
            self.discard(suggestion_id)
            return
        keep = self.selected.id if self.selected else None
        if suggestion_id in self.items:
            self.items[suggestion_id] = item
            cells = self._cells(item)
            self.update_cell(suggestion_id, "state", cells["state"])
            # A suggestion moves with lines inserted or removed above it.
            if self.get_cell(suggestion_id, "where").plain != cells["where"].plain:
                self.update_cell(suggestion_id, "where", cells["where"])
            if suggestion_id == keep:
                self.selection_changed.publish(item)
            return
        self.items[suggestion_id] = item
        self._rebuilding = True
        self.add_row(*self._cells(item).values(), key=suggestion_id)
        self.sort("age", key=lambda age: age.created_at, reverse=True)
        self._restore_cursor(suggestion_id if select else (keep or suggestion_id))

    def discard(self, suggestion_id: str) -> None:
        """Remove a suggestion's row if it is listed."""
        was_selected = self.selected
        if self.items.pop(suggestion_id, None) is None:
            return
        try:
            self.remove_row(suggestion_id)
        except RowDoesNotExist:
            return
        if was_selected is None or was_selected.id != suggestion_id:
            return
        self.selection_changed.publish(self.selected)

    def refresh_ages(self) -> None:
        """Re-render the age column where the text changed (called on a slow timer)."""
        now = self.clock()
        for suggestion_id, item in self.items.items():
            age = age_cell(item, now)
            if self.get_cell(suggestion_id, "age").plain != age.plain:
                self.update_cell(suggestion_id, "age", age)

    def _restore_cursor(self, suggestion_id: str | None) -> None:
        if suggestion_id in self.items:
            self.move_cursor(row=self.get_row_index(suggestion_id), animate=False)
        self._rebuilding = False
        self.selection_changed.publish(self.selected)

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        """Repaint the cursor rows (DataTable's own work), then publish the new selection."""
        super().watch_cursor_coordinate(old, new)
        if old != new and not self._rebuilding:
            self.selection_changed.publish(self.selected)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()  # already published, synchronously, by watch_cursor_coordinate
