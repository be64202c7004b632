"""Every key, with its binding id (for remapping in `[tui.bindings]`) and what it does."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tui.key_bindings import GLOBAL, HISTORY, MAIN, KeySpec, keys_for

if TYPE_CHECKING:
    from tui.app import TakeawaysApp

REMAP_HINT = (
    'Remap any key in config.toml: [tui.bindings] accept = "ctrl+y"  '
    "(or TAKEAWAYS_TUI__BINDINGS='{\"accept\": \"ctrl+y\"}')."
)


def _key_label(keys: str) -> str:
    names = {"question_mark": "?", "slash": "/", "plus": "+", "minus": "-", "escape": "esc"}
    return " ".join(names.get(key.strip(), key.strip()) for key in keys.split(","))


class HelpScreen(ModalScreen[None]):
    """All keys, grouped by where they work."""

    # A modal screen does not pass keys on to the app: closing needs its own bindings.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "back", "Close", id="back")
    ]
    app: TakeawaysApp

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Text("Keys", style="bold"), id="help-title")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            yield Static(Text(REMAP_HINT, style="dim"), id="help-hint")

    def on_mount(self) -> None:
        table = self.query_one("#help-table", DataTable)
        table.add_columns("key", "id", "what it does")
        remapped = self.app.settings.tui.bindings
        groups: tuple[tuple[str, tuple[KeySpec, ...]], ...] = (
            ("main", MAIN), ("everywhere", GLOBAL), ("history", HISTORY)
        )  # fmt: skip
        for group, specs in groups:
            table.add_row(Text(group, style="bold underline"), Text(""), Text(""))
            for spec in specs:
                table.add_row(
                    Text(_key_label(keys_for(spec, remapped)), style="bold"),
                    Text(spec.id, style="dim"),
                    Text(spec.help),
                )
        table.focus()

    def action_back(self) -> None:
        self.dismiss()
