"""A DataTable whose rows are redrawn once their columns have been measured.

Works around a Textual 8.2 DataTable bug: it measures new rows when idle and, for fixed-height
rows, widens the columns without invalidating the lines it already rendered (its line cache is
keyed by an update counter that the measurement does not bump). A frame drawn between
`add_row` and that idle moment therefore kept rows cut to the header's widths ("docs" for
"docstring") until the next cursor move; behind a modal screen, for good. Clearing the render
caches after each measurement fixes it; the measurement runs once per batch of changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class MeasuredTable(DataTable[Text]):
    """`DataTable` that never shows rows rendered with columns measured before them."""

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        self._clear_caches()
        self.refresh()
