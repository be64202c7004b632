"""Search and filter the daemon's (encrypted) suggestion history.

The daemon decrypts and filters (`GET /history`); this screen only asks and shows. Typing in the
search box asks again after a short pause, so a fast typist sends one query, not one per key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Static

from takeaways_daemon.api_client import ApiError
from takeaways_daemon.kinds import OUTCOMES, TASK_KINDS
from takeaways_daemon.wire import HistoryItem, HistoryPage
from tui.daemon_link import LINK_ERRORS
from tui.display_text import age_text, clean, inert, kind_text, location, one_line
from tui.key_bindings import BACK_VISIBLE, HISTORY, to_bindings
from tui.measured_table import MeasuredTable

if TYPE_CHECKING:
    from tui.app import TakeawaysApp

KIND_FILTERS = (None, *TASK_KINDS)
OUTCOME_FILTERS = (None, *OUTCOMES)
OUTCOME_STYLES = {"accepted": "green", "rejected": "red", "stale": "yellow", "ignored": "dim"}
PAGE = 200
SEARCH_PAUSE_S = 0.25


class HistoryScreen(Screen[None]):
    """Past suggestions, newest first, with their outcome and rating."""

    BINDINGS: ClassVar[list[BindingType]] = to_bindings((BACK_VISIBLE, *HISTORY))
    app: TakeawaysApp

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield Input(id="history-search", placeholder="Search title, explanation, path and patch")
        yield Static(id="history-filters")
        yield MeasuredTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="history-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "history"
        self.kind: str | None = None
        self.outcome: str | None = None
        self.items: dict[str, HistoryItem] = {}
        self._pending: Timer | None = None
        table = self.query_one("#history-table", DataTable)
        table.add_column("when", key="when")
        table.add_column("kind", key="kind")
        table.add_column("outcome", key="outcome")
        table.add_column("", key="rating")
        table.add_column("where", key="where")
        table.add_column("title", key="title")
        table.focus()
        self._show_filters(None)
        self.search()

    def _filters(self) -> dict[str, Any]:
        query = self.query_one("#history-search", Input).value.strip()
        filters: dict[str, Any] = {"limit": PAGE}
        for name, value in (("q", query), ("kind", self.kind), ("outcome", self.outcome)):
            if value:
                filters[name] = value
        return filters

    def _show_filters(self, total: int | None) -> None:
        line = Text.assemble(
            ("kind ", "dim"), self.kind or "all", ("  outcome ", "dim"), self.outcome or "all"
        )
        if total is not None:
            line.append(f"  {total} found", style="dim")
        self.query_one("#history-filters", Static).update(line)

    def search(self) -> None:
        """Ask the daemon for the history matching the current filters."""
        # Read here, on the UI thread: the worker must not touch widgets.
        self.fetch(self._filters())

    @work(thread=True, exclusive=True, group="history")
    def fetch(self, filters: dict[str, Any]) -> None:
        """Run the history query; hand the result (or the error) back to the UI thread."""
        try:
            with self.app.link.client() as client:
                page = client.history(**filters)
        except (ApiError, *LINK_ERRORS) as error:
            self.app.call_from_thread(
                self.notify, clean(error), title="History unavailable", severity="error",
                markup=False,
            )  # fmt: skip
            return
        self.app.call_from_thread(self.show_results, page)

    def show_results(self, page: HistoryPage) -> None:
        """Replace the table's rows with the page's items."""
        if not self.is_attached:  # closed while the query ran
            return
        table = self.query_one("#history-table", DataTable)
        table.clear()
        self.items = {item.id: item for item in page.items}
        now = self.app.clock()
        for item in page.items:
            rating = {1: "👍", -1: "👎"}.get(item.rating or 0, "")
            title = "(tampered record)" if item.tampered else item.title
            table.add_row(
                Text(age_text(now - item.created_at), style="dim"),
                kind_text(item.kind),
                inert(item.outcome, OUTCOME_STYLES.get(item.outcome, "")),
                Text(rating),
                inert(location(item), "underline"),
                inert(one_line(title, 72)),
                key=item.id,
            )
        self._show_filters(page.total)
        self._show_detail(page.items[0] if page.items else None)

    def _show_detail(self, item: HistoryItem | None) -> None:
        detail = self.query_one("#history-detail", Static)
        if item is None:
            detail.update(Text("Nothing matches.", style="dim"))
            return
        lines = Text.assemble(
            inert(item.title, "bold"), "\n", inert(one_line(item.explanation, 400))
        )
        lines.append(
            f"\n{clean(item.backend)} {clean(item.model)} · {item.latency_ms / 1000:.1f} s",
            style="dim",
        )
        detail.update(lines)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row_key = event.row_key.value if event.row_key is not None else None
        self._show_detail(self.items.get(str(row_key)))

    @on(Input.Changed, "#history-search")
    def search_soon(self) -> None:
        if self._pending is not None:
            self._pending.stop()
        self._pending = self.set_timer(SEARCH_PAUSE_S, self.search)

    @on(Input.Submitted, "#history-search")
    def search_now(self) -> None:
        self.query_one("#history-table").focus()
        self.search()

    def action_history_search(self) -> None:
        self.query_one("#history-search", Input).focus()

    def action_history_kind(self) -> None:
        self.kind = KIND_FILTERS[(KIND_FILTERS.index(self.kind) + 1) % len(KIND_FILTERS)]
        self._show_filters(None)
        self.search()

    def action_history_outcome(self) -> None:
        self.outcome = OUTCOME_FILTERS[
            (OUTCOME_FILTERS.index(self.outcome) + 1) % len(OUTCOME_FILTERS)
        ]
        self._show_filters(None)
        self.search()

    def action_back(self) -> None:
        self.app.pop_screen()
