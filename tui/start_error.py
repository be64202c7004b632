"""The daemon's own start-up error, on screen until it is resolved.

When the TUI cannot start its daemon (no Secret Service, a locked keyring, a wrong passphrase,
a bad config file), the daemon's error and the fix it names stay in this panel, instead of a
toast that vanished after 8 seconds and left "disconnected, retrying" with the reason hidden in
`daemon.log`. The panel goes once a daemon answers.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from tui.display_text import clean

TITLE = "The daemon could not start"


def start_error_text(reason: str, log: Path | None) -> Text:
    """The panel's text: the daemon's own words, then where to read more and what happens next.

    >>> start_error_text("wrong passphrase for keys.json", None).plain.splitlines()[0]
    'wrong passphrase for keys.json'
    """
    text = Text(clean(reason), style="bold")
    if log is not None:
        text.append(f"\nlog: {clean(log)}", style="dim")
    text.append(
        "\nFix it, then start the daemon (`takeaways start`): this screen connects by itself. "
        "q quits.",
        style="dim",
    )
    return text


class StartErrorPanel(Static):
    """Shows why the daemon did not start; hidden while there is nothing to show."""

    def on_mount(self) -> None:
        self.border_title = TITLE
        self.display = False

    def show_error(self, reason: str, log: Path | None) -> None:
        """Show `reason` (the daemon's error line, or the whole failure) and the log's path."""
        self.update(start_error_text(reason, log))
        self.display = True

    def clear_error(self) -> None:
        """A daemon answers: nothing to show."""
        if self.display:
            self.display = False
