"""Every key, with its binding id (for remapping in `[tui.bindings]`) and what it does.

Rich tables in a scrolling box: at 80x24 they fit without scrolling (21 rows: three group
titles, 18 keys; the remapping hint sits in the border), and a description that does not fit
its column wraps instead of being cut. A remapped key longer than its column wraps too; only a
terminal smaller than 80x24 makes the box scroll.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.display_text import clean
from tui.key_bindings import GLOBAL, HISTORY, MAIN, KeySpec, keys_for

if TYPE_CHECKING:
    from tui.app import TakeawaysApp

REMAP_HINT = "esc closes · remap keys in config.toml, section tui.bindings"
GROUPS: tuple[tuple[str, tuple[KeySpec, ...]], ...] = (
    ("main screen", MAIN), ("everywhere", GLOBAL), ("history screen", HISTORY)
)  # fmt: skip
MAX_KEY_WIDTH = 12  # a longer remapped key wraps in its column
_KEY_NAMES = {"question_mark": "?", "slash": "/", "plus": "+", "minus": "-", "escape": "esc"}


def key_label(keys: str) -> str:
    """Keys as a person reads them.

    >>> key_label("question_mark,f1")
    '? f1'
    """
    return " ".join(_KEY_NAMES.get(key.strip(), key.strip()) for key in keys.split(","))


def keys_table(remapped: dict[str, str]) -> Group:
    """All bindings, one table per group, with the user's remapping applied.

    The groups are separate tables (their titles would otherwise widen the key column), with
    the same fixed column widths so that they line up as one.
    """
    # The remapped keys come from the user's config: shown as plain text, never as markup.
    labels = {
        spec.id: clean(key_label(keys_for(spec, remapped))) for _, specs in GROUPS for spec in specs
    }
    key_width = min(MAX_KEY_WIDTH, max(len("key"), *(len(label) for label in labels.values())))
    id_width = max(len(spec_id) for spec_id in labels)
    tables = []
    for group, specs in GROUPS:
        table = Table(
            title=Text(group, style="bold underline"), title_justify="left", box=None,
            padding=(0, 1), expand=True, show_header=False,
        )  # fmt: skip
        table.add_column("key", width=key_width, style="bold")
        table.add_column("id", width=id_width, no_wrap=True, style="dim")
        table.add_column("what it does", ratio=1)
        for spec in specs:
            table.add_row(Text(labels[spec.id]), spec.id, spec.help)
        tables.append(table)
    return Group(*tables)


class HelpScreen(ModalScreen[None]):
    """All keys, grouped by where they work."""

    # A modal screen does not pass keys on to the app: closing needs its own bindings.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "back", "Close", id="back")
    ]
    app: TakeawaysApp

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = REMAP_HINT
            with VerticalScroll(id="help-body"):
                yield Static(keys_table(self.app.settings.tui.bindings), id="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_back(self) -> None:
        self.dismiss()
