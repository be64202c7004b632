"""Latency, accuracy, memory and ratings: last hour, day and all time, and this daemon's run.

The report's rows come from `takeaways_daemon.telemetry.stats_rows`, the same rows
`takeaways stats` prints; a sparkline draws the latest save → suggestion latencies where the
terminal has room for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Sparkline, Static

from takeaways_daemon.api_client import ApiError
from takeaways_daemon.telemetry.stats_rows import TITLES, memory_rows, window_rows
from takeaways_daemon.wire import DaemonStatus, HistoryStats, StatsReport
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


SPARKLINE_MIN_WIDTH = 40
"""Narrower than this, the latency chart is left out (its bars would be unreadable)."""


def rows_table(title: str, rows: list[tuple[str, str]]) -> Table:
    """Labelled rows (from `stats_rows`) as a two-column table; cells are never read as markup."""
    table = Table(title=title, title_justify="left", show_header=False, box=None)
    table.add_column(style="dim")
    table.add_column()
    for label, value in rows:
        table.add_row(inert(label), inert(value))
    return table


def report_tables(report: StatsReport) -> list[Table]:
    """`GET /stats`: memory and queue now, then one table per window (hour, day, all time)."""
    now = rows_table("Now", memory_rows(report.memory, report.queue_depth))
    windows = [rows_table(TITLES.get(w.name, w.name), window_rows(w)) for w in report.windows]
    return [now, *windows]


class StatsScreen(Screen[None]):
    """Numbers about the model's suggestions and what you did with them."""

    BINDINGS: ClassVar[list[BindingType]] = to_bindings((BACK_VISIBLE,))
    app: TakeawaysApp

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with VerticalScroll(id="stats"):
            yield Static(Text("Loading…", style="dim"), id="stats-history")
            yield Static(id="stats-session")
            yield Static(id="stats-latency-title")
            yield Sparkline([], id="stats-latency")
            yield Static(id="stats-report")
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
                report = client.stats()
                call(self.show_report, report)
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

    def show_report(self, report: StatsReport) -> None:
        """The windows' tables, and the latency chart when there is data and room for it."""
        if not self.is_attached:
            return
        self.query_one("#stats-report", Static).update(Group(*report_tables(report)))
        chart = self.query_one("#stats-latency", Sparkline)
        title = self.query_one("#stats-latency-title", Static)
        fits = len(report.recent_latency_ms) >= 2 and self.size.width >= SPARKLINE_MIN_WIDTH
        chart.display = title.display = fits
        if fits:
            chart.data = report.recent_latency_ms
            latest = report.recent_latency_ms[-1] / 1000
            title.update(
                Text(f"save → suggestion, latest {len(report.recent_latency_ms)} "
                     f"(last {latest:.1f} s)", style="dim")
            )  # fmt: skip

    def action_back(self) -> None:
        self.app.pop_screen()
