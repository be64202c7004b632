"""Latency, acceptance rate and ratings: over the whole history, and for this daemon's run."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from takeaways_daemon.api_client import ApiError
from takeaways_daemon.wire import DaemonStatus, HistoryStats
from tui.daemon_link import LINK_ERRORS
from tui.display_text import clean, inert
from tui.key_bindings import BACK_VISIBLE, to_bindings

if TYPE_CHECKING:
    from tui.app import TakeawaysApp


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value / 1000:.1f} s"


def history_table(stats: HistoryStats) -> Table:
    """`GET /history/stats` as a two-column table."""
    table = Table(title="All history", title_justify="left", show_header=False, box=None)
    table.add_column(style="dim")
    table.add_column()
    rate = stats.acceptance_rate
    table.add_row("suggestions", str(stats.total))
    table.add_row("acceptance", "–" if rate is None else f"{rate:.0%} (accepted / decided)")
    table.add_row("ratings", f"👍 {stats.ratings.up}  👎 {stats.ratings.down}")
    table.add_row("latency p50", _ms(stats.latency_ms.p50))
    table.add_row("latency p95", _ms(stats.latency_ms.p95))
    # Kinds and outcomes are stored strings: cells are `Text`, as a `str` would be read as markup.
    for label, counts in (("by kind", stats.by_kind), ("outcomes", stats.outcomes)):
        table.add_row(label, inert(" ".join(f"{name} {n}" for name, n in sorted(counts.items()))))
    return table


def session_table(status: DaemonStatus) -> Table:
    """The running daemon's own counters and save → suggestion latency (`/status` metrics)."""
    counters = status.metrics.counters
    latency = status.metrics.latency_ms
    table = Table(title="This daemon run", title_justify="left", show_header=False, box=None)
    table.add_column(style="dim")
    table.add_column()
    name, model = status.backend.name or "–", status.backend.model or ""
    table.add_row("backend", inert(f"{name} {model}"))  # daemon text: never read as markup
    table.add_row("suggestions", str(counters.get("suggestions", 0)))
    table.add_row(
        "accepted / rejected",
        f"{counters.get('accepted', 0)} / {counters.get('rejected_by_user', 0)}",
    )
    table.add_row("save → suggestion p50", _ms(latency.p50))
    table.add_row("save → suggestion p95", _ms(latency.p95))
    table.add_row("malformed answers", str(counters.get("malformed", 0)))
    return table


class StatsScreen(Screen[None]):
    """Numbers about the model's suggestions and what you did with them."""

    BINDINGS: ClassVar[list[BindingType]] = to_bindings((BACK_VISIBLE,))
    app: TakeawaysApp

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with VerticalScroll(id="stats"):
            yield Static(Text("Loading…", style="dim"), id="stats-history")
            yield Static(id="stats-session")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "stats"
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        """Fetch both sets of numbers; either may fail on its own."""
        call = self.app.call_from_thread
        try:
            with self.app.link.client() as client:
                status = client.status()
                call(self.show, "#stats-session", session_table(status))
                stats = client.history_stats()
        except (ApiError, *LINK_ERRORS) as error:
            message = Text(f"History stats unavailable: {clean(error)}", style="yellow")
            call(self.show, "#stats-history", message)
            return
        call(self.show, "#stats-history", history_table(stats))

    def show(self, selector: str, numbers: Table | Text) -> None:
        """Put `numbers` in place (on the UI thread; the worker must not touch widgets)."""
        if self.is_attached:  # not closed while the numbers were fetched
            self.query_one(selector, Static).update(numbers)

    def action_back(self) -> None:
        self.app.pop_screen()
