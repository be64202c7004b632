"""On quit, when this TUI started the daemon: stop it too, or leave it running?"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class StopDaemonScreen(ModalScreen[bool | None]):
    """Dismissed with True (stop it), False (keep it) or None (don't quit)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Stop it"),
        Binding("n", "answer(False)", "Keep it running"),
        Binding("escape", "answer(None)", "Cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-dialog"):
            yield Static(
                Text.assemble(
                    ("This TUI started the daemon.\n", "bold"),
                    "Stop it as well?  ",
                    ("y", "bold"), " stop   ", ("n", "bold"), " keep it running   ",
                    ("esc", "bold"), " cancel",
                )
            )  # fmt: skip

    def action_answer(self, answer: bool | None) -> None:
        self.dismiss(answer)
